using System.Buffers;
using System.Globalization;
using System.Text;

namespace Kvmtune.Facts.Parsing;

/// <summary>
/// Control characters in text that came from a file or a machine tree: found, or shown as visible escapes
/// (<c>\x1b</c>) so a hostile value can neither break a line-based format nor drive the terminal it is printed on.
/// </summary>
public static class SafeText
{
    /// <summary>C0 controls, DEL and C1 controls: what a terminal or a line-based file may act on.</summary>
    public static bool IsControl(char c) => c < 0x20 || c is >= '\u007f' and <= '\u009f';

    public static bool HasControl(string s) => s.AsSpan().IndexOfAny(Controls) >= 0;

    // What IsControl names, for one vector search (a fleet's text is megabytes). Immutable once made.
    private static readonly SearchValues<char> Controls = SearchValues.Create(ControlChars());

    private static string ControlChars()
    {
        var chars = new StringBuilder();
        for (var c = '\0'; c <= '\u009f'; c++)
            if (IsControl(c))
                chars.Append(c);
        return chars.ToString();
    }

    /// <summary>Every control character escaped, newlines and tabs too: for echoing a value inside one line.</summary>
    public static string Visible(string s) => Escape(s, keepLines: false, keep: null);

    /// <summary>
    /// Text for a terminal: controls escaped except newline and tab; <paramref name="keep"/> lists escape
    /// sequences kvmtune itself wrote (colours) that stay as they are.
    /// </summary>
    public static string ForTerminal(string s, IReadOnlyList<string>? keep = null) => Escape(s, keepLines: true, keep);

    private static string Escape(string s, bool keepLines, IReadOnlyList<string>? keep)
    {
        if (!HasControl(s))
            return s;
        var sb = new StringBuilder(s.Length + 16);
        for (var i = 0; i < s.Length; i++)
        {
            // The text up to the next control character, in one piece.
            var plain = s.AsSpan(i).IndexOfAny(Controls);
            if (plain != 0)
            {
                sb.Append(s.AsSpan(i, plain < 0 ? s.Length - i : plain));
                if (plain < 0)
                    break;
                i += plain;
            }
            var c = s[i];
            if (keepLines && c is '\n' or '\t')
            {
                sb.Append(c);
                continue;
            }
            var own =
                c == '\e' && keep is not null
                    ? keep.FirstOrDefault(k => string.CompareOrdinal(s, i, k, 0, k.Length) == 0)
                    : null;
            if (own is not null)
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
