using System.Globalization;
using System.Text;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Tests.Parsing;

/// <summary>
/// SafeText finds control characters with vector searches and copies the text between them in runs (a fleet's text
/// is megabytes). The oracle is .NET's <see cref="char.IsControl(char)"/>: Unicode's general category Cc, which is
/// U+0000-U+001F and U+007F-U+009F, the C0 controls, DEL and the C1 controls that SafeText names.
/// </summary>
public sealed class SafeTextPropertyTests
{
    private static readonly string[] Kept = ["\e[1m", "\e[0m"];

    // Mostly plain text with controls (C0, DEL, C1, the escape of a colour) and the characters just outside them.
    private static readonly Gen<string> Plain = Gen.Frequency(
            (6, Gen.Char['a', 'z']),
            (2, Gen.Char['\0', '\u001f']),
            (2, Gen.Char['\u007e', '\u00a0']),
            (1, Gen.OneOf('\n', '\t', '\e', '\u2028', '\uffff'))
        )
        .Array[0, 300]
        .Select(chars => new string(chars));

    // With a colour sequence (whole, or cut short) somewhere in it.
    private static readonly Gen<string> Texts = Gen.Select(
        Plain,
        Gen.OneOf("", "\e[1m", "\e[0m", "\e[3"),
        Gen.Int[0, 300],
        (s, seq, at) => s.Insert(at % (s.Length + 1), seq)
    );

    [Fact]
    public void Controls_are_found_and_escaped_as_their_unicode_category_says()
    {
        Texts.Sample(
            s =>
            {
                SafeText.HasControl(s).Should().Be(s.Any(char.IsControl));
                SafeText.Visible(s).Should().Be(Escaped(s, keepLines: false, keep: null));
                SafeText.ForTerminal(s).Should().Be(Escaped(s, keepLines: true, keep: null));
                SafeText.ForTerminal(s, Kept).Should().Be(Escaped(s, keepLines: true, keep: Kept));
            },
            iter: 2000
        );
    }

    [Fact]
    public void A_long_text_with_few_controls_comes_back_whole()
    {
        var line = new string('x', 100_000);
        var text = line + "\n" + line + "\u0085" + line + "\u007f";
        SafeText.ForTerminal(text).Should().Be(line + "\n" + line + "\\x85" + line + "\\x7f");
    }

    [Fact]
    public void Text_of_many_c1_controls_is_escaped_whole()
    {
        // Every character to escape, and no C0 control to end a search early: a search from each one to the end of
        // the text would make this quadratic (a hostile host name in a fleet is up to 16 MiB).
        var text = new string('\u0085', 200_000);
        SafeText.Visible(text).Should().Be(string.Concat(Enumerable.Repeat("\\x85", 200_000)));
    }

    private static string Escaped(string s, bool keepLines, IReadOnlyList<string>? keep)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (!char.IsControl(c) || keepLines && c is '\n' or '\t')
            {
                sb.Append(c);
                continue;
            }
            if (keep?.FirstOrDefault(k => s.AsSpan(i).StartsWith(k, StringComparison.Ordinal)) is { } own)
            {
                sb.Append(own);
                i += own.Length - 1;
                continue;
            }
            sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
