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
        // Appended piece by piece, not joined from a string per host: a fleet of 10,000 writes millions of them.
        sb.Append(report.Hosts.Count).Append(" host(s): ");
        for (var i = 0; i < report.Hosts.Count; i++)
        {
            var h = report.Hosts[i];
            int fail = 0,
                warn = 0;
            foreach (var f in h.Findings.Values)
                if (f.Status == "fail")
                    fail++;
                else if (f.Status == "warn")
                    warn++;
            if (i > 0)
                sb.Append(", ");
            sb.Append(h.Host).Append(" (").Append(h.Profile).Append(", ").Append(h.Role).Append(": ");
            sb.Append(fail).Append(" fail, ").Append(warn).Append(" warn)");
        }
        sb.AppendLine().AppendLine().Append("check".PadRight(40));
        foreach (var h in report.Hosts)
            sb.Append(h.Host).Append(' ', Math.Max(0, w + 2 - h.Host.Length));
        sb.AppendLine();
        foreach (var (id, _, statuses) in report.Problems())
        {
            sb.Append(id).Append(' ', Math.Max(0, 40 - id.Length));
            foreach (var s in statuses)
                sb.Append(s).Append(' ', Math.Max(0, w + 2 - s.Length));
            sb.AppendLine();
        }
        var first = true;
        foreach (var (group, id, values) in report.Differences())
        {
            if (first)
                sb.AppendLine().AppendLine("differences between hosts audited alike:");
            first = false;
            sb.Append("  [").Append(group).Append("] ").Append(id).Append(": ");
            for (var i = 0; i < values.Count; i++)
            {
                var v = values[i];
                if (i > 0)
                    sb.Append("; ");
                sb.Append(v.Host).Append(' ').Append(v.Status);
                if (v.Current is not null)
                    sb.Append(" (").Append(v.Current).Append(')');
            }
            sb.AppendLine();
        }
        // Every name and value came from files other hosts wrote: shown, never obeyed by the terminal.
        return SafeText.ForTerminal(sb.ToString());
    }
}
