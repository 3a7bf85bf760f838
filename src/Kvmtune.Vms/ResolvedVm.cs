namespace Kvmtune.Vms;

/// <summary>
/// One tuned VM, described once: the spec with the workload's defaults filled in, the host facts and the
/// installed QEMU taken into account, the plan's placement, and every decision with its reason. The QEMU command
/// line, the libvirt domain and the plan output are renderings of it; they decide nothing.
/// </summary>
public sealed record ResolvedVm(
    string Name,
    Guid Uuid,
    string Accel,
    string Machine,
    string CpuModel,
    bool HintDedicated,
    bool MemMerge,
    bool MemLock,
    bool CpuPm,
    long? LockLimitKib,
    int Vcpus,
    GuestTopology Topology,
    long MemoryKib,
    long? MaxMemoryKib,
    int MemorySlots,
    long? HugepageKib,
    IReadOnlyList<GuestMemory> Memory,
    IReadOnlyList<IReadOnlyList<int>>? Distances,
    IReadOnlyList<ResolvedDisk> Disks,
    IReadOnlyList<ResolvedNic> Nics,
    IReadOnlyList<ResolvedPmem> Pmem,
    IReadOnlyList<string> Passthrough,
    BootSpec? Boot,
    string? Emulator,
    PlannedVm Plan,
    IReadOnlyList<Decision> Decisions
)
{
    /// <summary>The decisions that change or drop something the spec or the workload asked for.</summary>
    public IEnumerable<string> Adjustments => Decisions.Where(d => d.Adjusted).Select(d => d.ToString());

    /// <summary>The -overcommit value: one option, as QEMU keeps only the last -overcommit it is given.</summary>
    public string? Overcommit =>
        (MemLock, CpuPm) switch
        {
            (true, true) => "mem-lock=on,cpu-pm=on",
            (true, false) => "mem-lock=on",
            (false, true) => "cpu-pm=on",
            _ => null,
        };

    /// <summary>Settings libvirt 9 has no element for: the domain loses them (or carries them as custom
    /// argv).</summary>
    public IEnumerable<string> LostInLibvirt =>
        Nics.Where(n => n.PollUs is not null)
            .Select(n =>
                $"nic {n.Index} ({n.Ifname}): poll-us={n.PollUs} (vhost busy polling) has no libvirt element; "
                + "the domain runs without it"
            );
}

/// <summary>A choice made while resolving a VM: what, and why; Adjusted where it differs from what was asked.</summary>
public sealed record Decision(string Subject, string Choice, string Why, bool Adjusted = false)
{
    public override string ToString() => $"{Subject}: {Choice} ({Why})";
}

/// <summary>A guest NUMA node: its vCPUs and the memory backend on its host node.</summary>
public sealed record GuestMemory(
    int GuestNode,
    int HostNode,
    IReadOnlyList<int> Vcpus,
    long SizeKib,
    string? MemPath,
    bool Prealloc
);

public sealed record ResolvedDisk(
    int Index,
    string Path,
    bool Block,
    string Format,
    string Cache,
    string Aio,
    int Queues,
    bool Packed,
    int? Iothread,
    bool Boot
);

public sealed record ResolvedNic(
    int Index,
    string Ifname,
    int Queues,
    string? Mac,
    bool Vhost,
    long? PollUs,
    bool Packed
)
{
    /// <summary>MSI-X vectors: one per queue each way, plus config and control (virtio-net).</summary>
    public int? Vectors => Queues > 1 ? 2 * Queues + 2 : null;
}

public sealed record ResolvedPmem(int Index, string Path, long SizeBytes, long AlignBytes, bool Dax, int GuestNode);
