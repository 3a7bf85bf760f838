namespace Kvmtune.Vms;

public sealed record VcpuPin(int Vcpu, IReadOnlyList<int> Cpus);

public sealed record IothreadPin(string Iothread, IReadOnlyList<int> Cpus);

public sealed record MemoryPlacement(int Node, long SizeKib, long PageSizeKib);

public sealed record DevicePlacement(string Kind, string Id, int? Node);

public sealed record GuestTopology(int Sockets, int Cores, int Threads);

/// <summary>A guest NUMA node and the host node whose memory backs it.</summary>
public sealed record GuestNode(int Id, int HostNode, IReadOnlyList<int> Vcpus, long MemoryKib);

/// <summary>Where one VM runs, and why.</summary>
public sealed record PlannedVm(
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
    IReadOnlyList<GuestNode> GuestNodes
);

/// <summary>A VM that does not fit: why, and what would make it fit (a kvmtune command where there is one).</summary>
public sealed record UnplacedVm(string Name, string Reason, IReadOnlyList<PlanFix>? Fixes = null);

/// <summary>What would make a VM fit: a sentence, and the command (an argument vector) that does it.</summary>
public sealed record PlanFix(string Text, IReadOnlyList<string>? Command);

public sealed record PlacementPlan(string Schema, IReadOnlyList<PlannedVm> Vms, IReadOnlyList<UnplacedVm> Unplaced)
{
    public const string SchemaName = "kvmtune.plan/v1";
}
