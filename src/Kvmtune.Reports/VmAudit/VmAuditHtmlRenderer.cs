using System.Globalization;
using System.Net;
using System.Text;
using Kvmtune.Reports.Audit;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Reports.VmAudit;

/// <summary>One self-contained HTML page: each VM with its summary and its findings.</summary>
public sealed class VmAuditHtmlRenderer : IReportRenderer<VmAuditReport>
{
    public string Name => "html";

    public string Description => "one self-contained page";

    public string Render(VmAuditReport report, RenderContext context)
    {
        var now = context.Now;
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder();
        sb.Append(HtmlPage.Head("kvmtune vm audit"));
        sb.Append($"<h1>kvmtune vm audit: {report.Vms.Count} VM(s)")
            .Append(report.Host is null ? "" : " on " + E(report.Host))
            .Append("</h1>");
        sb.Append($"<p>{E(now.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))}</p>");
        foreach (var vm in report.Vms)
        {
            var s = vm.Summary;
            sb.Append($"<h2 id=\"vm-{E(vm.Name)}\">{E(vm.Name)} (PID {vm.Pid}, {E(vm.Source)})</h2>");
            sb.Append(
                $"<p class=\"summary\"><span class=\"pass\">{s.Pass} pass</span>"
                    + $"<span class=\"warn\">{s.Warn} warn</span>"
                    + $"<span class=\"fail\">{s.Fail} fail</span><span class=\"info\">{s.Info} info</span>"
                    + $"<span class=\"unknown\">{s.Unknown} unknown</span></p>"
            );
            sb.Append(
                "<table><tr><th>status</th><th>section</th><th>check</th><th>current</th><th>expected</th>"
                    + "<th>evidence</th><th>fix</th></tr>"
            );
            foreach (var f in vm.Findings)
            {
                var st = AuditJson.Status(f.Status);
                var fix = f.Fix.Runtime.Concat(f.Fix.Persistent).Select(c => $"<code>{E(c)}</code>");
                sb.Append($"<tr class=\"{st}\" id=\"finding-{E(vm.Name)}-{E(f.Id)}\">")
                    .Append($"<td>{st}</td><td>{E(f.Section)}</td>")
                    .Append($"<td>{E(f.Title)}<br><small>{E(f.Id)}: {E(f.Rationale)}</small></td>")
                    .Append($"<td>{E(f.Current)}</td><td>{E(f.Expected)}</td>")
                    .Append($"<td>{string.Join("<br>", f.Evidence.Select(E))}</td>")
                    .Append($"<td>{string.Join("<br>", fix)}</td></tr>");
            }
            sb.Append("</table>");
        }
        if (report.Vms.Count == 0)
            sb.Append("<p>No running QEMU found.</p>");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }
}
