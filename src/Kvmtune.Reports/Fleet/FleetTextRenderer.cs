using System.Text;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Reports.Fleet;

/// <summary>The fleet for people: the hosts, then a row per check that fails or warns somewhere, then the
/// differences between hosts audited alike.</summary>
public sealed class FleetTextRenderer : IReportRenderer<FleetReport>
{
    public string Name => "text";

    public string Description => "the checks that fail or warn, a column per host";

    public string Render(FleetReport report, RenderContext context)
    {
        var sb = new StringBuilder();
        var w = Math.Max(8, report.Hosts.Max(h => h.Host.Length));
        sb.Append($"{report.Hosts.Count} host(s): ")
            .AppendLine(
                string.Join(
                    ", ",
                    report.Hosts.Select(h =>
                        $"{h.Host} ({h.Profile}, {h.Role}: {h.Findings.Values.Count(f => f.Status == "fail")} fail, " +
                            $"{h.Findings.Values.Count(f => f.Status == "warn")} warn)"
                    )
                )
            );
        sb.AppendLine()
            .Append("check".PadRight(40))
            .AppendLine(string.Concat(report.Hosts.Select(h => h.Host.PadRight(w + 2))));
        foreach (var (id, _, statuses) in report.Problems())
            sb.Append(id.PadRight(40)).AppendLine(string.Concat(statuses.Select(s => s.PadRight(w + 2))));
        var diffs = report.Differences().ToList();
        if (diffs.Count > 0)
        {
            sb.AppendLine().AppendLine("differences between hosts audited alike:");
            foreach (var (group, id, values) in diffs)
                sb.Append($"  [{group}] {id}: ")
                    .AppendLine(
                        string.Join(
                            "; ",
                            values.Select(v => $"{v.Host} {v.Status}{(v.Current is null ? "" : $" ({v.Current})")}")
                        )
                    );
        }
        // Every name and value came from files other hosts wrote: shown, never obeyed by the terminal.
        return SafeText.ForTerminal(sb.ToString());
    }
}
