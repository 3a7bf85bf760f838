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
    IReadOnlyList<LogicalCpu> Cpus
)
{
    public bool HasFlag(string flag) => Flags.Contains(flag, StringComparer.Ordinal);

    /// <summary>True where cpuinfo was read and lists flags (x86); null where flags are unknown.</summary>
    public bool? FlagKnown(string flag) => Flags.Count == 0 ? null : HasFlag(flag);

    public bool IsX86 => Architecture is "x86_64" or "i686";

    /// <summary>
    /// The given CPUs grouped into cores: each with its thread siblings among the given CPUs, in the order of each
    /// core's first CPU; a CPU whose siblings the kernel does not list is a core of its own. The one place cores are
    /// derived from thread_siblings (placement, the pictures, inspect and the sizing rule all use it).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>> CoresAmong(IReadOnlyCollection<int> cpus)
    {
        var cores = new List<IReadOnlyList<int>>();
        var seen = new HashSet<int>();
        foreach (var c in cpus)
        {
            if (!seen.Add(c))
                continue;
            int[] siblings =
                Find(c) is { ThreadSiblings: { } s } ? [.. s.Where(cpus.Contains)] : [c];
            // A tree whose sibling list leaves the CPU itself out (no kernel writes one) still gives it a core.
            if (!siblings.Contains(c))
                siblings = [c, .. siblings];
            seen.UnionWith(siblings);
            cores.Add(siblings);
        }
        return cores;
    }

    /// <summary>The CPU of an id: a binary search, as the reader lists CPUs by id (a dictionary of 3,072 CPUs for
    /// each of 32 nodes was most of placement's start), then a scan for a list made otherwise.</summary>
    private LogicalCpu? Find(int id)
    {
        int lo = 0,
            hi = Cpus.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + (hi - lo) / 2;
            var at = Cpus[mid].Id;
            if (at == id)
                return Cpus[mid];
            if (at < id)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        for (var i = 0; i < Cpus.Count; i++)
            if (Cpus[i].Id == id)
                return Cpus[i];
        return null;
    }
}

/// <summary>
/// One logical CPU (a hardware thread). Its frequency settings (seven files a CPU) are read when first asked for:
/// placement needs the topology of 3,072 CPUs, not their governors.
/// </summary>
public sealed record LogicalCpu(
    int Id,
    bool Online,
    int? Package,
    int? Die,
    int? Core,
    IReadOnlyList<int>? ThreadSiblings,
    int? Node
)
{
    private readonly Lazy<CpuFrequency> _frequency = new(CpuFrequency.None);

    public LogicalCpu(
        int id,
        bool online,
        int? package,
        int? die,
        int? core,
        IReadOnlyList<int>? threadSiblings,
        int? node,
        Func<CpuFrequency> frequency
    )
        : this(id, online, package, die, core, threadSiblings, node) => _frequency = new(frequency);

    public string? CpufreqDriver => _frequency.Value.Driver;
    public string? Governor => _frequency.Value.Governor;
    public IReadOnlyList<string>? AvailableGovernors => _frequency.Value.AvailableGovernors;
    public long? MinKhz => _frequency.Value.MinKhz;
    public long? MaxKhz => _frequency.Value.MaxKhz;
    public string? EnergyPerformancePreference => _frequency.Value.EnergyPerformancePreference;
    public int? EnergyPerfBias => _frequency.Value.EnergyPerfBias;

    /// <summary>Equal when the topology and the frequency settings are (each side reads its own).</summary>
    public bool Equals(LogicalCpu? other) =>
        other is not null
        && Id == other.Id
        && Online == other.Online
        && Package == other.Package
        && Die == other.Die
        && Core == other.Core
        && Node == other.Node
        && (ThreadSiblings ?? []).SequenceEqual(other.ThreadSiblings ?? [])
        && _frequency.Value.Equals(other._frequency.Value);

    public override int GetHashCode() => HashCode.Combine(Id, Package, Core, Node);
}

/// <summary>A CPU's cpufreq and energy settings; null where the kernel does not say.</summary>
public sealed record CpuFrequency(
    string? Driver,
    string? Governor,
    IReadOnlyList<string>? AvailableGovernors,
    long? MinKhz,
    long? MaxKhz,
    string? EnergyPerformancePreference,
    int? EnergyPerfBias
)
{
    public static CpuFrequency None() => new(null, null, null, null, null, null, null);

    public bool Equals(CpuFrequency? other) =>
        other is not null
        && Driver == other.Driver
        && Governor == other.Governor
        && (AvailableGovernors ?? []).SequenceEqual(other.AvailableGovernors ?? [])
        && MinKhz == other.MinKhz
        && MaxKhz == other.MaxKhz
        && EnergyPerformancePreference == other.EnergyPerformancePreference
        && EnergyPerfBias == other.EnergyPerfBias;

    public override int GetHashCode() => HashCode.Combine(Driver, Governor, MinKhz, MaxKhz);
}
