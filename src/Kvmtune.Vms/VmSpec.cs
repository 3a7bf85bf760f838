namespace Kvmtune.Vms;

/// <summary>One VM as the administrator describes it; the workload fills in what is not given.</summary>
// Named members, not a positional list: the parser and the tests set what they mean, and an unset switch is off.
public sealed record VmSpec
{
    public required string Name { get; init; }
    public required int Vcpus { get; init; }
    public required long MemoryKib { get; init; }
    public required string Workload { get; init; }
    public bool DedicatedCpus { get; init; }
    public long? HugepageKib { get; init; }
    public int? NumaNode { get; init; }
    public IReadOnlyList<int>? Cpuset { get; init; }
    public IReadOnlyList<DiskSpec> Disks { get; init; } = [];
    public IReadOnlyList<NicSpec> Nics { get; init; } = [];
    public IReadOnlyList<PassthroughSpec> Passthrough { get; init; } = [];
    public IReadOnlyList<PmemSpec> Pmem { get; init; } = [];
    public bool MemLock { get; init; }
    public bool CpuPm { get; init; }
    public bool MemMerge { get; init; }
    public BootSpec? Boot { get; init; }
    public required string File { get; init; }
    public required long Line { get; init; }
    public int? GuestNumaNodes { get; init; }
}

/// <summary>A virtio-blk disk; Queues null: one per vCPU, capped by a block device's hardware queues.</summary>
public sealed record DiskSpec(
    string Path,
    string Format,
    string Cache,
    string Aio,
    int? Queues,
    bool Iothread,
    bool Packed
);

public sealed record NicSpec(
    string Type,
    string Ifname,
    int Queues,
    string? Mac,
    bool Vhost,
    long? PollUs,
    bool Packed,
    string? Link
);

public sealed record PassthroughSpec(string Pci);

public sealed record PmemSpec(string Path, long SizeBytes, long AlignBytes);

/// <summary>Direct kernel boot, for guests without a disk image (tests, appliances).</summary>
public sealed record BootSpec(string Kernel, string? Initrd, string? Append);

/// <summary>What each workload turns on by default (guide 3.3: overcommit, virtio, KSM).</summary>
public sealed record WorkloadDefaults(
    bool DedicatedCpus,
    string Hugepages,
    bool MemLock,
    bool CpuPm,
    bool MemMerge,
    string Aio,
    long? PollUs
)
{
    public static WorkloadDefaults For(string workload) =>
        workload switch
        {
            "latency" => new(true, "1GiB", true, true, false, "io_uring", 50000),
            "throughput" => new(false, "1GiB", false, false, false, "io_uring", null),
            _ => new(false, "none", false, false, true, "threads", null),
        };
}
