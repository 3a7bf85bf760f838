using System.Text.Json;
using System.Text.Json.Serialization;
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

/// <summary>The <c>kvmtune.plan/v1</c> document of a <see cref="ResolvedPlan"/>; every field comes from the model,
/// nothing is decided here.</summary>
public sealed class PlanJsonRenderer : IReportRenderer<ResolvedPlan>
{
    public string Name => "json";

    public string Description => "the kvmtune.plan/v1 document";

    public string Render(ResolvedPlan report, RenderContext context)
    {
        using var bytes = new MemoryStream();
        Write(report, context, bytes);
        return System.Text.Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
    }

    /// <summary>
    /// Streamed: the plan of 10,000 VMs is 28 MB, which as one growing buffer and one string cost a full collection
    /// at each doubling. The document's frame by hand, each VM through the generated serializer, the writer drained
    /// after each: byte for byte what serializing <see cref="PlanJson"/> whole writes.
    /// </summary>
    public void Write(ResolvedPlan report, RenderContext context, Stream utf8)
    {
        var types = VmJsonContext.Default;
        using (var w = new Utf8JsonWriter(utf8, JsonText.WriterOptions(types.Options)))
        {
            w.WriteStartObject();
            w.WriteString("schema", PlacementPlan.SchemaName);
            w.WritePropertyName("vms");
            w.WriteStartArray();
            foreach (var vm in report.Vms)
            {
                JsonText.Write(w, ToJson(vm), types.PlanVmJson);
                if (w.BytesPending > 1 << 16)
                    w.Flush();
            }
            w.WriteEndArray();
            w.WritePropertyName("unplaced");
            JsonText.Write(w, report.Unplaced, types.IReadOnlyListUnplacedVm);
            w.WritePropertyName("housekeeping_cpus");
            JsonText.Write(w, report.Housekeeping, types.IReadOnlyListInt32);
            w.WriteEndObject();
        }
        utf8.WriteByte((byte)'\n');
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
}
