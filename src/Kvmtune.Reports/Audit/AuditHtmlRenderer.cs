using System.Net;
using System.Text;
using Kvmtune.Facts.Host;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Inspect;
using Kvmtune.Reports.Svg;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Audit;

/// <summary>One self-contained HTML file (no fetched fonts, scripts or styles): the summary, the host picture, the
/// findings by section.</summary>
public sealed class AuditHtmlRenderer : IReportRenderer<AuditResult>
{
    public string Name => "html";

    public string Description => "one self-contained page with the host picture";

    public string Render(AuditResult result, RenderContext context) =>
        Render(result.Report, result.Facts, context.Plan(), context.Now);

    public static string Render(AuditReport report, HostFacts facts, ResolvedPlan? plan, DateTimeOffset now)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var s = report.Summary;
        var sb = new StringBuilder();
        sb.Append(
            HtmlPage.Head("kvmtune audit", ".picture { overflow-x: auto; border: 1px solid #eee; padding: 8px; }\n")
        );
        sb.Append(
            $"<h1>kvmtune audit: profile {E(report.Profile)}, role {E(InspectDocument.RoleName(report.Role))}</h1>"
        );
        sb.Append($"<p>{E(now.ToString("yyyy-MM-dd HH:mm 'UTC'"))}, kernel {E(facts.Kernel.Release ?? "unknown")}</p>");
        sb.Append(
            $"<p class=\"summary\" id=\"summary\"><span class=\"pass\">{s.Pass} pass</span><span " +
                $"class=\"warn\">{s.Warn} warn</span><span class=\"fail\">{s.Fail} fail</span><span " +
                    $"class=\"info\">{s.Info} info</span><span class=\"unknown\">{s.Unknown} unknown</span></p>"
        );
        sb.Append("<h2>The host</h2><div class=\"picture\">")
            .Append(HostSvgRenderer.Render(facts, plan))
            .Append("</div>");
        if (plan is not null)
            sb.Append(PlanHtml.Render(plan));
        foreach (var group in report.Findings.GroupBy(f => f.Section))
        {
            var title = Auditor.SectionTitle(group.Key);
            sb.Append(
                $"<h2 id=\"section-{E(group.Key)}\">{E(group.Key)} " +
                    $"{E(title)}</h2><table><tr><th>status</th><th>check</th><th>current</th><th>expected</th>"
                     + "<th>evidence</th><th>fix</th></tr>"
            );
            foreach (var f in group)
            {
                var fix = f
                    .Fix.Runtime.Select(c => $"<code>{E(c)}</code>")
                    .Concat(f.Fix.Persistent.Select(p => $"<code>{E(p)}</code>"));
                var sources =
                    f.Sources.Count == 0
                        ? ""
                        : $"<br><small class=\"sources\">sources: {E(string.Join("; ", f.Sources))}</small>";
                sb.Append($"<tr class=\"{AuditJson.Status(f.Status)}\" id=\"finding-{E(f.Id)}\">")
                    .Append($"<td>{AuditJson.Status(f.Status)}</td><td>{E(f.Title)}")
                    .Append($"<br><small>{E(f.Id)}: {E(f.Rationale)}</small>")
                    .Append(sources)
                    .Append("</td>");
                sb.Append(
                    $"<td>{E(f.Current)}</td><td>{E(f.Expected)}</td>"
                     + $"<td>{string.Join("<br>", f.Evidence.Select(E))}</td>"
                     + $"<td>{string.Join("<br>", fix)}</td></tr>"
                );
            }
            sb.Append("</table>");
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }
}
