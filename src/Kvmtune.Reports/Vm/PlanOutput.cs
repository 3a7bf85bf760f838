using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Vm;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    GenerationMode = JsonSourceGenerationMode.Serialization
)]
[JsonSerializable(typeof(PlacementPlan))]
[JsonSerializable(typeof(PlanJson))]
[JsonSerializable(typeof(QemuJson))]
public sealed partial class VmJsonContext : JsonSerializerContext;

/// <summary>
/// <c>vm qemu --format json</c>: the argument vector, its environment, what was adjusted, and the commands to
/// run before it (the QMP socket's folder).
/// </summary>
public sealed record QemuJson(
    string Name,
    IReadOnlyList<string> Argv,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> Notes,
    IReadOnlyList<IReadOnlyList<string>> Setup
);

/// <summary>
/// <c>vm plan --format json</c> (kvmtune.plan/v1): the fields of the contract, then what the resolved VM adds
/// (accelerator, machine, UUID, every decision with its reason) and, for a VM that does not fit, the fixes.
/// </summary>
public sealed record PlanJson(
    string Schema,
    IReadOnlyList<PlanVmJson> Vms,
    IReadOnlyList<UnplacedVm> Unplaced,
    IReadOnlyList<int> HousekeepingCpus
);

public sealed record PlanVmJson(
    string Name,
    IReadOnlyList<int> Nodes,
    IReadOnlyList<VcpuPin> VcpuPins,
    IReadOnlyList<int> EmulatorCpus,
    IReadOnlyList<IothreadPin> IothreadPins,
    IReadOnlyList<MemoryPlacement> Memory,
    IReadOnlyList<DevicePlacement> Devices,
    IReadOnlyList<string> Reasons,
    bool Dedicated,
    GuestTopology Topology,
    IReadOnlyList<GuestNode> GuestNodes,
    string Uuid,
    string Accel,
    string Machine,
    string CpuModel,
    long MemoryKib,
    long? HugepageKib,
    IReadOnlyList<Decision> Decisions,
    IReadOnlyList<string> LostInLibvirt
);

/// <summary>Renders a <see cref="ResolvedPlan"/>; every line and field comes from the model, nothing is decided
/// here.</summary>
public static class PlanOutput
{
    public static string Json(ResolvedPlan plan)
    {
        using var bytes = new MemoryStream();
        WriteJson(plan, bytes);
        return Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
    }

    /// <summary>
    /// The plan as JSON, streamed: the plan of 10,000 VMs is 28 MB, which as one growing buffer and one string cost a
    /// full collection at each doubling.
    /// </summary>
    public static void WriteJson(ResolvedPlan plan, Stream stream)
    {
        var types = VmJsonContext.Default;
        // The document's frame by hand, each VM through the generated serializer, the writer drained after each:
        // byte for byte what serializing PlanJson whole writes, in 64 KiB writes.
        using (var w = new Utf8JsonWriter(stream, JsonText.WriterOptions(types.Options)))
        {
            w.WriteStartObject();
            w.WriteString("schema", PlacementPlan.SchemaName);
            w.WritePropertyName("vms");
            w.WriteStartArray();
            foreach (var vm in plan.Vms)
            {
                JsonText.Write(w, ToJson(vm), types.PlanVmJson);
                if (w.BytesPending > 1 << 16)
                    w.Flush();
            }
            w.WriteEndArray();
            w.WritePropertyName("unplaced");
            JsonText.Write(w, plan.Unplaced, types.IReadOnlyListUnplacedVm);
            w.WritePropertyName("housekeeping_cpus");
            JsonText.Write(w, plan.Housekeeping, types.IReadOnlyListInt32);
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }

    private static PlanVmJson ToJson(ResolvedVm v)
    {
        var p = v.Plan;
        return new PlanVmJson(
            p.Name,
            p.Nodes,
            p.VcpuPins,
            p.EmulatorCpus,
            p.IothreadPins,
            p.Memory,
            p.Devices,
            p.Reasons,
            p.Dedicated,
            p.Topology,
            p.GuestNodes,
            v.Uuid.ToString(),
            v.Accel,
            v.Machine,
            v.CpuModel,
            v.MemoryKib,
            v.HugepageKib,
            v.Decisions,
            v.LostInLibvirt.ToList()
        );
    }

    public static string Text(ResolvedPlan plan)
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
                    $", guest topology {vm.Topology.Sockets} socket x {vm.Topology.Cores} cores x "
                        + $"{vm.Topology.Threads} threads"
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
