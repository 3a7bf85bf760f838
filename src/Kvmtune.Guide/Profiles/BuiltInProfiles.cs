namespace Kvmtune.Guide.Profiles;

/// <summary>
/// The four built-in profiles. Values come from the guide and the kernel documentation
/// (Documentation/virt/kvm/halt-polling.rst, admin-guide/mm/ksm.rst, timers/no_hz.rst); each says why.
/// </summary>
public static class BuiltInProfiles
{
    public const string Default = "balanced";

    public static IReadOnlyList<string> Names { get; } = ["balanced", "latency", "throughput", "density"];

    private static readonly IReadOnlyDictionary<string, string> Descriptions = new Dictionary<string, string>
    {
        ["balanced"] = "The default: what helps every KVM host and guest, with nothing that costs much power or memory",
        ["latency"] =
            "Dedicated CPUs, no overcommit: idle=poll, PLE off, KSM off, nohz_full, 1 GiB pages, long halt polling",
        ["throughput"] = "Performance governor, huge pages, THP, multi-queue virtio and io_uring; C-states allowed",
        ["density"] =
            "Overcommitted hosts: KSM on, no static huge pages, PLE on, short halt polling, NUMA balancing on",
    };

    // key -> (balanced, latency, throughput, density, reason)
    private static readonly (
        string Key,
        string Balanced,
        string Latency,
        string Throughput,
        string Density,
        string Reason
    )[] Table =
    [
        (
            "bios.virtualization",
            "required",
            "required",
            "required",
            "required",
            "KVM needs VT-x; without it QEMU falls back to emulation (guide 2.1)"
        ),
        (
            "bios.vtd",
            "recommended",
            "required",
            "recommended",
            "recommended",
            "VT-d is needed to pass devices through (vfio) and for posted interrupts (guide 2.1, 5)"
        ),
        (
            "bios.hyperthreading",
            "enabled",
            "enabled",
            "enabled",
            "enabled",
            "The guide enables Hyper-Threading: more schedulable CPUs per core for VMs (guide 2.1)"
        ),
        (
            "bios.turbo",
            "enabled",
            "enabled",
            "enabled",
            "enabled",
            "Turbo Boost raises frequency on demand (guide 2.1)"
        ),
        (
            "bios.energy_policy",
            "balance_performance",
            "performance",
            "performance",
            "any",
            "The guide sets the CPU power policy to Performance; balanced accepts balance_performance to save power " +
                "(guide 2.1)"
        ),
        (
            "bios.cstates",
            "any",
            "disabled",
            "any",
            "any",
            "Deep C-states (C1E, C6) add wake-up latency; the latency profile disables them, others trade latency " +
                "for power (guide 2.1, 3.2.4)"
        ),
        (
            "cpu.governor",
            "performance",
            "performance",
            "performance",
            "any",
            "The performance governor keeps CPUs at the highest frequency (guide 3.2.2)"
        ),
        (
            "kernel.idle_poll",
            "any",
            "required",
            "any",
            "forbidden",
            "idle=poll avoids C-state exits for latency but burns a whole CPU each; never on an overcommitted host " +
                "(guide 3.2.4)"
        ),
        (
            "kvm.ple",
            "any",
            "disabled",
            "any",
            "enabled",
            "PLE exits cost latency for dedicated vCPUs but save CPU time when vCPUs are overcommitted (guide 3.2.4)"
        ),
        (
            "memory.thp",
            "always",
            "never",
            "always",
            "madvise",
            "THP cuts TLB misses without reservation (TuneD virtual-host: always); latency backs VMs with static 1 "
                + "GiB pages and turns THP off against khugepaged and compaction stalls (TuneD network-latency, "
                + "included by realtime-virtual-host: never); density uses madvise since KSM cannot merge huge "
                + "pages (guide 3.2.3, 3.2.5)"
        ),
        (
            "memory.hugepages.size",
            "none",
            "1GiB",
            "1GiB",
            "none",
            "Static 1 GiB pages give the fewest TLB misses; density keeps memory flexible for overcommit (guide 3.2.3)"
        ),
        (
            "memory.hugepages.percent",
            "0",
            "50",
            "50",
            "0",
            "Half of each node's memory as static huge pages for VMs, leaving the rest to the host (guide 3.2.3)"
        ),
        (
            "memory.hugetlbfs",
            "false",
            "true",
            "true",
            "false",
            "QEMU's -mem-path needs a hugetlbfs mount of the pool's page size (guide 3.2.3)"
        ),
        (
            "memory.ksm",
            "any",
            "off",
            "off",
            "on",
            "KSM saves memory on dense hosts but scanning costs CPU and merging adds latency (guide 3.2.5)"
        ),
        (
            "memory.ksm.pages_to_scan",
            "1-100000",
            "1-100000",
            "1-100000",
            "100-5000",
            "Density scans enough pages to find duplicates without hogging a CPU (kernel admin-guide/mm/ksm)"
        ),
        (
            "memory.ksm.sleep_millisecs",
            "0-60000",
            "0-60000",
            "0-60000",
            "10-200",
            "Density wakes ksmd often enough to keep merging (kernel admin-guide/mm/ksm)"
        ),
        (
            "kvm.halt_poll_ns",
            "50000-500000",
            "400000-2000000",
            "100000-400000",
            "0-50000",
            "Longer polling lowers wake-up latency but spends host CPU; short or none on overcommitted hosts (guide " +
                "3.2.6)"
        ),
        (
            "kvm.halt_poll_ns_grow",
            "2-4",
            "2-4",
            "2-4",
            "2-4",
            "The kernel doubles the poll window on success; larger factors overshoot (kernel virt/kvm/halt-polling)"
        ),
        (
            "kvm.halt_poll_ns_shrink",
            "0-4",
            "0-4",
            "0-4",
            "0-4",
            "Shrinking the window on failed polls keeps idle vCPUs cheap (kernel virt/kvm/halt-polling)"
        ),
        (
            "kernel.nohz_full",
            "any",
            "required",
            "any",
            "any",
            "nohz_full moves housekeeping and timer ticks off VM CPUs, enabling the exitless local APIC timer (guide " +
                "3.2.7)"
        ),
        (
            "numa.balancing",
            "auto",
            "off",
            "auto",
            "on",
            "Automatic balancing helps unpinned VMs; pinned or passthrough VMs want manual placement (guide 3.2.1)"
        ),
        (
            "numa.irq_affinity",
            "true",
            "true",
            "true",
            "false",
            "IRQs of a device are best handled on the device's node (guide 3.2.1)"
        ),
        (
            "qemu.mem_lock",
            "false",
            "true",
            "false",
            "false",
            "Locked guest memory removes page-fault jitter when memory is not overcommitted (guide 3.3.1)"
        ),
        (
            "qemu.cpu_pm",
            "false",
            "true",
            "false",
            "false",
            "cpu-pm=on lets dedicated vCPUs idle without exits (guide 3.3.1)"
        ),
        (
            "qemu.overcommit",
            "false",
            "false",
            "false",
            "true",
            "Whether VMs on this host share CPUs and memory (guide 3.3.1)"
        ),
        (
            "vhost.zerocopy_tx",
            "false",
            "false",
            "false",
            "false",
            "The guide (3.3.3) enables experimental_zcopytx; the kernel turned it off by default in 2019 (Linux 5.3, "
                + "commit 098eadce3c62 'vhost_net: disable zerocopy by default', backported to 4.19): head-of-line "
                + "blocking, and the copy path with batching and XDP is faster for small packets"
        ),
        (
            "guest.halt_poll_ns",
            "50000-200000",
            "50000-400000",
            "10000-200000",
            "0-50000",
            "Guest halt polling avoids a VM exit per idle period; it costs host CPU on overcommitted hosts (guide " +
                "3.4.1)"
        ),
        (
            "guest.rq_affinity",
            "2",
            "2",
            "2",
            "2",
            "rq_affinity=2 completes I/O on the submitting vCPU, spreading completions (guide 3.4.2)"
        ),
        (
            "guest.net_queues",
            "per_vcpu",
            "per_vcpu",
            "per_vcpu",
            "any",
            "One virtio-net queue per vCPU spreads packet processing (guide 3.3.3)"
        ),
    ];

    public static Profile? Get(string name)
    {
        var column = Array.IndexOf(Names.ToArray(), name);
        if (column < 0)
            return null;
        var settings = new Dictionary<string, ProfileSetting>(StringComparer.Ordinal);
        foreach (var row in Table)
        {
            var def =
                ProfileSchema.Find(row.Key)
                ?? throw new InvalidOperationException($"built-in profile names unknown setting {row.Key}");
            var text = column switch
            {
                0 => row.Balanced,
                1 => row.Latency,
                2 => row.Throughput,
                _ => row.Density,
            };
            var value =
                ProfileSchema.Parse(def, text, out var error)
                ?? throw new InvalidOperationException($"built-in {name}.{row.Key}: {error}");
            settings[row.Key] = new ProfileSetting(def, value, row.Reason, name);
        }
        return new Profile(name, Descriptions[name], null, settings, new Dictionary<string, string>(), null);
    }
}
