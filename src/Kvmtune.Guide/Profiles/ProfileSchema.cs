namespace Kvmtune.Guide.Profiles;

/// <summary>
/// Every setting a profile can hold, each declared once with its key, guide section and what it accepts. Rules read
/// a profile through these (<c>profile.Get(ProfileSchema.CpuGovernor)</c>); custom profiles may use only their keys.
/// </summary>
public static class ProfileSchema
{
    public static readonly ChoiceSetting<Need> BiosVirtualization = new(
        "bios.virtualization",
        "2.1",
        "Intel VT-x visible to the OS (vmx flag, kvm_intel loaded, /dev/kvm usable)",
        Choices.Needs
    );

    public static readonly ChoiceSetting<Need> BiosVtd = new(
        "bios.vtd",
        "2.1",
        "Intel VT-d: DMAR table from firmware, IOMMU enabled in the kernel (intel_iommu=on)",
        Choices.Needs
    );

    public static readonly ChoiceSetting<Toggle> BiosHyperthreading = new(
        "bios.hyperthreading",
        "2.1",
        "Hyper-Threading: SMT active",
        Choices.Toggles
    );

    public static readonly ChoiceSetting<Toggle> BiosTurbo = new(
        "bios.turbo",
        "2.1",
        "Turbo Boost available to the OS (no_turbo=0, boost=1)",
        Choices.Toggles
    );

    public static readonly ChoiceSetting<EnergyPolicy> BiosEnergyPolicy = new(
        "bios.energy_policy",
        "2.1",
        "CPU power and performance policy (EPP/EPB)",
        Choices.EnergyPolicies
    );

    public static readonly ChoiceSetting<Toggle> BiosCstates = new(
        "bios.cstates",
        "2.1",
        "C1E and C6: disabled in firmware or at runtime for the lowest wake-up latency",
        Choices.Toggles,
        [Toggle.Disabled, Toggle.Enabled, Toggle.Any]
    );

    public static readonly ChoiceSetting<Governor> CpuGovernor = new(
        "cpu.governor",
        "3.2.2",
        "CPUfreq scaling governor on every online CPU",
        Choices.Governors
    );

    public static readonly ChoiceSetting<IdlePollRequirement> KernelIdlePoll = new(
        "kernel.idle_poll",
        "3.2.4",
        "idle=poll on the host kernel command line: never enter C-states",
        Choices.IdlePollRequirements
    );

    public static readonly ChoiceSetting<Toggle> KvmPle = new(
        "kvm.ple",
        "3.2.4",
        "Pause Loop Exiting (kvm_intel ple_gap/ple_window)",
        Choices.Toggles,
        [Toggle.Disabled, Toggle.Enabled, Toggle.Any]
    );

    public static readonly ChoiceSetting<ThpMode> MemoryThp = new(
        "memory.thp",
        "3.2.3",
        "Transparent huge pages mode",
        Choices.ThpModes
    );

    public static readonly ChoiceSetting<HugePageSize> MemoryHugepagesSize = new(
        "memory.hugepages.size",
        "3.2.3",
        "Static huge page size for VM memory (1GiB needs the pdpe1gb CPU flag)",
        Choices.HugePageSizes
    );

    public static readonly IntegerSetting MemoryHugepagesPercent = new(
        "memory.hugepages.percent",
        "3.2.3",
        "Share of each node's memory reserved as static huge pages",
        min: 0,
        max: 95
    );

    public static readonly BoolSetting MemoryHugetlbfs = new(
        "memory.hugetlbfs",
        "3.2.3",
        "A hugetlbfs mount for each reserved page size"
    );

    public static readonly ChoiceSetting<KsmMode> MemoryKsm = new(
        "memory.ksm",
        "3.2.5",
        "Kernel Samepage Merging",
        Choices.KsmModes
    );

    public static readonly RangeSetting MemoryKsmPagesToScan = new(
        "memory.ksm.pages_to_scan",
        "3.2.5",
        "KSM pages scanned per wake-up",
        min: 1,
        max: 100_000
    );

    public static readonly RangeSetting MemoryKsmSleepMillisecs = new(
        "memory.ksm.sleep_millisecs",
        "3.2.5",
        "KSM sleep between scans (ms)",
        min: 0,
        max: 60_000
    );

