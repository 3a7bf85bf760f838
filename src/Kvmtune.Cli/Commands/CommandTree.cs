using System.CommandLine;

namespace Kvmtune.Cli.Commands;

/// <summary>The visible commands of the tree, each with its path ("vm plan"), for the man page and the completion
/// that are generated from it.</summary>
internal static class CommandTree
{
    public static IEnumerable<(string Path, Command Command)> Walk(Command c, string path)
    {
        yield return (path, c);
        foreach (var s in c.Subcommands.Where(s => !s.Hidden))
            foreach (var x in Walk(s, path.Length == 0 ? s.Name : $"{path} {s.Name}"))
                yield return x;
    }


    /// <summary>The root's options that every command takes (--root, --format ...).</summary>
    public static IEnumerable<string> RecursiveOptions(Command root, Command c) =>
        c == root ? [] : root.Options.Where(o => o.Recursive && !o.Hidden).Select(o => o.Name);

}
