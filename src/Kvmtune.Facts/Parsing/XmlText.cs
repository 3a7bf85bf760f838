using System.Collections;
using System.Globalization;
using System.Text;

namespace Kvmtune.Facts.Parsing;

/// <summary>An XML attribute for <see cref="XmlText"/>.</summary>
public sealed record XA(string Name, object Value);

/// <summary>An XML comment for <see cref="XmlText"/>: "--" cannot appear inside one, so it becomes "- -".</summary>
public sealed record XmlComment(string Text)
{
    public override string ToString() =>
        "<!-- " + XmlText.Escape(Text, attribute: false).Replace("--", "- -").TrimEnd('-') + " -->";
}

/// <summary>
/// A minimal XML element writer for the libvirt domain: System.Xml would double the native binary and add a
/// millisecond to every start-up for one command. Content: <see cref="XA"/> attributes, child elements, text,
/// sequences of those; null is skipped.
/// </summary>
public sealed class XmlText
{
    private readonly string _name;
    private readonly List<XA> _attributes = [];
    private readonly List<object> _children = [];

    private XmlText(string name) => _name = name;

    public static XmlText El(string name, params object?[] content)
    {
        var e = new XmlText(name);
        foreach (var c in content)
            e.Add(c);
        return e;
    }

    /// <summary>Adds an attribute, a child, text or a sequence of those.</summary>
    public void Add(object? c)
    {
        switch (c)
        {
            case null:
                break;
            case XA a:
                _attributes.Add(a);
                break;
            case XmlText x:
                _children.Add(x);
                break;
            case XmlComment x:
                _children.Add(x);
                break;
            case string s:
                _children.Add(s);
                break;
            case IEnumerable many:
                foreach (var m in many)
                    Add(m);
                break;
            case IFormattable f:
                _children.Add(f.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                _children.Add(c.ToString() ?? "");
                break;
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        Write(sb, 0);
        return sb.ToString();
    }

    private void Write(StringBuilder sb, int depth)
    {
        sb.Append(' ', depth * 2).Append('<').Append(_name);
        foreach (var a in _attributes)
            sb.Append(' ')
                .Append(a.Name)
                .Append("=\"")
                .Append(
                    Escape(
                        a.Value is IFormattable f
                            ? f.ToString(null, CultureInfo.InvariantCulture)
                            : a.Value.ToString() ?? "",
                        attribute: true
                    )
                )
                .Append('"');
        if (_children.Count == 0)
        {
            sb.Append(" />");
            return;
        }
        if (_children.All(c => c is string))
        {
            sb.Append('>')
                .Append(Escape(string.Concat(_children.Cast<string>()), attribute: false))
                .Append("</")
                .Append(_name)
                .Append('>');
            return;
        }
        sb.Append('>');
        foreach (var c in _children)
        {
            sb.Append('\n');
            if (c is XmlText x)
                x.Write(sb, depth + 1);
            else if (c is XmlComment k)
                sb.Append(' ', (depth + 1) * 2).Append(k);
            else
                sb.Append(' ', (depth + 1) * 2).Append(Escape((string)c, attribute: false));
        }
        sb.Append('\n').Append(' ', depth * 2).Append("</").Append(_name).Append('>');
    }

    /// <summary>
    /// Markup characters as entities; in attributes tab, newline and carriage return as character references (a
    /// parser would turn them into spaces); characters XML 1.0 cannot hold at all (other C0 controls, lone
    /// surrogates, U+FFFE/U+FFFF) as U+FFFD, so the document is well-formed whatever the value.
    /// </summary>
    internal static string Escape(string s, bool attribute)
    {
        var sb = new StringBuilder(s.Length + 8);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                case '"' when attribute:
                    sb.Append("&quot;");
                    break;
                case '\t' or '\n' when attribute:
                    sb.Append(c == '\t' ? "&#9;" : "&#10;");
                    break;
                case '\r':
                    sb.Append("&#13;");
                    break;
                case '\t' or '\n':
                    sb.Append(c);
                    break;
                case < ' ' or '\uFFFE' or '\uFFFF':
                    sb.Append('\uFFFD');
                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                        sb.Append(c).Append(s[++i]);
                    else if (char.IsSurrogate(c))
                        sb.Append('\uFFFD');
                    else
                        sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
