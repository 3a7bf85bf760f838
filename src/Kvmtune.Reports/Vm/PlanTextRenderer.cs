using System.Text;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Vm;

/// <summary><c>vm plan</c> for people; every line comes from the resolved model, nothing is decided here.</summary>
public sealed class PlanTextRenderer : IReportRenderer<ResolvedPlan>
{
    public string Name => "text";

    public string Description => "for people, each decision with its reason";

    public string Render(ResolvedPlan plan, RenderContext context)
    {
        var sb = new StringBuilder();
        foreach (var v in plan.Vms)
        {
            var vm = v.Plan;
            sb.Append(vm.Name)
                .Append(": node ")
                .Append(string.Join(", ", vm.Nodes))
                .Append(vm.Dedicated ? ", dedicated" : ", shared")
                .Append(
                    $", guest topology {vm.Topology.Sockets} socket x {vm.Topology.Cores} cores x " +
                        $"{vm.Topology.Threads} threads"
                )
                .AppendLine();
            sb.Append("  vCPUs: ")
                .AppendLine(string.Join(" ", vm.VcpuPins.Select(p => $"{p.Vcpu}->{CpuList.Format(p.Cpus)}")));
            sb.Append("  emulator: ").AppendLine(CpuList.Format(vm.EmulatorCpus));
            foreach (var io in vm.IothreadPins)
                sb.Append("  iothread ").Append(io.Iothread).Append(": ").AppendLine(CpuList.Format(io.Cpus));
            foreach (var m in vm.Memory)
                sb.Append("  memory: ")
                    .Append(Sizes.HumanKib(m.SizeKib))
                    .Append(" on node ")
                    .Append(m.Node)
                    .Append(m.PageSizeKib > 4 ? $" in {Sizes.HumanKib(m.PageSizeKib)} pages" : "")
                    .AppendLine();
            foreach (var d in vm.Devices)
                sb.Append("  ")
                    .Append(d.Kind)
                    .Append(' ')
                    .Append(d.Id)
                    .Append(": node ")
                    .AppendLine(d.Node?.ToString() ?? "unknown");
            foreach (var r in vm.Reasons)
                sb.Append("  why: ").AppendLine(r);
            sb.Append($"  {v.Accel}: machine {v.Machine}, cpu {v.CpuModel}, uuid {v.Uuid}").AppendLine();
            foreach (var d in v.Decisions)
                sb.Append(d.Adjusted ? "  adjusted: " : "  decision: ").AppendLine(d.ToString());
            foreach (var l in v.LostInLibvirt)
                sb.Append("  libvirt: ").AppendLine(l);
        }
        foreach (var u in plan.Unplaced)
        {
            sb.Append(u.Name).Append(": NOT PLACED: ").AppendLine(u.Reason);
            foreach (var f in u.Fixes ?? [])
                sb.Append("  fix: ")
                    .Append(f.Text)
                    .AppendLine(f.Command is { } c ? $": {string.Join(' ', c.Select(QemuCommand.Quote))}" : "");
        }
        return SafeText.ForTerminal(sb.ToString());
    }
}
