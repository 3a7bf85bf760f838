namespace Kvmtune.Facts.Host.Numa;

/// <summary>NUMA nodes, their CPUs, memory, distances and huge page pools.</summary>
public sealed record NumaFacts(IReadOnlyList<NumaNode> Nodes, int? NumaBalancing, bool Synthesized);

public sealed record NumaNode(
    int Id,
    IReadOnlyList<int> Cpus,
    long? MemoryTotalKib,
    long? MemoryFreeKib,
    IReadOnlyList<int>? Distances,
    IReadOnlyList<HugePagePool> Hugepages
);

/// <summary>A pool of huge pages of one size, on one node or machine-wide.</summary>
public sealed record HugePagePool(long SizeKib, long? Total, long? Free, long? Surplus);
