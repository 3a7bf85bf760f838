using System.Text;
using Kvmtune.Guide.Audit;
using Kvmtune.Reports.Inspect;

namespace Kvmtune.Reports.Audit;

/// <summary>The audit for people: grouped by guide section, a status mark and one line per finding, the fix
/// beneath.</summary>
public sealed class AuditTextRenderer : IReportRenderer<AuditResult>
{
    public string Name => "text";

    public string Description => "for people, by guide section";

    public string Render(AuditResult result, RenderContext context)
    {
        var (report, style, details) = (result.Report, context.Style, context.Details);
        var sb = new StringBuilder();
        sb.Append(style.Bold("kvmtune audit"))
            .Append(": profile ")
            .Append(report.Profile)
            .Append(", role ")
            .Append(InspectDocument.RoleName(report.Role))
            .AppendLine();
        foreach (
            var group in report.Findings.GroupBy(f => f.Section).OrderBy(g => SectionKey(g.Key), StringComparer.Ordinal)
        )
        {
            sb.AppendLine().Append(style.Bold($"{group.Key} {Auditor.SectionTitle(group.Key)}")).AppendLine();
            foreach (var f in group)
                AppendFinding(sb, f, f.Title, style, details);
        }
        var s = report.Summary;
        sb.AppendLine()
            .Append(style.Bold("Summary"))
            .Append($": {s.Pass} pass, {s.Warn} warn, {s.Fail} fail, {s.Info} info, {s.Unknown} unknown")
            .AppendLine();
        // Findings quote the machine's own text (model names, device names): no control character reaches the terminal.
        return style.Terminal(sb.ToString());
    }

    /// <summary>
    /// One finding as the text report shows it (the host audit and vm audit alike): mark, title, current and wanted
    /// value, with --details its id, reason and evidence, and the fixes of what does not pass.
    /// </summary>
    internal static void AppendFinding(StringBuilder sb, Finding f, string title, TextStyle style, bool details)
    {
        sb.Append("  ")
            .Append(Mark(f.Status, style))
            .Append(' ')
            .Append(title)
            .Append(": ")
            .Append(f.Current ?? "unknown");
        if (f.Expected is not null && f.Status is not (FindingStatus.Pass or FindingStatus.Info))
            sb.Append(style.Dim($" (want {f.Expected})"));
        sb.AppendLine();
        if (details)
        {
            sb.Append("         id ").Append(f.Id).AppendLine();
            sb.Append("         why: ").Append(f.Rationale).AppendLine();
            if (f.Evidence.Count > 0)
                sb.Append("         evidence: ").Append(string.Join(", ", f.Evidence)).AppendLine();
        }
        if (f.Status is FindingStatus.Pass or FindingStatus.Info && !details)
            return;
        var fix = f.Fix;
        foreach (var cmd in fix.Runtime.Take(details ? int.MaxValue : 3))
            sb.Append("         fix: ").Append(style.Cyan(cmd)).AppendLine();
        if (!details && fix.Runtime.Count > 3)
            sb.Append("         fix: ... ").Append(fix.Runtime.Count - 3).AppendLine(" more (--details)");
        foreach (var p in fix.Persistent.Take(details ? int.MaxValue : 2))
            sb.Append("         persist: ").Append(p).AppendLine();
        if (!details && fix.Persistent.Count > 2)
            sb.Append("         persist: ... ")
                .Append(fix.Persistent.Count - 2)
                .AppendLine(" more (--details)");
    }

    /// <summary>"3.2.10" after "3.2.9": each number padded, so sections sort in the guide's order.</summary>
    private static string SectionKey(string section) =>
        string.Join('.', section.Split('.').Select(p => int.TryParse(p, out var n) ? n.ToString("D3") : "999" + p));

    public static string Mark(FindingStatus s, TextStyle style) =>
        s switch
        {
            FindingStatus.Pass => style.Green("PASS   "),
            FindingStatus.Warn => style.Yellow("WARN   "),
            FindingStatus.Fail => style.Red("FAIL   "),
            FindingStatus.Info => style.Dim("INFO   "),
            _ => style.Yellow("UNKNOWN"),
        };
}
