namespace Kvmtune.Guide.Profiles;

/// <summary>
/// Where a setting's value comes from beyond the guide: the kernel, QEMU, libvirt or TuneD text that confirms or
/// corrects it, and the kernels it applies to. Paths are in the Linux tree unless they name another project.
/// </summary>
public sealed record SettingSource(string Guide, IReadOnlyList<string> References, string Kernels)
{
    public string Text => $"guide {Guide}; {string.Join("; ", References)}; kernels: {Kernels}";
}

/// <summary>The sources of every profile setting, and of the findings that judge them.</summary>
public static class Sources
{
    private const string KernelParams = "Documentation/admin-guide/kernel-parameters.txt";

    private static readonly IReadOnlyDictionary<SettingDefinition, SettingSource> BySetting = new Dictionary<
        SettingDefinition,
        SettingSource
    >
    {
        [ProfileSchema.BiosVirtualization] = new(
            "2.1",
            ["libvirt virt-host-validate (hardware virtualization, /dev/kvm)"],
            "all"
        ),
        [ProfileSchema.BiosVtd] = new(
            "2.1",
            [KernelParams + " (intel_iommu=on, iommu=pt; amd_iommu has no 'on', AMD-Vi is on by default)"],
            "all"
        ),
        [ProfileSchema.BiosHyperthreading] = new(
            "2.1",
            [KernelParams + " (nosmt)", "/sys/devices/system/cpu/smt (Linux 4.19+)"],
            "all"
        ),
        [ProfileSchema.BiosTurbo] = new("2.1", ["Documentation/admin-guide/pm/intel_pstate.rst (no_turbo)"], "all"),
        [ProfileSchema.BiosEnergyPolicy] = new(
            "2.1",
            ["Documentation/admin-guide/pm/intel_pstate.rst (energy_performance_preference)"],
            "4.10+ for EPP"
        ),
        [ProfileSchema.BiosCstates] = new(
            "2.1, 3.2.4",
            [
                "drivers/idle/intel_idle.c (state names: 'NHM-C6' in old kernels, 'C6-HSW'/'C1E-SKX' later, 'C6'/'C1E' "
                    + "now; MWAIT hint in desc)",
                "Documentation/admin-guide/pm/cpuidle.rst (stateN/disable)",
            ],
            "all; names vary by version"
        ),
        [ProfileSchema.CpuGovernor] = new(
            "3.2.2",
            ["Documentation/admin-guide/pm/cpufreq.rst", "TuneD virtual-host: governor=performance"],
            "all"
        ),
        [ProfileSchema.KernelIdlePoll] = new(
            "3.2.4",
            [KernelParams + " (idle=poll: 'not recommended', burns the CPU and its SMT sibling)"],
            "all"
        ),
        [ProfileSchema.KvmPle] = new(
            "3.2.4",
            ["arch/x86/kvm/vmx/vmx.c (ple_gap, ple_window)", "arch/x86/kvm/svm/svm.c (pause_filter_count)"],
            "all"
        ),
        [ProfileSchema.MemoryThp] = new(
            "3.2.3",
            [
                "Documentation/admin-guide/mm/transhuge.rst",
                "TuneD virtual-host: always; TuneD network-latency (under realtime-virtual-host): never",
            ],
            "all"
        ),
        [ProfileSchema.MemoryHugepagesSize] = new(
            "3.2.3",
            ["Documentation/admin-guide/mm/hugetlbpage.rst", KernelParams + " (hugepagesz=1G needs pdpe1gb)"],
            "all"
        ),
        [ProfileSchema.MemoryHugepagesPercent] = new(
            "3.2.3",
            [
                KernelParams + " (hugepages=N; node format N:M only from Linux 5.16)",
                "/sys/devices/system/node/nodeN/hugepages (per-node pools)",
            ],
            "all; per-node boot syntax 5.16+"
        ),
        [ProfileSchema.MemoryHugetlbfs] = new(
            "3.2.3",
            [
                "Documentation/admin-guide/mm/hugetlbpage.rst (pagesize= mount option)",
                "QEMU -mem-path / memory-backend-file",
            ],
            "all"
        ),
        [ProfileSchema.MemoryKsm] = new(
            "3.2.5",
            [
                "Documentation/admin-guide/mm/ksm.rst (run=0/1/2)",
                "TuneD realtime-virtual-host: /sys/kernel/mm/ksm/run = 2",
                "ksmtuned manages ksmd where it runs",
            ],
            "all"
        ),
        [ProfileSchema.MemoryKsmPagesToScan] = new(
            "3.2.5",
            ["Documentation/admin-guide/mm/ksm.rst (pages_to_scan)", "ksmtuned.conf (KSM_NPAGES_*) when ksmtuned runs"],
            "all"
        ),
        [ProfileSchema.MemoryKsmSleepMillisecs] = new(
            "3.2.5",
            [
                "Documentation/admin-guide/mm/ksm.rst (sleep_millisecs)",
                "ksmtuned.conf (KSM_SLEEP_MSEC) when ksmtuned runs",
            ],
            "all"
        ),
        [ProfileSchema.KvmHaltPollNs] = new(
            "3.2.6",
            [
                "Documentation/virt/kvm/halt-polling.rst (tune by experiment; no effect when the guest idles without "
                    + "HLT exits, cpu-pm=on)",
            ],
            "4.3+"
        ),
        [ProfileSchema.KvmHaltPollNsGrow] = new(
            "3.2.6",
            ["Documentation/virt/kvm/halt-polling.rst (halt_poll_ns_grow, default 2)"],
            "4.3+"
        ),
        [ProfileSchema.KvmHaltPollNsShrink] = new(
            "3.2.6",
            ["Documentation/virt/kvm/halt-polling.rst (halt_poll_ns_shrink; 0 resets)"],
            "4.3+"
        ),
        [ProfileSchema.KernelNohzFull] = new(
            "3.2.7",
            [
                "Documentation/timers/no_hz.rst",
                "kernel/rcu/tree_nocb.h rcu_init_nohz (nohz_full implies rcu_nocbs)",
                "arch/x86/kvm/lapic.c kvm_can_post_timer_interrupt (pi_inject_timer, APICv, HLT/MWAIT in guest)",
                "TuneD realtime-virtual-host: nohz_full, rcu_nocbs; realtime: isolcpus=managed_irq,domain",
            ],
            "all; managed_irq 5.6+"
        ),
        [ProfileSchema.NumaBalancing] = new(
            "3.2.1",
            [
                "Documentation/admin-guide/sysctl/kernel.rst (numa_balancing)",
                "TuneD network-latency: kernel.numa_balancing=0",
            ],
            "3.8+"
        ),
        [ProfileSchema.NumaIrqAffinity] = new(
            "3.2.1",
            [
                "Documentation/core-api/irq/irq-affinity.rst",
                "kernel/irq/manage.c irq_can_set_affinity_usr (managed IRQs: EIO)",
                "kernel/irq/debugfs.c (IRQD_AFFINITY_MANAGED)",
                "TuneD realtime: [irqbalance] banned_cpus=isolated cores",
            ],
            "all"
        ),
        [ProfileSchema.QemuMemLock] = new(
            "3.3.1",
            [
                "QEMU -overcommit mem-lock=on (qemu-options.hx)",
                "mm/mlock.c can_do_mlock (CAP_IPC_LOCK)",
                "libvirt <memoryBacking><locked/>",
            ],
            "all"
        ),
        [ProfileSchema.QemuCpuPm] = new(
            "3.3.1",
            ["QEMU -overcommit cpu-pm=on (qemu-options.hx: dedicated host CPUs only)"],
            "QEMU 3.0+"
        ),
        [ProfileSchema.QemuOvercommit] = new("3.3.1", ["QEMU -overcommit (qemu-options.hx)"], "all"),
        [ProfileSchema.VhostZerocopyTx] = new(
            "3.3.3",
            ["drivers/vhost/net.c (experimental_zcopytx, off by default since commit 098eadce3c62, Linux 5.3, 2019)"],
            "5.3+ default off"
        ),
        [ProfileSchema.GuestHaltPollNs] = new(
            "3.4.1",
            [
                "Documentation/virt/guest-halt-polling.rst",
                "drivers/cpuidle/cpuidle-haltpoll.c (needs KVM_HINTS_REALTIME or force=1)",
                "QEMU -cpu ...,kvm-hint-dedicated=on; libvirt <hint-dedicated state='on'/>",
            ],
            "5.4+; force= 5.7+"
        ),
        [ProfileSchema.GuestRqAffinity] = new(
            "3.4.2",
            ["Documentation/block/queue-sysfs.rst (rq_affinity=2)"],
            "all"
        ),
        [ProfileSchema.GuestNetQueues] = new(
            "3.3.3",
            ["Documentation/networking/scaling.rst", "QEMU virtio-net-pci mq=on, vectors=2N+2"],
            "all"
        ),
    };

