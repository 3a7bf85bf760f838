using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Audit;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Reports.VmAudit;

public sealed record VmAuditVmEntry(
    string Name,
    int Pid,
    string Source,
    AuditSummary Summary,
    IReadOnlyList<Finding> Findings
);

/// <summary>The <c>kvmtune.vmaudit/v1</c> document: one entry per VM, findings as in the host audit.</summary>
public sealed record VmAuditDocument(
    string Schema,
    string? Host,
    AuditSummary Summary,
    IReadOnlyList<VmAuditVmEntry> Vms
)
{
    public const string SchemaName = "kvmtune.vmaudit/v1";

    public static VmAuditDocument From(VmAuditReport r)
    {
        var all = r.Vms.SelectMany(v => v.Findings).ToList();
        var summary = new AuditSummary(
            all.Count(f => f.Status == FindingStatus.Pass),
            all.Count(f => f.Status == FindingStatus.Warn),
            all.Count(f => f.Status == FindingStatus.Fail),
            all.Count(f => f.Status == FindingStatus.Info),
            all.Count(f => f.Status == FindingStatus.Unknown)
        );
        return new(
            SchemaName,
            r.Host,
            summary,
            r.Vms.Select(v => new VmAuditVmEntry(v.Name, v.Pid, v.Source, v.Summary, v.Findings)).ToList()
        );
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    GenerationMode = JsonSourceGenerationMode.Serialization
)]
[JsonSerializable(typeof(VmAuditDocument))]
public sealed partial class VmAuditJsonContext : JsonSerializerContext;

/// <summary>The VM audit as JSON, text, node_exporter series and one self-contained HTML page.</summary>
public static class VmAuditOutput
{
    public static string Json(VmAuditReport report) =>
        JsonText.Write(VmAuditDocument.From(report), VmAuditJsonContext.Default.VmAuditDocument) + "\n";

    public static string Text(VmAuditReport report, TextStyle style, bool details)
    {
        var sb = new StringBuilder();
        sb.Append(style.Bold("kvmtune vm audit")).Append(": ").Append(report.Vms.Count).AppendLine(" VM(s)");
        if (report.Vms.Count == 0)
            sb.AppendLine("no running QEMU found");
        foreach (var vm in report.Vms)
        {
            sb.AppendLine().Append(style.Bold($"{vm.Name}")).Append($" (PID {vm.Pid}, {vm.Source})").AppendLine();
            foreach (var f in vm.Findings)
                AuditTextRenderer.AppendFinding(sb, f, $"{f.Section} {f.Title}", style, details);
            var s = vm.Summary;
            sb.Append("  ")
                .Append(style.Bold("Summary"))
                .Append($": {s.Pass} pass, {s.Warn} warn, {s.Fail} fail, {s.Info} info, {s.Unknown} unknown")
                .AppendLine();
        }
        // Command lines and thread names are the machine's text: no control character reaches the terminal.
        return style.Terminal(sb.ToString());
    }

    private static readonly ImmutableArray<FindingStatus> Statuses =
    [
        FindingStatus.Pass,
        FindingStatus.Warn,
        FindingStatus.Fail,
        FindingStatus.Info,
        FindingStatus.Unknown,
    ];

    public static string Prometheus(VmAuditReport report, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.AppendLine(
            "# HELP kvmtune_vm_check One series per kvmtune vm audit finding; the status label carries the result."
        );
        sb.AppendLine("# TYPE kvmtune_vm_check gauge");
        foreach (var vm in report.Vms)
            foreach (var f in vm.Findings)
                sb.Append("kvmtune_vm_check{vm=\"")
                    .Append(Escape(vm.Name))
                    .Append("\",pid=\"")
                    .Append(vm.Pid)
                    .Append("\",id=\"")
                    .Append(Escape(f.Id))
                    .Append("\",section=\"")
                    .Append(Escape(f.Section))
                    .Append("\",status=\"")
                    .Append(AuditPrometheusRenderer.Name(f.Status))
                    .AppendLine("\"} 1");
        sb.AppendLine("# HELP kvmtune_vm_findings Number of vm audit findings with each status, per VM.");
        sb.AppendLine("# TYPE kvmtune_vm_findings gauge");
        foreach (var vm in report.Vms)
            foreach (var s in Statuses)
                sb.Append("kvmtune_vm_findings{vm=\"")
                    .Append(Escape(vm.Name))
                    .Append("\",pid=\"")
                    .Append(vm.Pid)
                    .Append("\",status=\"")
                    .Append(AuditPrometheusRenderer.Name(s))
                    .Append("\"} ")
                    .Append(vm.Findings.Count(f => f.Status == s))
                    .AppendLine();
        sb.AppendLine("# HELP kvmtune_vm_audit_vms Number of running VMs the last vm audit checked.");
        sb.AppendLine("# TYPE kvmtune_vm_audit_vms gauge");
        sb.Append("kvmtune_vm_audit_vms ").Append(report.Vms.Count).AppendLine();
        sb.AppendLine(
            "# HELP kvmtune_vm_audit_timestamp_seconds When the last vm audit ran, in seconds since the epoch."
        );
        sb.AppendLine("# TYPE kvmtune_vm_audit_timestamp_seconds gauge");
        sb.Append("kvmtune_vm_audit_timestamp_seconds ")
            .AppendLine((now.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>Label values as the exposition format escapes them: backslash, quote and newline.</summary>
    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public static string Html(VmAuditReport report, DateTimeOffset now)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder();
        sb.Append(
            """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>kvmtune vm audit</title>
            <style>
            body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; width: 100%; font-size: 13px; }
            th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
            .pass { background: #e3f4e1; } .warn { background: #fff4d6; } .fail { background: #fde0e0; }
            .info { background: #eef2f7; } .unknown { background: #f0e6f6; }
            code { font-size: 12px; white-space: pre-wrap; } .summary span { margin-right: 14px; font-weight: bold; }
            </style></head><body>
            """
        );
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
                var st = AuditPrometheusRenderer.Name(f.Status);
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
