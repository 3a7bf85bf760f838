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

    private sealed record Entry(SettingDefinition Setting, SettingValue[] Values, string Reason);

    private static Entry Row<T>(ChoiceSetting<T> s, T balanced, T latency, T throughput, T density, string reason)
        where T : struct, Enum =>
        new(s, [s.Value(balanced), s.Value(latency), s.Value(throughput), s.Value(density)], reason);

    private static Entry Row(BoolSetting s, bool balanced, bool latency, bool throughput, bool density, string why) =>
        new(s, [.. new[] { balanced, latency, throughput, density }.Select(v => new BoolValue(v))], why);

    private static Entry Row(
        IntegerSetting s,
        long balanced,
        long latency,
        long throughput,
        long density,
        string why
    ) => new(s, [.. new[] { balanced, latency, throughput, density }.Select(v => new IntegerValue(v))], why);

    private static Entry Row(
        RangeSetting s,
        RangeValue balanced,
        RangeValue latency,
        RangeValue throughput,
        RangeValue density,
        string reason
    ) => new(s, [balanced, latency, throughput, density], reason);

    // setting, then its value in balanced, latency, throughput and density, and the reason
    private static readonly Entry[] Table =
    [
        Row(
            ProfileSchema.BiosVirtualization,
            Need.Required,
            Need.Required,
            Need.Required,
            Need.Required,
            "KVM needs VT-x; without it QEMU falls back to emulation (guide 2.1)"
        ),
        Row(
            ProfileSchema.BiosVtd,
            Need.Recommended,
            Need.Required,
            Need.Recommended,
            Need.Recommended,
            "VT-d is needed to pass devices through (vfio) and for posted interrupts (guide 2.1, 5)"
        ),
        Row(
            ProfileSchema.BiosHyperthreading,
            Toggle.Enabled,
            Toggle.Enabled,
            Toggle.Enabled,
            Toggle.Enabled,
            "The guide enables Hyper-Threading: more schedulable CPUs per core for VMs (guide 2.1)"
        ),
        Row(
            ProfileSchema.BiosTurbo,
            Toggle.Enabled,
            Toggle.Enabled,
            Toggle.Enabled,
            Toggle.Enabled,
            "Turbo Boost raises frequency on demand (guide 2.1)"
        ),
        Row(
            ProfileSchema.BiosEnergyPolicy,
            EnergyPolicy.BalancePerformance,
            EnergyPolicy.Performance,
            EnergyPolicy.Performance,
            EnergyPolicy.Any,
            "The guide sets the CPU power policy to Performance; balanced accepts balance_performance to save power " +
                "(guide 2.1)"
        ),
        Row(
            ProfileSchema.BiosCstates,
            Toggle.Any,
            Toggle.Disabled,
            Toggle.Any,
            Toggle.Any,
            "Deep C-states (C1E, C6) add wake-up latency; the latency profile disables them, others trade latency " +
                "for power (guide 2.1, 3.2.4)"
        ),
        Row(
            ProfileSchema.CpuGovernor,
            Governor.Performance,
            Governor.Performance,
            Governor.Performance,
            Governor.Any,
            "The performance governor keeps CPUs at the highest frequency (guide 3.2.2)"
        ),
        Row(
            ProfileSchema.KernelIdlePoll,
            IdlePollRequirement.Any,
            IdlePollRequirement.Required,
            IdlePollRequirement.Any,
            IdlePollRequirement.Forbidden,
            "idle=poll avoids C-state exits for latency but burns a whole CPU each; never on an overcommitted host " +
                "(guide 3.2.4)"
        ),
        Row(
            ProfileSchema.KvmPle,
            Toggle.Any,
            Toggle.Disabled,
            Toggle.Any,
            Toggle.Enabled,
            "PLE exits cost latency for dedicated vCPUs but save CPU time when vCPUs are overcommitted (guide 3.2.4)"
        ),
        Row(
            ProfileSchema.MemoryThp,
            ThpMode.Always,
            ThpMode.Never,
            ThpMode.Always,
            ThpMode.Madvise,
            "THP cuts TLB misses without reservation (TuneD virtual-host: always); latency backs VMs with static 1 "
                + "GiB pages and turns THP off against khugepaged and compaction stalls (TuneD network-latency, "
                + "included by realtime-virtual-host: never); density uses madvise since KSM cannot merge huge "
                + "pages (guide 3.2.3, 3.2.5)"
        ),
        Row(
            ProfileSchema.MemoryHugepagesSize,
            HugePageSize.None,
            HugePageSize.OneGiB,
            HugePageSize.OneGiB,
            HugePageSize.None,
            "Static 1 GiB pages give the fewest TLB misses; density keeps memory flexible for overcommit (guide 3.2.3)"
        ),
        Row(
            ProfileSchema.MemoryHugepagesPercent,
            0,
            50,
            50,
            0,
            "Half of each node's memory as static huge pages for VMs, leaving the rest to the host (guide 3.2.3)"
        ),
        Row(
            ProfileSchema.MemoryHugetlbfs,
            false,
            true,
            true,
            false,
            "QEMU's -mem-path needs a hugetlbfs mount of the pool's page size (guide 3.2.3)"
        ),
        Row(
            ProfileSchema.MemoryKsm,
            KsmMode.Any,
            KsmMode.Off,
            KsmMode.Off,
            KsmMode.On,
            "KSM saves memory on dense hosts but scanning costs CPU and merging adds latency (guide 3.2.5)"
        ),
        Row(
            ProfileSchema.MemoryKsmPagesToScan,
            new(1, 100_000),
            new(1, 100_000),
            new(1, 100_000),
            new(100, 5000),
            "Density scans enough pages to find duplicates without hogging a CPU (kernel admin-guide/mm/ksm)"
        ),
        Row(
            ProfileSchema.MemoryKsmSleepMillisecs,
            new(0, 60_000),
            new(0, 60_000),
            new(0, 60_000),
            new(10, 200),
            "Density wakes ksmd often enough to keep merging (kernel admin-guide/mm/ksm)"
        ),
        Row(
            ProfileSchema.KvmHaltPollNs,
            new(50_000, 500_000),
            new(400_000, 2_000_000),
            new(100_000, 400_000),
            new(0, 50_000),
            "Longer polling lowers wake-up latency but spends host CPU; short or none on overcommitted hosts (guide " +
                "3.2.6)"
        ),
        Row(
            ProfileSchema.KvmHaltPollNsGrow,
            new(2, 4),
            new(2, 4),
            new(2, 4),
            new(2, 4),
            "The kernel doubles the poll window on success; larger factors overshoot (kernel virt/kvm/halt-polling)"
        ),
        Row(
            ProfileSchema.KvmHaltPollNsShrink,
            new(0, 4),
            new(0, 4),
            new(0, 4),
            new(0, 4),
            "Shrinking the window on failed polls keeps idle vCPUs cheap (kernel virt/kvm/halt-polling)"
        ),
        Row(
            ProfileSchema.KernelNohzFull,
            Need.Any,
            Need.Required,
            Need.Any,
            Need.Any,
            "nohz_full moves housekeeping and timer ticks off VM CPUs, enabling the exitless local APIC timer (guide " +
                "3.2.7)"
        ),
        Row(
            ProfileSchema.NumaBalancing,
            NumaBalancingMode.Auto,
            NumaBalancingMode.Off,
            NumaBalancingMode.Auto,
            NumaBalancingMode.On,
            "Automatic balancing helps unpinned VMs; pinned or passthrough VMs want manual placement (guide 3.2.1)"
        ),
        Row(
            ProfileSchema.NumaIrqAffinity,
            true,
            true,
            true,
            false,
            "IRQs of a device are best handled on the device's node (guide 3.2.1)"
        ),
        Row(
            ProfileSchema.QemuMemLock,
            false,
            true,
            false,
            false,
            "Locked guest memory removes page-fault jitter when memory is not overcommitted (guide 3.3.1)"
        ),
        Row(
            ProfileSchema.QemuCpuPm,
            false,
            true,
            false,
            false,
            "cpu-pm=on lets dedicated vCPUs idle without exits (guide 3.3.1)"
        ),
        Row(
            ProfileSchema.QemuOvercommit,
            false,
            false,
            false,
            true,
            "Whether VMs on this host share CPUs and memory (guide 3.3.1)"
        ),
        Row(
            ProfileSchema.VhostZerocopyTx,
            false,
            false,
            false,
            false,
            "The guide (3.3.3) enables experimental_zcopytx; the kernel turned it off by default in 2019 (Linux 5.3, "
                + "commit 098eadce3c62 'vhost_net: disable zerocopy by default', backported to 4.19): head-of-line "
                + "blocking, and the copy path with batching and XDP is faster for small packets"
        ),
        Row(
            ProfileSchema.GuestHaltPollNs,
            new(50_000, 200_000),
            new(50_000, 400_000),
            new(10_000, 200_000),
            new(0, 50_000),
            "Guest halt polling avoids a VM exit per idle period; it costs host CPU on overcommitted hosts (guide " +
                "3.4.1)"
        ),
        Row(
            ProfileSchema.GuestRqAffinity,
            2,
            2,
            2,
            2,
            "rq_affinity=2 completes I/O on the submitting vCPU, spreading completions (guide 3.4.2)"
        ),
        Row(
            ProfileSchema.GuestNetQueues,
            QueueCount.PerVcpu,
            QueueCount.PerVcpu,
            QueueCount.PerVcpu,
            QueueCount.Any,
            "One virtio-net queue per vCPU spreads packet processing (guide 3.3.3)"
        ),
    ];

    public static Profile? Get(string name)
    {
        var column = Array.IndexOf(Names.ToArray(), name);
        if (column < 0)
            return null;
        var settings = new Dictionary<SettingDefinition, ProfileSetting>();
        foreach (var row in Table)
        {
            // Through the parser, so a built-in value obeys the limits a custom profile's must.
            var value =
                row.Setting.Parse(row.Values[column].Text, out var error)
                ?? throw new InvalidOperationException($"built-in {name}.{row.Setting.Key}: {error}");
            settings[row.Setting] = new ProfileSetting(row.Setting, value, row.Reason, name);
        }
        return new Profile(name, Descriptions[name], null, settings, new Dictionary<string, string>(), null);
    }
}
