using Kvmtune.Facts.Host;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Reports.Audit;

/// <summary>An audit and the facts it was made from (the HTML page draws the host).</summary>
public sealed record AuditResult(AuditReport Report, HostFacts Facts);

/// <summary>The formats of <c>kvmtune audit</c>, text first.</summary>
public static class AuditFormats
{
    public static readonly ReportFormats<AuditResult> All = new(
        new AuditTextRenderer(),
        new AuditJson(),
        new AuditHtmlRenderer(),
        new AuditPrometheusRenderer()
    );
}
