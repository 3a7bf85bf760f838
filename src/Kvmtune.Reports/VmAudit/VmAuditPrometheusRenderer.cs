using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Audit;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Reports.VmAudit;

/// <summary>node_exporter's textfile format: one series per VM finding, counts per VM and status, the run
/// time.</summary>
public sealed class VmAuditPrometheusRenderer : IReportRenderer<VmAuditReport>
{
    public string Name => "prometheus";

    public string Description => "node_exporter textfile series, labelled by VM";

    private static readonly ImmutableArray<FindingStatus> Statuses =
    [
        FindingStatus.Pass,
        FindingStatus.Warn,
        FindingStatus.Fail,
        FindingStatus.Info,
        FindingStatus.Unknown,
    ];

    public string Render(VmAuditReport report, RenderContext context)
    {
        var now = context.Now;
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
                    .Append(AuditJson.Status(f.Status))
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
                    .Append(AuditJson.Status(s))
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
}