    public static readonly RangeSetting KvmHaltPollNs = new(
        "kvm.halt_poll_ns",
        "3.2.6",
        "KVM halt polling time (ns)",
        min: 0,
        max: 100_000_000
    );

    public static readonly RangeSetting KvmHaltPollNsGrow = new(
        "kvm.halt_poll_ns_grow",
        "3.2.6",
        "Factor by which halt polling grows",
        min: 0,
        max: 100
    );

    public static readonly RangeSetting KvmHaltPollNsShrink = new(
        "kvm.halt_poll_ns_shrink",
        "3.2.6",
        "Divisor by which halt polling shrinks (0 resets)",
        min: 0,
        max: 100
    );

    public static readonly ChoiceSetting<Need> KernelNohzFull = new(
        "kernel.nohz_full",
        "3.2.7",
        "nohz_full on all CPUs but one housekeeping CPU per NUMA node",
        Choices.Needs,
        [Need.Required, Need.Any]
    );

    public static readonly ChoiceSetting<NumaBalancingMode> NumaBalancing = new(
        "numa.balancing",
        "3.2.1",
        "Automatic NUMA balancing: auto is on unless a device is bound to vfio-pci",
        Choices.NumaBalancingModes
    );

    public static readonly BoolSetting NumaIrqAffinity = new(
        "numa.irq_affinity",
        "3.2.1",
        "IRQs of node-local devices kept on their node"
    );

    public static readonly BoolSetting QemuMemLock = new(
        "qemu.mem_lock",
        "3.3.1",
        "VMs run with -overcommit mem-lock=on (needs a memlock limit)"
    );

    public static readonly BoolSetting QemuCpuPm = new(
        "qemu.cpu_pm",
        "3.3.1",
        "VMs run with -overcommit cpu-pm=on (dedicated CPUs only)"
    );

    public static readonly BoolSetting QemuOvercommit = new(
        "qemu.overcommit",
        "3.3.1",
        "This host overcommits CPUs and memory"
    );

    public static readonly BoolSetting VhostZerocopyTx = new(
        "vhost.zerocopy_tx",
        "3.3.3",
        "vhost_net experimental_zcopytx=1"
    );

    public static readonly RangeSetting GuestHaltPollNs = new(
        "guest.halt_poll_ns",
        "3.4.1",
        "Guest halt polling time, haltpoll guest_halt_poll_ns (ns)",
        min: 0,
        max: 100_000_000
    );

    public static readonly IntegerSetting GuestRqAffinity = new(
        "guest.rq_affinity",
        "3.4.2",
        "rq_affinity on multi-queue block devices in the guest",
        min: 0,
        max: 2
    );

    public static readonly ChoiceSetting<QueueCount> GuestNetQueues = new(
        "guest.net_queues",
        "3.3.3",
        "virtio-net queues in the guest: one per vCPU",
        Choices.QueueCounts
    );

    /// <summary>Every setting, in the order <c>profiles show</c> lists them. Declared after the settings: static
    /// fields initialize in text order.</summary>
    public static readonly IReadOnlyList<SettingDefinition> Settings =
    [
        BiosVirtualization,
        BiosVtd,
        BiosHyperthreading,
        BiosTurbo,
        BiosEnergyPolicy,
        BiosCstates,
        CpuGovernor,
        KernelIdlePoll,
        KvmPle,
        MemoryThp,
        MemoryHugepagesSize,
        MemoryHugepagesPercent,
        MemoryHugetlbfs,
        MemoryKsm,
        MemoryKsmPagesToScan,
        MemoryKsmSleepMillisecs,
        KvmHaltPollNs,
        KvmHaltPollNsGrow,
        KvmHaltPollNsShrink,
        KernelNohzFull,
        NumaBalancing,
        NumaIrqAffinity,
        QemuMemLock,
        QemuCpuPm,
        QemuOvercommit,
        VhostZerocopyTx,
        GuestHaltPollNs,
        GuestRqAffinity,
        GuestNetQueues,
    ];

    /// <summary>The setting a profile file names by its key, for YAML loading; null when there is none.</summary>
    public static SettingDefinition? Find(string key) => Settings.FirstOrDefault(s => s.Key == key);
}