    /// <summary>The source of a profile setting; every schema setting has one.</summary>
    public static SettingSource For(SettingDefinition setting) =>
        BySetting.TryGetValue(setting, out var s)
            ? s
            : throw new KeyNotFoundException($"no source recorded for setting {setting.Key}");

    public static bool Has(SettingDefinition setting) => BySetting.ContainsKey(setting);

    // Finding id prefix -> the setting whose sources back it; the first match wins.
    private static readonly (string Prefix, SettingDefinition Setting)[] FindingSettings =
    [
        ("host.bios.vtx", ProfileSchema.BiosVirtualization),
        ("host.vhv.hardware", ProfileSchema.BiosVirtualization),
        ("host.vhv.kvm", ProfileSchema.BiosVirtualization),
        ("host.bios.vtd", ProfileSchema.BiosVtd),
        ("host.vhv.iommu", ProfileSchema.BiosVtd),
        ("host.bios.ht", ProfileSchema.BiosHyperthreading),
        ("host.bios.turbo", ProfileSchema.BiosTurbo),
        ("host.bios.power_policy", ProfileSchema.BiosEnergyPolicy),
        ("host.bios.c1e", ProfileSchema.BiosCstates),
        ("host.bios.c6", ProfileSchema.BiosCstates),
        ("host.cpu.governor", ProfileSchema.CpuGovernor),
        ("host.cpu.idle_poll", ProfileSchema.KernelIdlePoll),
        ("host.kvm.ple", ProfileSchema.KvmPle),
        ("host.memory.thp", ProfileSchema.MemoryThp),
        ("host.memory.hugepages", ProfileSchema.MemoryHugepagesPercent),
        ("host.memory.hugetlbfs", ProfileSchema.MemoryHugetlbfs),
        ("host.memory.ksm_scan", ProfileSchema.MemoryKsmPagesToScan),
        ("host.memory.ksm", ProfileSchema.MemoryKsm),
        ("host.kvm.halt_poll_ns_grow", ProfileSchema.KvmHaltPollNsGrow),
        ("host.kvm.halt_poll_ns_shrink", ProfileSchema.KvmHaltPollNsShrink),
        ("host.kvm.halt_poll_ns", ProfileSchema.KvmHaltPollNs),
        ("host.kvm.exitless_timer", ProfileSchema.KernelNohzFull),
        ("host.kernel.nohz_full", ProfileSchema.KernelNohzFull),
        ("host.kernel.isolation", ProfileSchema.KernelNohzFull),
        ("conflict.nohz", ProfileSchema.KernelNohzFull),
        ("host.numa.balancing", ProfileSchema.NumaBalancing),
        ("conflict.numa_balancing", ProfileSchema.NumaBalancing),
        ("host.numa.irq", ProfileSchema.NumaIrqAffinity),
        ("host.qemu.memlock", ProfileSchema.QemuMemLock),
        ("conflict.ksm_memlock", ProfileSchema.QemuMemLock),
        ("conflict.cpupm", ProfileSchema.QemuCpuPm),
        ("host.qemu.zerocopy_tx", ProfileSchema.VhostZerocopyTx),
        ("guest.cpuidle.haltpoll", ProfileSchema.GuestHaltPollNs),
        ("guest.haltpoll", ProfileSchema.GuestHaltPollNs),
        ("guest.kernel.idle", ProfileSchema.GuestHaltPollNs),
        ("conflict.guest_idle", ProfileSchema.GuestHaltPollNs),
        ("guest.block.rq_affinity", ProfileSchema.GuestRqAffinity),
        ("guest.net.queues", ProfileSchema.GuestNetQueues),
    ];

    /// <summary>The references behind a finding: its setting's sources, or none where the guide alone is the
    /// source.</summary>
    public static IReadOnlyList<string> ForFinding(string id)
    {
        foreach (var (prefix, setting) in FindingSettings)
            if (id.StartsWith(prefix, StringComparison.Ordinal))
                return [.. For(setting).References, "kernels: " + For(setting).Kernels];
        return [];
    }
}
