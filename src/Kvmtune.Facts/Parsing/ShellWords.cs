namespace Kvmtune.Facts.Parsing;

/// <summary>POSIX shell quoting for the commands kvmtune prints for a person to type (it never runs a shell).</summary>
public static class ShellWords
{
    /// <summary>A word as the shell must see it: unchanged when it has only safe characters, else
    /// single-quoted.</summary>
    public static string Quote(string word) =>
        word.Length > 0
        && word.All(c =>
            char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or ':' or '=' or ',' or '@' or '+' or '%' or '-'
        )
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";
}
