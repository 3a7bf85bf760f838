using Kvmtune.Vms.Audit;

namespace Kvmtune.Reports.VmAudit;

/// <summary>The formats of <c>kvmtune vm audit</c>, text first.</summary>
public static class VmAuditFormats
{
    public static readonly ReportFormats<VmAuditReport> All = new(
        new VmAuditTextRenderer(),
        new VmAuditJson(),
        new VmAuditHtmlRenderer(),
        new VmAuditPrometheusRenderer()
    );
}
