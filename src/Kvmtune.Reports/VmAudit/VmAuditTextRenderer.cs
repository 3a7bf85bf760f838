using System.Text;
using Kvmtune.Reports.Audit;
using Kvmtune.Vms.Audit;

namespace Kvmtune.Reports.VmAudit;

/// <summary>The VM audit for people: each VM, its findings as the host audit shows them, its summary.</summary>
public sealed class VmAuditTextRenderer : IReportRenderer<VmAuditReport>
{
    public string Name => "text";

    public string Description => "for people, VM by VM";

    public string Render(VmAuditReport report, RenderContext context)
    {
        var (style, details) = (context.Style, context.Details);
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
}
