using Kvmtune.Facts.Parsing;

namespace Kvmtune.Reports;

/// <summary>ANSI colour for people at a terminal; plain text everywhere else (pipes, files, NO_COLOR).</summary>
public sealed record TextStyle(bool Colour)
{
    public static readonly TextStyle Plain = new(false);

    public string Bold(string s) => Colour ? $"\e[1m{s}\e[0m" : s;

    public string Dim(string s) => Colour ? $"\e[2m{s}\e[0m" : s;

    public string Green(string s) => Colour ? $"\e[32m{s}\e[0m" : s;

    public string Yellow(string s) => Colour ? $"\e[33m{s}\e[0m" : s;

    public string Red(string s) => Colour ? $"\e[31m{s}\e[0m" : s;

    public string Cyan(string s) => Colour ? $"\e[36m{s}\e[0m" : s;

    /// <summary>The escape sequences this style writes: the only ones a text renderer lets through.</summary>
    public IReadOnlyList<string> Codes => Colour ? AllCodes : [];

    private static readonly string[] AllCodes = ["\e[1m", "\e[2m", "\e[32m", "\e[33m", "\e[31m", "\e[36m", "\e[0m"];

    /// <summary>Rendered text for a terminal: controls from the machine or a file escaped, own colours kept.</summary>
    public string Terminal(string rendered) => SafeText.ForTerminal(rendered, Codes);
}
