using System.Net;
using System.Text;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Audit;

/// <summary>
/// The planned VMs of <c>audit --format html --plan</c> beside the picture: each VM's placement, its reasons and
/// every decision of the resolved model (adjusted ones marked), and what would make an unplaced VM fit.
/// </summary>
public static class PlanHtml
{
    public static string Render(ResolvedPlan plan)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder("<h2 id=\"planned-vms\">Planned VMs</h2>");
        foreach (var v in plan.Vms)
        {
            var p = v.Plan;
            sb.Append(
                $"<h3 id=\"vm-{E(v.Name)}\">{E(v.Name)}: node {E(string.Join(", ", p.Nodes))}, "
                    + $"{(p.Dedicated ? "dedicated" : "shared")} CPUs " +
                        $"{E(CpuList.Format(p.VcpuPins.SelectMany(x => x.Cpus).Distinct()))}, "
                    + $"{E(v.Accel)}, {E(v.Machine)}</h3>"
            );
            sb.Append("<table class=\"decisions\"><tr><th>what</th><th>choice</th><th>why</th></tr>");
            foreach (var r in p.Reasons)
                sb.Append($"<tr class=\"info\"><td>placement</td><td></td><td>{E(r)}</td></tr>");
            foreach (var d in v.Decisions)
                sb.Append(
                    $"<tr class=\"{(d.Adjusted ? "warn" : "info")}\"><td>{E(d.Subject)}</td><td>{E(d.Choice)}"
                        + $"{(d.Adjusted ? " (adjusted)" : "")}</td><td>{E(d.Why)}</td></tr>"
                );
            foreach (var l in v.LostInLibvirt)
                sb.Append($"<tr class=\"warn\"><td>libvirt</td><td>lost</td><td>{E(l)}</td></tr>");
            sb.Append("</table>");
        }
        foreach (var u in plan.Unplaced)
        {
            sb.Append($"<h3 id=\"vm-{E(u.Name)}\" class=\"fail\">{E(u.Name)}: not placed</h3><p>{E(u.Reason)}</p>");
            foreach (var f in u.Fixes ?? [])
                sb.Append(
                    $"<p class=\"fix\">{E(f.Text)}"
                        + (
                            f.Command is { } c
                                ? $": <code>{E(string.Join(' ', c.Select(QemuCommand.Quote)))}</code>"
                                : ""
                        )
                        + "</p>"
                );
        }
        return sb.ToString();
    }
}
