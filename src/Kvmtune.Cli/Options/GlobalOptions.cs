using System.CommandLine;
using Kvmtune.Reports;

namespace Kvmtune.Cli.Options;

/// <summary>The options every read-only command takes.</summary>
public static class GlobalOptions
{
    public static Option<string?> Root() =>
        new("--root")
        {
            Description = "Read /sys, /proc, /dev, /boot and /etc under DIR instead of / (also KVMTUNE_ROOT)",
            HelpName = "DIR",
            Recursive = true,
        };

    /// <summary>
    /// <c>--format</c> from a report's format table: the values it accepts, its help (each format with what it is)
    /// and its default are the table's, so a format added there needs no edit here or in the command.
    /// </summary>
    public static Option<string> Format<TReport>(ReportFormats<TReport> formats)
    {
        var o = new Option<string>("--format")
        {
            Description =
                "Output format: " + string.Join(", ", formats.All.Select(f => $"{f.Name} ({f.Description})")),
            DefaultValueFactory = _ => formats.Default.Name,
        };
        o.AcceptOnlyFromAmong([.. formats.Names]);
        return o;
    }
}
