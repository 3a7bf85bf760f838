using System.CommandLine;
using Kvmtune.Changes;
using Kvmtune.Facts.IO;

namespace Kvmtune.Cli.Options;

/// <summary>--journal-dir, shared by apply, rollback, history and every journaled device command.</summary>
public static class JournalOptions
{
    public static Option<string?> Dir() =>
        new("--journal-dir")
        {
            Description = "The journal folder (default /var/lib/kvmtune/journal under the root)",
            HelpName = "DIR",
        };

    public const string DefaultFolder = "/var/lib/kvmtune/journal";

    /// <summary>--journal-dir as given, else the default folder under the root, reached without following
    /// links.</summary>
    public static Journal Open(string? dir, HostReader reader) =>
        string.IsNullOrEmpty(dir) ? new Journal(new SafeTree(reader.Root), DefaultFolder) : new Journal(dir);

    public static Journal Open(ParseResult parse, Option<string?> dir, HostReader reader) =>
        Open(parse.GetValue(dir), reader);
}
