using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Reports;

namespace Kvmtune.Tests.Output;

/// <summary>
/// kvmtune's documents are written with <see cref="DefaultJsonEncoder"/>, which answers plain ASCII itself and
/// hands everything else to <c>JavaScriptEncoder.Default</c>. The oracle is System.Text.Json's own writer with no
/// encoder given (its default escaping): every string must come out byte for byte the same, or fail the same way.
/// </summary>
public sealed class DefaultJsonEncoderTests
{
    private static string Written(Action<Utf8JsonWriter> write, JavaScriptEncoder? encoder)
    {
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
                write(w);
        }
        catch (ArgumentException e)
        {
            return "refused: " + e.GetType().Name;
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void SameAsDefault(Action<Utf8JsonWriter> write) =>
        Written(write, DefaultJsonEncoder.Instance).Should().Be(Written(write, null));

    [Fact]
    public void Every_BMP_character_is_written_as_the_default_writes_it()
    {
        // Lone surrogates included: the default writes U+FFFD for them, or refuses them, and so must this.
        for (var c = 0; c <= 0xFFFF; c++)
        {
            var s = new string((char)c, 1);
            var value = Written(w => w.WriteStringValue(s), DefaultJsonEncoder.Instance);
            value.Should().Be(Written(w => w.WriteStringValue(s), null), $"U+{c:X4}");
        }
    }

    [Fact]
    public void Every_ASCII_character_it_leaves_alone_the_default_leaves_alone()
    {
        for (var c = 0; c < 0x80; c++)
        {
            var plain = Written(w => w.WriteStringValue(new string((char)c, 1)), null) == $"\"{(char)c}\"";
            DefaultJsonEncoder.Plain(c).Should().Be(plain, $"U+{c:X4}");
            DefaultJsonEncoder.Instance.WillEncode(c).Should().Be(JavaScriptEncoder.Default.WillEncode(c));
        }
        DefaultJsonEncoder.Instance.MaxOutputCharactersPerInputCharacter.Should()
            .Be(JavaScriptEncoder.Default.MaxOutputCharactersPerInputCharacter);
    }

    [Fact]
    public void Every_byte_given_as_UTF_8_is_written_or_refused_as_the_default_does()
    {
        for (var b = 0; b < 0x100; b++)
        {
            var bytes = new[] { (byte)'a', (byte)b, (byte)'z' };
            SameAsDefault(w => w.WriteStringValue(bytes));
            SameAsDefault(w =>
            {
                w.WriteStartObject();
                w.WritePropertyName(bytes);
                w.WriteNullValue();
                w.WriteEndObject();
            });
        }
    }

    [Fact]
    public void Any_text_is_written_as_the_default_writes_it()
    {
        // Mostly ASCII with the characters that are escaped, some non-ASCII, supplementary characters and lone
        // surrogates: each string as a value, as a property name, and as UTF-8 bytes.
        var chars = Gen.OneOf(
            Gen.Char['\0', '\u007F'],
            Gen.Char,
            Gen.Const('"'),
            Gen.Const('\\'),
            Gen.Const('<'),
            Gen.Const('\uD83D'),
            Gen.Const('\uDE00')
        );
        chars
            .Array[0, 40]
            .Select(a => new string(a))
            .Sample(s =>
            {
                SameAsDefault(w => w.WriteStringValue(s));
                SameAsDefault(w =>
                {
                    w.WriteStartObject();
                    w.WriteString(s, s);
                    w.WriteEndObject();
                });
                SameAsDefault(w => w.WriteStringValue(Encoding.UTF8.GetBytes(s)));
            });
        Gen.Byte.Array[0, 40].Sample(b => SameAsDefault(w => w.WriteStringValue(b)));
    }

    [Fact]
    public void Plain_ASCII_is_found_to_need_no_escaping()
    {
        // The answers it gives itself (the page-fault bound of InspectStartupCostTests holds it to not making the
        // default encoder for them).
        DefaultJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8("cpu0 node1 -_./:,()!#$%*=?@[]^{|}~"u8)
            .Should()
            .Be(-1);
        DefaultJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8("a<b"u8).Should().Be(1);
        DefaultJsonEncoder.Instance.FindFirstCharacterToEncodeUtf8("ab\u00e9"u8).Should().Be(2);
    }

    [Fact]
    public void A_document_streamed_in_chunks_is_the_whole_document()
    {
        // JsonText.WriteLine passes a 16 KiB buffer on to the stream whenever the writer asks for room: values
        // that cross its end many times, one value longer than it (50,000 characters escaped six-fold), and one
        // just under it, against the default writer's output in one piece.
        void Document(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("long", new string('<', 50_000));
            w.WriteString("plain", new string('a', (16 << 10) - 20));
            w.WriteStartArray("many");
            for (var i = 0; i < 5_000; i++)
                w.WriteStringValue($"cpu{i} <{i}> é");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        var expected = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(expected, new JsonWriterOptions { Indented = true }))
            Document(w);
        using var streamed = new MemoryStream();
        JsonText.WriteLine(streamed, Document);
        Encoding.UTF8.GetString(streamed.ToArray()).Should().Be(Encoding.UTF8.GetString(expected.WrittenSpan) + "\n");
    }
}
