using System.Text.RegularExpressions;

namespace Kvmtune.Guide;

/// <summary>
/// The only kernel paths kvmtune ever writes. A profile that names any other path, or a path with "..",
/// "." or doubled slashes in it, is refused before anything is written.
/// </summary>
public static partial class WriteAllowlist
{
    private static readonly Regex[] Patterns =
    [
        Thp(), Ksm(), Cpufreq(), Cpuidle(), Epb(), Pstate(), Boost(), NodeHugepages(), GlobalHugepages(), KvmParams(),
        HaltpollParams(), BlockQueue(), NumaBalancing(), IrqAffinity(), PciSriov(), PciAutoprobe(),
        PciDriverOverride(), PciDriverBind(),
    ];

    public static bool IsAllowed(string path, out string? reason)
    {
        reason = null;
        if (!path.StartsWith('/')) { reason = "the path is not absolute"; return false; }
        if (path.Split('/').Skip(1).Any(p => p is "" or "." or "..")) { reason = "the path has empty, '.' or '..' components"; return false; }
        if (path.Any(char.IsControl)) { reason = "the path has control characters"; return false; }
        if (Patterns.Any(p => p.IsMatch(path))) return true;
        reason = "kvmtune writes only the kernel tunables the guide names (THP, KSM, cpufreq, cpuidle, huge pages, KVM and haltpoll parameters, block queues, numa_balancing, IRQ affinity, SR-IOV and PCI driver binding)";
        return false;
    }

    /// <summary>
    /// Whether a kernel attribute that really lies at <paramref name="real"/> may be written for
    /// <paramref name="machinePath"/>: the real place is itself allowed, or it is the same-named attribute of a device
    /// under /sys/devices that a sysfs link such as /sys/block/sda or /sys/bus/pci/devices/X leads to.
    /// </summary>
    public static bool AcceptsRealPath(string machinePath, string real) =>
        real == machinePath || IsAllowed(real, out _)
        || (machinePath.StartsWith("/sys/", StringComparison.Ordinal) && real.StartsWith("/sys/devices/", StringComparison.Ordinal)
            && !real.Split('/').Any(p => p is "." or "..")
            && real[(real.LastIndexOf('/') + 1)..] == machinePath[(machinePath.LastIndexOf('/') + 1)..]);

    [GeneratedRegex(@"^/sys/kernel/mm/transparent_hugepage/(enabled|defrag)$")] private static partial Regex Thp();
    [GeneratedRegex(@"^/sys/kernel/mm/ksm/(run|pages_to_scan|sleep_millisecs|max_page_sharing|merge_across_nodes)$")] private static partial Regex Ksm();
    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/cpufreq/(scaling_governor|energy_performance_preference|scaling_min_freq|scaling_max_freq)$")] private static partial Regex Cpufreq();
    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/cpuidle/state[0-9]+/disable$")] private static partial Regex Cpuidle();
    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu[0-9]+/power/energy_perf_bias$")] private static partial Regex Epb();
    [GeneratedRegex(@"^/sys/devices/system/cpu/intel_pstate/(no_turbo|min_perf_pct|max_perf_pct|hwp_dynamic_boost)$")] private static partial Regex Pstate();
    [GeneratedRegex(@"^/sys/devices/system/cpu/cpufreq/boost$")] private static partial Regex Boost();
    [GeneratedRegex(@"^/sys/devices/system/node/node[0-9]+/hugepages/hugepages-[0-9]+kB/nr_hugepages$")] private static partial Regex NodeHugepages();
    [GeneratedRegex(@"^/sys/kernel/mm/hugepages/hugepages-[0-9]+kB/nr_hugepages$")] private static partial Regex GlobalHugepages();
    [GeneratedRegex(@"^/sys/module/kvm/parameters/halt_poll_ns(_grow|_shrink|_grow_start)?$")] private static partial Regex KvmParams();
    [GeneratedRegex(@"^/sys/module/haltpoll/parameters/guest_halt_poll_(ns|grow|shrink|grow_start|allow_shrink)$")] private static partial Regex HaltpollParams();
    [GeneratedRegex(@"^/sys/block/[A-Za-z0-9_.:-]+/queue/(rq_affinity|scheduler|nomerges)$")] private static partial Regex BlockQueue();
    [GeneratedRegex(@"^/proc/sys/kernel/numa_balancing$")] private static partial Regex NumaBalancing();
    [GeneratedRegex(@"^/proc/irq/[0-9]+/smp_affinity_list$")] private static partial Regex IrqAffinity();
    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_numvfs$")] private static partial Regex PciSriov();
    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_drivers_autoprobe$")]
    private static partial Regex PciAutoprobe();
    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/driver_override$")] private static partial Regex PciDriverOverride();
    [GeneratedRegex(@"^/sys/bus/pci/drivers/[A-Za-z0-9_-]+/(bind|unbind|new_id|remove_id)$")] private static partial Regex PciDriverBind();
}
