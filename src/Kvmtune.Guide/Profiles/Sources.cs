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

    private static readonly IReadOnlyDictionary<string, SettingSource> BySetting = new Dictionary<string, SettingSource>
    {
        ["bios.virtualization"] = new("2.1", ["libvirt virt-host-validate (hardware virtualization, /dev/kvm)"], "all"),
        ["bios.vtd"] = new(
            "2.1",
            [KernelParams + " (intel_iommu=on, iommu=pt; amd_iommu has no 'on', AMD-Vi is on by default)"],
            "all"
        ),
        ["bios.hyperthreading"] = new(
            "2.1",
            [KernelParams + " (nosmt)", "/sys/devices/system/cpu/smt (Linux 4.19+)"],
            "all"
        ),
        ["bios.turbo"] = new("2.1", ["Documentation/admin-guide/pm/intel_pstate.rst (no_turbo)"], "all"),
        ["bios.energy_policy"] = new(
            "2.1",
            ["Documentation/admin-guide/pm/intel_pstate.rst (energy_performance_preference)"],
            "4.10+ for EPP"
        ),
        ["bios.cstates"] = new(
            "2.1, 3.2.4",
            [
                "drivers/idle/intel_idle.c (state names: 'NHM-C6' in old kernels, 'C6-HSW'/'C1E-SKX' later, 'C6'/'C1E' "
                    + "now; MWAIT hint in desc)",
                "Documentation/admin-guide/pm/cpuidle.rst (stateN/disable)",
            ],
            "all; names vary by version"
        ),
        ["cpu.governor"] = new(
            "3.2.2",
            ["Documentation/admin-guide/pm/cpufreq.rst", "TuneD virtual-host: governor=performance"],
            "all"
        ),
        ["kernel.idle_poll"] = new(
            "3.2.4",
            [KernelParams + " (idle=poll: 'not recommended', burns the CPU and its SMT sibling)"],
            "all"
        ),
        ["kvm.ple"] = new(
            "3.2.4",
            ["arch/x86/kvm/vmx/vmx.c (ple_gap, ple_window)", "arch/x86/kvm/svm/svm.c (pause_filter_count)"],
            "all"
        ),
        ["memory.thp"] = new(
            "3.2.3",
            [
                "Documentation/admin-guide/mm/transhuge.rst",
                "TuneD virtual-host: always; TuneD network-latency (under realtime-virtual-host): never",
            ],
            "all"
        ),
        ["memory.hugepages.size"] = new(
            "3.2.3",
            ["Documentation/admin-guide/mm/hugetlbpage.rst", KernelParams + " (hugepagesz=1G needs pdpe1gb)"],
            "all"
        ),
        ["memory.hugepages.percent"] = new(
            "3.2.3",
            [
                KernelParams + " (hugepages=N; node format N:M only from Linux 5.16)",
                "/sys/devices/system/node/nodeN/hugepages (per-node pools)",
            ],
            "all; per-node boot syntax 5.16+"
        ),
        ["memory.hugetlbfs"] = new(
            "3.2.3",
            [
                "Documentation/admin-guide/mm/hugetlbpage.rst (pagesize= mount option)",
                "QEMU -mem-path / memory-backend-file",
            ],
            "all"
        ),
        ["memory.ksm"] = new(
            "3.2.5",
            [
                "Documentation/admin-guide/mm/ksm.rst (run=0/1/2)",
                "TuneD realtime-virtual-host: /sys/kernel/mm/ksm/run = 2",
                "ksmtuned manages ksmd where it runs",
            ],
            "all"
        ),
        ["memory.ksm.pages_to_scan"] = new(
            "3.2.5",
            ["Documentation/admin-guide/mm/ksm.rst (pages_to_scan)", "ksmtuned.conf (KSM_NPAGES_*) when ksmtuned runs"],
            "all"
        ),
        ["memory.ksm.sleep_millisecs"] = new(
            "3.2.5",
            [
                "Documentation/admin-guide/mm/ksm.rst (sleep_millisecs)",
                "ksmtuned.conf (KSM_SLEEP_MSEC) when ksmtuned runs",
            ],
            "all"
        ),
        ["kvm.halt_poll_ns"] = new(
            "3.2.6",
            [
                "Documentation/virt/kvm/halt-polling.rst (tune by experiment; no effect when the guest idles without "
                    + "HLT exits, cpu-pm=on)",
            ],
            "4.3+"
        ),
        ["kvm.halt_poll_ns_grow"] = new(
            "3.2.6",
            ["Documentation/virt/kvm/halt-polling.rst (halt_poll_ns_grow, default 2)"],
            "4.3+"
        ),
        ["kvm.halt_poll_ns_shrink"] = new(
            "3.2.6",
            ["Documentation/virt/kvm/halt-polling.rst (halt_poll_ns_shrink; 0 resets)"],
            "4.3+"
        ),
        ["kernel.nohz_full"] = new(
            "3.2.7",
            [
                "Documentation/timers/no_hz.rst",
                "kernel/rcu/tree_nocb.h rcu_init_nohz (nohz_full implies rcu_nocbs)",
                "arch/x86/kvm/lapic.c kvm_can_post_timer_interrupt (pi_inject_timer, APICv, HLT/MWAIT in guest)",
                "TuneD realtime-virtual-host: nohz_full, rcu_nocbs; realtime: isolcpus=managed_irq,domain",
            ],
            "all; managed_irq 5.6+"
        ),
        ["numa.balancing"] = new(
            "3.2.1",
            [
                "Documentation/admin-guide/sysctl/kernel.rst (numa_balancing)",
                "TuneD network-latency: kernel.numa_balancing=0",
            ],
            "3.8+"
        ),
        ["numa.irq_affinity"] = new(
            "3.2.1",
            [
                "Documentation/core-api/irq/irq-affinity.rst",
                "kernel/irq/manage.c irq_can_set_affinity_usr (managed IRQs: EIO)",
                "kernel/irq/debugfs.c (IRQD_AFFINITY_MANAGED)",
                "TuneD realtime: [irqbalance] banned_cpus=isolated cores",
            ],
            "all"
        ),
        ["qemu.mem_lock"] = new(
            "3.3.1",
            [
                "QEMU -overcommit mem-lock=on (qemu-options.hx)",
                "mm/mlock.c can_do_mlock (CAP_IPC_LOCK)",
                "libvirt <memoryBacking><locked/>",
            ],
            "all"
        ),
        ["qemu.cpu_pm"] = new(
            "3.3.1",
            ["QEMU -overcommit cpu-pm=on (qemu-options.hx: dedicated host CPUs only)"],
            "QEMU 3.0+"
        ),
        ["qemu.overcommit"] = new("3.3.1", ["QEMU -overcommit (qemu-options.hx)"], "all"),
        ["vhost.zerocopy_tx"] = new(
            "3.3.3",
            ["drivers/vhost/net.c (experimental_zcopytx, off by default since commit 098eadce3c62, Linux 5.3, 2019)"],
            "5.3+ default off"
        ),
        ["guest.halt_poll_ns"] = new(
            "3.4.1",
            [
                "Documentation/virt/guest-halt-polling.rst",
                "drivers/cpuidle/cpuidle-haltpoll.c (needs KVM_HINTS_REALTIME or force=1)",
                "QEMU -cpu ...,kvm-hint-dedicated=on; libvirt <hint-dedicated state='on'/>",
            ],
            "5.4+; force= 5.7+"
        ),
        ["guest.rq_affinity"] = new("3.4.2", ["Documentation/block/queue-sysfs.rst (rq_affinity=2)"], "all"),
        ["guest.net_queues"] = new(
            "3.3.3",
            ["Documentation/networking/scaling.rst", "QEMU virtio-net-pci mq=on, vectors=2N+2"],
            "all"
        ),
    };

    /// <summary>The source of a profile setting; every schema key has one.</summary>
    public static SettingSource For(string key) =>
        BySetting.TryGetValue(key, out var s)
            ? s
            : throw new KeyNotFoundException($"no source recorded for setting {key}");

    public static bool Has(string key) => BySetting.ContainsKey(key);

    // Finding id prefix -> the setting whose sources back it; the first match wins.
    private static readonly (string Prefix, string Setting)[] FindingSettings =
    [
        ("host.bios.vtx", "bios.virtualization"),
        ("host.vhv.hardware", "bios.virtualization"),
        ("host.vhv.kvm", "bios.virtualization"),
        ("host.bios.vtd", "bios.vtd"),
        ("host.vhv.iommu", "bios.vtd"),
        ("host.bios.ht", "bios.hyperthreading"),
        ("host.bios.turbo", "bios.turbo"),
        ("host.bios.power_policy", "bios.energy_policy"),
        ("host.bios.c1e", "bios.cstates"),
        ("host.bios.c6", "bios.cstates"),
        ("host.cpu.governor", "cpu.governor"),
        ("host.cpu.idle_poll", "kernel.idle_poll"),
        ("host.kvm.ple", "kvm.ple"),
        ("host.memory.thp", "memory.thp"),
        ("host.memory.hugepages", "memory.hugepages.percent"),
        ("host.memory.hugetlbfs", "memory.hugetlbfs"),
        ("host.memory.ksm_scan", "memory.ksm.pages_to_scan"),
        ("host.memory.ksm", "memory.ksm"),
        ("host.kvm.halt_poll_ns_grow", "kvm.halt_poll_ns_grow"),
        ("host.kvm.halt_poll_ns_shrink", "kvm.halt_poll_ns_shrink"),
        ("host.kvm.halt_poll_ns", "kvm.halt_poll_ns"),
        ("host.kvm.exitless_timer", "kernel.nohz_full"),
        ("host.kernel.nohz_full", "kernel.nohz_full"),
        ("host.kernel.isolation", "kernel.nohz_full"),
        ("conflict.nohz", "kernel.nohz_full"),
        ("host.numa.balancing", "numa.balancing"),
        ("conflict.numa_balancing", "numa.balancing"),
        ("host.numa.irq", "numa.irq_affinity"),
        ("host.qemu.memlock", "qemu.mem_lock"),
        ("conflict.ksm_memlock", "qemu.mem_lock"),
        ("conflict.cpupm", "qemu.cpu_pm"),
        ("host.qemu.zerocopy_tx", "vhost.zerocopy_tx"),
        ("guest.cpuidle.haltpoll", "guest.halt_poll_ns"),
        ("guest.haltpoll", "guest.halt_poll_ns"),
        ("guest.kernel.idle", "guest.halt_poll_ns"),
        ("conflict.guest_idle", "guest.halt_poll_ns"),
        ("guest.block.rq_affinity", "guest.rq_affinity"),
        ("guest.net.queues", "guest.net_queues"),
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
