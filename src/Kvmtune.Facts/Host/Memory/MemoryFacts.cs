using Kvmtune.Facts.Host.Numa;

namespace Kvmtune.Facts.Host.Memory;

/// <summary>Machine-wide memory: totals, transparent and static huge pages, KSM.</summary>
public sealed record MemoryFacts(
    long? MemTotalKib,
    long? MemFreeKib,
    long? DefaultHugepageKib,
    IReadOnlyList<HugePagePool> HugepagePools,
    IReadOnlyList<HugetlbfsMount> HugetlbfsMounts,
    ThpFacts Thp,
    KsmFacts Ksm
)
{
    /// <summary>MemAvailable from /proc/meminfo: what can be allocated without swapping.</summary>
    public long? MemAvailableKib { get; init; }
}

public sealed record ThpFacts(
    string? Enabled,
    IReadOnlyList<string> EnabledOptions,
    string? Defrag,
    IReadOnlyList<string> DefragOptions
);

public sealed record KsmFacts(
    int? Run,
    long? PagesToScan,
    long? SleepMillisecs,
    long? MaxPageSharing,
    int? MergeAcrossNodes,
    long? PagesShared,
    long? PagesSharing,
    long? FullScans
);

/// <summary>A mounted hugetlbfs and the page size it serves (pagesize=, else the default size).</summary>
public sealed record HugetlbfsMount(string Path, long? PageSizeKib, string Options);
