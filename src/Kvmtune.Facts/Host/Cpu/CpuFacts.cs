namespace Kvmtune.Facts.Host.Cpu;

/// <summary>The processors as the kernel describes them. Null means the kernel files did not say.</summary>
public sealed record CpuFacts(
    string? Architecture,
    string? Vendor,
    string? Model,
    int? Family,
    int? ModelNumber,
    IReadOnlyList<string> Flags,
    string? Virtualization,
    int? Packages,
    int? Dies,
    int? Cores,
    int? Threads,
    IReadOnlyList<int> Online,
    IReadOnlyList<int> Offline,
    IReadOnlyList<int>? Present,
    IReadOnlyList<int>? Possible,
    bool? SmtActive,
    string? SmtControl,
    IReadOnlyList<LogicalCpu> Cpus)
{
    public bool HasFlag(string flag) => Flags.Contains(flag, StringComparer.Ordinal);

    /// <summary>True where cpuinfo was read and lists flags (x86); null where flags are unknown.</summary>
    public bool? FlagKnown(string flag) => Flags.Count == 0 ? null : HasFlag(flag);

    public bool IsX86 => Architecture is "x86_64" or "i686";
}

/// <summary>One logical CPU (a hardware thread).</summary>
public sealed record LogicalCpu(
    int Id,
    bool Online,
    int? Package,
    int? Die,
    int? Core,
    IReadOnlyList<int>? ThreadSiblings,
    int? Node,
    string? CpufreqDriver,
    string? Governor,
    IReadOnlyList<string>? AvailableGovernors,
    long? MinKhz,
    long? MaxKhz,
    string? EnergyPerformancePreference,
    int? EnergyPerfBias);
