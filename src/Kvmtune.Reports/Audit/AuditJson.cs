using System.Text.Json;
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

public sealed class AuditJson : IReportRenderer<AuditResult>
{
    public string Name => "json";

    public string Description => "the kvmtune.audit/v1 document";

    public string Render(AuditResult result, RenderContext context) => Render(result.Report);

    public static string Render(AuditReport report) => JsonText.Write(w => Write(w, AuditDocument.From(report))) + "\n";

    /// <summary>
    /// The document field by field, as System.Text.Json's generated code wrote it (snake_case names, every property,
    /// null ones as null) but without the type metadata that code builds at first use: the options, the root type
    /// and a type info per nullable value and enum, a twentieth of a live audit. <c>AuditJsonWriterTests</c> holds
    /// it to the generator's own bytes.
    /// </summary>
    public static void Write(Utf8JsonWriter w, AuditDocument d)
    {
        w.WriteStartObject();
        w.WriteString("schema"u8, d.Schema);
        w.WriteString("profile"u8, d.Profile);
        w.WriteString("role"u8, d.Role);
        w.WriteString("host"u8, d.Host);
        w.WritePropertyName("summary"u8);
        w.WriteStartObject();
        w.WriteNumber("pass"u8, d.Summary.Pass);
        w.WriteNumber("warn"u8, d.Summary.Warn);
        w.WriteNumber("fail"u8, d.Summary.Fail);
        w.WriteNumber("info"u8, d.Summary.Info);
        w.WriteNumber("unknown"u8, d.Summary.Unknown);
        w.WriteEndObject();
        w.WritePropertyName("findings"u8);
        w.WriteStartArray();
        foreach (var f in d.Findings)
        {
            w.WriteStartObject();
            w.WriteString("id"u8, f.Id);
            w.WriteString("section"u8, f.Section);
            w.WriteString("title"u8, f.Title);
            w.WriteString("status"u8, Status(f.Status));
            w.WriteString("current"u8, f.Current);
            w.WriteString("expected"u8, f.Expected);
            JsonText.Strings(w, "evidence"u8, f.Evidence);
            w.WriteString("rationale"u8, f.Rationale);
            JsonText.Strings(w, "sources"u8, f.Sources);
            var fix = f.Fix;
            w.WritePropertyName("fix"u8);
            w.WriteStartObject();
            JsonText.Strings(w, "runtime"u8, fix.Runtime);
            JsonText.Strings(w, "persistent"u8, fix.Persistent);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The <c>[JsonStringEnumMemberName]</c> of each status.</summary>
    public static string Status(FindingStatus status) =>
        status switch
        {
            FindingStatus.Pass => "pass",
            FindingStatus.Info => "info",
            FindingStatus.Warn => "warn",
            FindingStatus.Fail => "fail",
            FindingStatus.Unknown => "unknown",
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "a status with no word"),
        };
}
