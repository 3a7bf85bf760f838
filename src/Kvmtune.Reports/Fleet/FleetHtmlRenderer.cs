using System.Net;
using System.Text;

namespace Kvmtune.Reports.Fleet;

/// <summary>The same table as one self-contained HTML page.</summary>
public sealed class FleetHtmlRenderer : IReportRenderer<FleetReport>
{
    public string Name => "html";

    public string Description => "the same table as one self-contained page";

    public string Render(FleetReport report, RenderContext context)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>kvmtune " +
                "fleet</title><style>body{font-family:\"DejaVu " +
                    "Sans\",Verdana,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid " +
                        "#ddd;padding:4px " +
                            "8px;font-size:13px}.pass{background:#e3f4e1}.warn{background:#fff4d6}"
                             + ".fail{background:#fde0e0}"
                             + ".info{background:#eef2f7}.unknown{background:#f0e6f6}</style></head><body>"
        );
        sb.Append($"<h1>kvmtune fleet: {report.Hosts.Count} host(s)</h1><table><tr><th>check</th>");
        foreach (var h in report.Hosts)
            sb.Append($"<th class=\"host\">{E(h.Host)}<br><small>{E(h.Profile)}, {E(h.Role)}</small></th>");
        sb.Append("</tr>");
        foreach (var (id, title, statuses) in report.Problems())
            sb.Append(
                $"<tr><td>{E(id)}<br><small>{E(title)}</small></td>"
                 + $"{string.Concat(statuses.Select(s => $"<td class=\"{E(s)}\">{E(s)}</td>"))}</tr>"
            );
        sb.Append("</table><h2>Differences between hosts audited alike</h2><ul>");
        foreach (var (group, id, values) in report.Differences())
            sb.Append(
                $"<li>[{E(group)}] {E(id)}: {E(string.Join("; ", values.Select(v => $"{v.Host} {v.Status}")))}</li>"
            );
        return sb.Append("</ul></body></html>\n").ToString();
    }
}
