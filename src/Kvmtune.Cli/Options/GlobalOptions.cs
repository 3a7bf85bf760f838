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
        // Plain loops over the table: this runs at every start of the command, where each LINQ call site's first
        // interface dispatch costs a copy-on-write page of the image (BENCHMARKS.md).
        var all = formats.All;
        var names = new string[all.Count];
        var description = new System.Text.StringBuilder("Output format: ");
        for (var i = 0; i < all.Count; i++)
        {
            names[i] = all[i].Name;
            if (i > 0)
                description.Append(", ");
            description.Append(all[i].Name).Append(" (").Append(all[i].Description).Append(')');
        }
        var o = new Option<string>("--format")
        {
            Description = description.ToString(),
            DefaultValueFactory = _ => formats.Default.Name,
        };
        o.AcceptOnlyFromAmong(names);
        return o;
    }
}
