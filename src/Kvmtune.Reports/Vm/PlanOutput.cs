using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Vm;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(PlacementPlan))]
[JsonSerializable(typeof(QemuJson))]
public sealed partial class VmJsonContext : JsonSerializerContext;

/// <summary>
/// <c>vm qemu --format json</c>: the argument vector, its environment, what was adjusted, and the commands to
/// run before it (the QMP socket's folder).
/// </summary>
public sealed record QemuJson(string Name, IReadOnlyList<string> Argv, IReadOnlyDictionary<string, string> Env, IReadOnlyList<string> Notes,
    IReadOnlyList<IReadOnlyList<string>> Setup);

public static class PlanOutput
{
    public static string Json(PlacementPlan plan) => JsonSerializer.Serialize(plan, VmJsonContext.Default.PlacementPlan) + "\n";

    public static string Text(PlacementPlan plan)
    {
        var sb = new StringBuilder();
        foreach (var vm in plan.Vms)
        {
            sb.Append(vm.Name).Append(": node ").Append(string.Join(", ", vm.Nodes)).Append(vm.Dedicated ? ", dedicated" : ", shared")
              .Append($", guest topology {vm.Topology.Sockets} socket x {vm.Topology.Cores} cores x {vm.Topology.Threads} threads").AppendLine();
            sb.Append("  vCPUs: ").AppendLine(string.Join(" ", vm.VcpuPins.Select(p => $"{p.Vcpu}->{CpuList.Format(p.Cpus)}")));
            sb.Append("  emulator: ").AppendLine(CpuList.Format(vm.EmulatorCpus));
            foreach (var io in vm.IothreadPins) sb.Append("  iothread ").Append(io.Iothread).Append(": ").AppendLine(CpuList.Format(io.Cpus));
            foreach (var m in vm.Memory) sb.Append("  memory: ").Append(Sizes.HumanKib(m.SizeKib)).Append(" on node ").Append(m.Node).Append(m.PageSizeKib > 4 ? $" in {Sizes.HumanKib(m.PageSizeKib)} pages" : "").AppendLine();
            foreach (var d in vm.Devices) sb.Append("  ").Append(d.Kind).Append(' ').Append(d.Id).Append(": node ").AppendLine(d.Node?.ToString() ?? "unknown");
            foreach (var r in vm.Reasons) sb.Append("  why: ").AppendLine(r);
        }
        foreach (var u in plan.Unplaced) sb.Append(u.Name).Append(": NOT PLACED: ").AppendLine(u.Reason);
        return SafeText.ForTerminal(sb.ToString());
    }
}
