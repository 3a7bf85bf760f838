using System.Text.Json.Serialization;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Inspect;

namespace Kvmtune.Reports.Audit;

/// <summary>The <c>kvmtune.audit/v1</c> document.</summary>
public sealed record AuditDocument(
    string Schema,
    string Profile,
    string Role,
    string? Host,
    AuditSummary Summary,
    IReadOnlyList<Finding> Findings
)
{
    public const string SchemaName = "kvmtune.audit/v1";

    public static AuditDocument From(AuditReport r) =>
        new(SchemaName, r.Profile, InspectDocument.RoleName(r.Role), r.Host, r.Summary, r.Findings);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    GenerationMode = JsonSourceGenerationMode.Serialization
)]
[JsonSerializable(typeof(AuditDocument))]
public sealed partial class AuditJsonContext : JsonSerializerContext;

public sealed class AuditJson : IReportRenderer<AuditResult>
{
    public string Name => "json";

    public string Description => "the kvmtune.audit/v1 document";

    public string Render(AuditResult result, RenderContext context) => Render(result.Report);

    public static string Render(AuditReport report) =>
        JsonText.Write(AuditDocument.From(report), AuditJsonContext.Default.AuditDocument) + "\n";
}
