using System.Buffers;
using System.Text.Encodings.Web;

namespace Kvmtune.Reports;

/// <summary>
/// System.Text.Json's default escaping, made only when a string needs it. The writer asks its encoder of every
/// string and property name whether anything in it must be escaped, and <c>JavaScriptEncoder.Default</c> builds
/// its tables (the category of every BMP code point) on that first question: a twentieth of a short inspect,
/// whose strings are all plain ASCII. Plain ASCII is answered here; every other question, and all escaping, goes to
/// <c>JavaScriptEncoder.Default</c> itself, so the bytes written are the default's.
/// </summary>
public sealed class DefaultJsonEncoder : JavaScriptEncoder
{
    public static readonly DefaultJsonEncoder Instance = new();

    private DefaultJsonEncoder() { }

    private static JavaScriptEncoder Inner => Default;

    /// <summary>
    /// ASCII the default encoder writes as itself: printable, except the characters it escapes for HTML and
    /// JavaScript (<c>" &amp; ' + &lt; &gt; ` \</c>). System.Text.Json's own writer keeps the same list
    /// (JsonWriterHelper.Escaping.cs, AllowList); the tests hold each of the 128 to the default encoder.
    /// </summary>
    internal static bool Plain(int c) =>
        c is >= 0x20 and < 0x7F && c is not ('"' or '&' or '\'' or '+' or '<' or '>' or '`' or '\\');

    public override int MaxOutputCharactersPerInputCharacter => Inner.MaxOutputCharactersPerInputCharacter;

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (var i = 0; i < textLength; i++)
            if (!Plain(text[i]))
                return Inner.FindFirstCharacterToEncode(text, textLength);
        return -1;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        foreach (var b in utf8Text)
            if (!Plain(b))
                return Inner.FindFirstCharacterToEncodeUtf8(utf8Text);
        return -1;
    }

    public override bool WillEncode(int unicodeScalar) => !Plain(unicodeScalar) && Inner.WillEncode(unicodeScalar);

    public override unsafe bool TryEncodeUnicodeScalar(
        int unicodeScalar,
        char* buffer,
        int bufferLength,
        out int numberOfCharactersWritten
    ) => Inner.TryEncodeUnicodeScalar(unicodeScalar, buffer, bufferLength, out numberOfCharactersWritten);

    public override OperationStatus Encode(
        ReadOnlySpan<char> source,
        Span<char> destination,
        out int charsConsumed,
        out int charsWritten,
        bool isFinalBlock = true
    ) => Inner.Encode(source, destination, out charsConsumed, out charsWritten, isFinalBlock);

    public override OperationStatus EncodeUtf8(
        ReadOnlySpan<byte> utf8Source,
        Span<byte> utf8Destination,
        out int bytesConsumed,
        out int bytesWritten,
        bool isFinalBlock = true
    ) => Inner.EncodeUtf8(utf8Source, utf8Destination, out bytesConsumed, out bytesWritten, isFinalBlock);

    public override string Encode(string value) => Inner.Encode(value);

    public override void Encode(TextWriter output, string value, int startIndex, int characterCount) =>
        Inner.Encode(output, value, startIndex, characterCount);

    public override void Encode(TextWriter output, char[] value, int startIndex, int characterCount) =>
        Inner.Encode(output, value, startIndex, characterCount);
}
