using System.Globalization;
using System.Text;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Inspect;

namespace Kvmtune.Reports.Audit;

/// <summary>node_exporter's textfile format: one series per finding, counts per status, the profile and the run
/// time.</summary>
public sealed class AuditPrometheusRenderer : IReportRenderer<AuditResult>
{
    public string Name => "prometheus";

    public string Description => "node_exporter textfile series";

    private static readonly FindingStatus[] Statuses =
    [
        FindingStatus.Pass,
        FindingStatus.Warn,
        FindingStatus.Fail,
        FindingStatus.Info,
        FindingStatus.Unknown,
    ];

    public string Render(AuditResult result, RenderContext context)
    {
        var (report, now) = (result.Report, context.Now);
        var sb = new StringBuilder();
        sb.AppendLine(
            "# HELP kvmtune_check One series per kvmtune audit finding; the status label carries the result."
        );
        sb.AppendLine("# TYPE kvmtune_check gauge");
        foreach (var f in report.Findings)
            sb.Append("kvmtune_check{id=\"")
                .Append(Escape(f.Id))
                .Append("\",section=\"")
                .Append(Escape(f.Section))
                .Append("\",status=\"")
                .Append(AuditJson.Status(f.Status))
                .AppendLine("\"} 1");
        sb.AppendLine("# HELP kvmtune_findings Number of audit findings with each status.");
        sb.AppendLine("# TYPE kvmtune_findings gauge");
        foreach (var s in Statuses)
            sb.Append("kvmtune_findings{status=\"")
                .Append(AuditJson.Status(s))
                .Append("\"} ")
                .Append(report.Findings.Count(f => f.Status == s))
                .AppendLine();
        sb.AppendLine("# HELP kvmtune_audit_info The profile and role of the last audit.");
        sb.AppendLine("# TYPE kvmtune_audit_info gauge");
        sb.Append("kvmtune_audit_info{profile=\"")
            .Append(Escape(report.Profile))
            .Append("\",role=\"")
            .Append(InspectDocument.RoleName(report.Role))
            .AppendLine("\"} 1");
        sb.AppendLine("# HELP kvmtune_audit_timestamp_seconds When the last audit ran, in seconds since the epoch.");
        sb.AppendLine("# TYPE kvmtune_audit_timestamp_seconds gauge");
        sb.Append("kvmtune_audit_timestamp_seconds ")
            .AppendLine((now.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
