using System.Text;
using System.Text.Json;
using Kvmtune.Changes;

namespace Kvmtune.Reports.History;

/// <summary>Each apply on one line, its changes and notes beneath.</summary>
public sealed class HistoryTextRenderer : IReportRenderer<IReadOnlyList<JournalEntry>>
{
    public string Name => "text";

    public string Description => "for people";

    public string Render(IReadOnlyList<JournalEntry> report, RenderContext context)
    {
        var sb = new StringBuilder();
        if (report.Count == 0)
            sb.AppendLine("no applies recorded");
        foreach (var e in report)
        {
            sb.AppendLine(
                $"{e.Id}  {e.State,-11}  profile {e.Profile}, {e.Operations.Count} " +
                    $"change(s){(e.Persist ? ", persistent" : "")}"
            );
            foreach (var op in e.Operations)
                sb.AppendLine(
                    $"    {(op.RolledBack is not null ? "undone " : op.Applied ? "done   " : "pending")} " +
                        $"{op.Describe()} [{op.Section}]"
                );
            foreach (var ev in e.Events)
                sb.AppendLine($"    note: {ev}");
        }
        return sb.ToString();
    }
}

/// <summary>The journal entries as they are stored (kvmtune.journal/v2), in one array.</summary>
public sealed class HistoryJsonRenderer : IReportRenderer<IReadOnlyList<JournalEntry>>
{
    public string Name => "json";

    public string Description => "the journal entries, kvmtune.journal/v2";

    public string Render(IReadOnlyList<JournalEntry> report, RenderContext context) =>
        JsonSerializer.Serialize(
            report as List<JournalEntry> ?? [.. report],
            JournalJsonContext.Default.ListJournalEntry
        ) + "\n";
}

/// <summary>The formats of <c>kvmtune history</c>, text first.</summary>
public static class HistoryFormats
{
    public static readonly ReportFormats<IReadOnlyList<JournalEntry>> All = new(
        new HistoryTextRenderer(),
        new HistoryJsonRenderer()
    );
}
