using System.Text.Json.Serialization;
using Kvmtune.Guide.Audit;
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

/// <summary>The VM audit as the <c>kvmtune.vmaudit/v1</c> document.</summary>
public sealed class VmAuditJson : IReportRenderer<VmAuditReport>
{
    public string Name => "json";

    public string Description => "the kvmtune.vmaudit/v1 document";

    public string Render(VmAuditReport report, RenderContext context) =>
        JsonText.Write(VmAuditDocument.From(report), VmAuditJsonContext.Default.VmAuditDocument) + "\n";
}
