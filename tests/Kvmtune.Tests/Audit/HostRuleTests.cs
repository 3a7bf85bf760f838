using AwesomeAssertions;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Guide;
using Kvmtune.Guide.Audit;
using Kvmtune.Tests.Support;
using static Kvmtune.Guide.Audit.FindingStatus;

namespace Kvmtune.Tests.Audit;

/// <summary>Each host rule in each of its states, on a synthetic Intel host changed one knob at a time.</summary>
public sealed class HostRuleTests
{
    private static FindingStatus Status(SyntheticHost h, string id, string profile = "balanced") =>
        AuditHarness.Run(h.Root, profile).Find(id).Status;

    [Fact]
    public void The_synthetic_host_is_a_host()
    {
        using var h = new SyntheticHost();
        AuditHarness.Run(h.Root).Role.Should().Be(MachineRole.Host);
    }

    [Fact]
    public void VtX_passes_with_vmx_kvm_intel_and_dev_kvm_and_fails_without_vmx()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.vtx").Should().Be(Pass);
        h.Remove("/dev/kvm");
        var f = AuditHarness.Run(h.Root).Find("host.bios.vtx");
        f.Status.Should().Be(Fail);
        f.Changes.Should().ContainSingle(c => c is ModuleLoad);
        h.Set("/proc/cpuinfo", File.ReadAllText(h.Tree.Physical("/proc/cpuinfo")).Replace(" vmx ", " "));
        AuditHarness.Run(h.Root).Find("host.bios.vtx").Changes.Should().ContainSingle(c => c is ManualStep);
    }

    [Fact]
    public void VtD_passes_with_dmar_and_groups_and_asks_for_intel_iommu_without_groups()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.vtd", "latency").Should().Be(Pass);
        foreach (var g in new[] { "0", "1", "7" })
            h.Remove($"/sys/kernel/iommu_groups/{g}");
        var f = AuditHarness.Run(h.Root, "latency").Find("host.bios.vtd");
        f.Status.Should().Be(Fail, "latency requires VT-d");
        f.Changes.OfType<KernelArgument>().Select(k => k.Text).Should().Equal("intel_iommu=on", "iommu=pt");
        Status(h, "host.bios.vtd", "balanced").Should().Be(Warn, "balanced only recommends it");
        h.Remove("/sys/firmware/acpi/tables/DMAR");
        AuditHarness.Run(h.Root, "latency").Find("host.bios.vtd").Changes.Should().Contain(c => c is ManualStep);
    }

    [Fact]
    public void Hyperthreading_passes_when_smt_is_active_and_warns_when_the_kernel_turned_it_off()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.ht").Should().Be(Pass);
        h.Set("/sys/devices/system/cpu/smt/active", "0").Set("/sys/devices/system/cpu/smt/control", "off");
        var f = AuditHarness.Run(h.Root).Find("host.bios.ht");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<KernelArgument>().Single().Should().Match<KernelArgument>(k => k.Key == "nosmt" && k.Remove);
    }

    [Fact]
    public void Numa_is_optimized_when_there_are_as_many_nodes_as_packages()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.numa").Should().Be(Pass);
        h.Set("/sys/devices/system/node/node0/cpulist", "0-7").Remove("/sys/devices/system/node/node1");
        Status(h, "host.bios.numa").Should().Be(Warn);
    }

    [Fact]
    public void Power_policy_reads_epp_and_writes_every_cpu_that_differs()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.power_policy", "balanced").Should().Be(Pass, "balance_performance is enough for balanced");
        var f = AuditHarness.Run(h.Root, "latency").Find("host.bios.power_policy");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<SysfsWrite>().Should().HaveCount(8).And.OnlyContain(w => w.Value == "performance");
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/energy_performance_preference", "performance");
        Status(h, "host.bios.power_policy", "latency").Should().Be(Pass);
    }

    [Fact]
    public void Turbo_passes_with_no_turbo_0_and_warns_with_1()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.turbo").Should().Be(Pass);
        h.Set("/sys/devices/system/cpu/intel_pstate/no_turbo", "1");
        var f = AuditHarness.Run(h.Root).Find("host.bios.turbo");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<SysfsWrite>().Single().Value.Should().Be("0");
    }

    [Fact]
    public void Energy_efficient_turbo_is_unknown_with_the_bios_path_as_the_fix()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root).Find("host.bios.eet");
        f.Status.Should().Be(Unknown);
        f.Fix.Persistent.Single().Should().Contain("Energy Efficient Turbo = Disabled");
    }

    [Fact]
    public void Hwp_native_mode_needs_the_hwp_flag_and_an_active_intel_pstate()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.hwp").Should().Be(Pass);
        h.Set("/sys/devices/system/cpu/intel_pstate/status", "passive");
        Status(h, "host.bios.hwp").Should().Be(Warn);
    }

    [Fact]
    public void SpeedStep_needs_a_cpufreq_driver()
    {
        using var h = new SyntheticHost();
        Status(h, "host.bios.speedstep").Should().Be(Pass);
        for (var c = 0; c < 8; c++)
            h.Remove($"/sys/devices/system/cpu/cpu{c}/cpufreq");
        Status(h, "host.bios.speedstep").Should().Be(Warn);
    }

    [Fact]
    public void C1e_and_c6_warn_for_latency_while_enabled_and_pass_once_disabled_on_every_cpu()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.bios.c1e").Status.Should().Be(Warn, "a latency cost, not a fault");
        r.Find("host.bios.c6")
            .Changes.OfType<SysfsWrite>()
            .Select(w => w.Path)
            .Should()
            .HaveCount(8)
            .And.Contain("/sys/devices/system/cpu/cpu5/cpuidle/state3/disable");
        AuditHarness.Run(h.Root, "balanced").Find("host.bios.c6").Status.Should().Be(Info, "balanced allows C-states");
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpuidle/state2/disable", "1");
        AuditHarness.Run(h.Root, "latency").Find("host.bios.c1e").Status.Should().Be(Pass);
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpuidle/state3/name", "C7");
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpuidle/state3/desc", "MWAIT 0x30");
        AuditHarness
            .Run(h.Root, "latency")
            .Find("host.bios.c6")
            .Status.Should()
            .Be(
                Unknown,
                "a state intel_idle does not list may be off in firmware, cut by max_cstate, or absent from the model: "
                    + "no proof"
            );
    }

    [Fact]
    public void Sizing_counts_vms_per_node_bounded_by_threads_or_memory()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root, size: VmSize.Parse("2c4g"));
        r.Find("host.sizing.nodes")
            .Current.Should()
            .Be("node 0: 2 cores, 4 threads, 16 GiB; node 1: 2 cores, 4 threads, 16 GiB");
        // 4 threads / 2 = 2 per node; 16 GiB * 0.9 / 4 GiB = 3: bounded by threads
        r.Find("host.sizing.vm_fit")
            .Current.Should()
            .StartWith("4 in all")
            .And.Contain("node 0: 2 (bounded by threads)");
        AuditHarness
            .Run(h.Root, size: VmSize.Parse("1c8g"))
            .Find("host.sizing.vm_fit")
            .Current.Should()
            .StartWith("2 in all")
            .And.Contain("bounded by memory");
    }

    [Fact]
    public void Numa_balancing_is_wanted_on_until_a_device_is_bound_to_vfio()
    {
        using var h = new SyntheticHost();
        Status(h, "host.numa.balancing").Should().Be(Pass);
        Status(h, "host.numa.balancing", "latency").Should().Be(Warn, "latency places VMs by hand");
        h.AddPci("0000:31:00.1", "0x020000", "0x8086", "0x1889", 1, "vfio-pci", 9);
        var r = AuditHarness.Run(h.Root);
        r.Find("host.numa.balancing").Status.Should().Be(Warn);
        r.Find("host.numa.balancing").Changes.OfType<SysfsWrite>().Single().Value.Should().Be("0");
        r.Find("conflict.numa_balancing_vfio").Status.Should().Be(Warn);
    }

    [Fact]
    public void Irqs_of_a_node_local_nic_must_stay_on_its_node()
    {
        using var h = new SyntheticHost();
        Status(h, "host.numa.irq_affinity").Should().Be(Pass);
        h.Set("/proc/irq/121/effective_affinity_list", "2");
        var f = AuditHarness.Run(h.Root).Find("host.numa.irq_affinity");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<SysfsWrite>()
            .Single()
            .Should()
            .Be(new SysfsWrite("3.2.1", "/proc/irq/121/smp_affinity_list", "4-7"));
    }

    [Fact]
    public void An_irq_folder_not_named_as_the_kernel_names_it_is_no_second_irq()
    {
        // kernel/irq/proc.c names each folder by the number in plain decimal: "0121" and "+121" are not IRQ 121,
        // which stays where it is (before, a second IRQ 121 ended the audit with a duplicate-key exception).
        using var h = new SyntheticHost();
        foreach (var name in new[] { "0121", "+121" })
        {
            h.Set($"/proc/irq/{name}/effective_affinity_list", "2");
            h.Set($"/proc/irq/{name}/smp_affinity_list", "2");
        }
        Status(h, "host.numa.irq_affinity").Should().Be(Pass);
    }

    [Fact]
    public void Irqbalance_running_without_banned_cpus_is_a_warning()
    {
        using var h = new SyntheticHost();
        Status(h, "host.numa.irqbalance").Should().Be(Pass);
        h.Set("/proc/812/comm", "irqbalance");
        Status(h, "host.numa.irqbalance").Should().Be(Warn);
        h.Set("/etc/default/irqbalance", "IRQBALANCE_BANNED_CPULIST=2-3,6-7");
        var f = AuditHarness.Run(h.Root).Find("host.numa.irqbalance");
        f.Status.Should().Be(Info);
        f.Current.Should().Contain("2-3,6-7");
    }

    [Fact]
    public void Governor_names_the_cpus_that_are_not_performance()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root).Find("host.cpu.governor");
        f.Status.Should().Be(Fail);
        f.Changes.Should().HaveCount(8);
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", "performance");
        h.Set("/sys/devices/system/cpu/cpu6/cpufreq/scaling_governor", "powersave");
        f = AuditHarness.Run(h.Root).Find("host.cpu.governor");
        f.Status.Should().Be(Fail);
        f.Current.Should().Contain("not performance: 6");
        f.Changes.OfType<SysfsWrite>()
            .Single()
            .Path.Should()
            .Be("/sys/devices/system/cpu/cpu6/cpufreq/scaling_governor");
        h.Set("/sys/devices/system/cpu/cpu6/cpufreq/scaling_governor", "performance");
        Status(h, "host.cpu.governor").Should().Be(Pass);
        Status(h, "host.cpu.governor", "density").Should().Be(Info);
    }

    [Fact]
    public void Huge_pages_per_node_follow_the_profile_share_of_node_memory()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root, "latency").Find("host.memory.hugepages");
        f.Status.Should().Be(Fail);
        // 50% of 16 GiB in 1 GiB pages = 8 per node
        f.Changes.OfType<SysfsWrite>()
            .Select(w => (w.Path, w.Value))
            .Should()
            .BeEquivalentTo(
                new[]
                {
                    ("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", "8"),
                    ("/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages", "8"),
                }
            );
        f.Changes.OfType<KernelArgument>()
            .Select(k => k.Text)
            .Should()
            .Equal("default_hugepagesz=1G", "hugepagesz=1G", "hugepages=0:8,1:8");
        h.Set("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", "8")
            .Set("/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages", "3");
        Status(h, "host.memory.hugepages", "latency").Should().Be(Warn);
        h.Set("/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages", "8");
        Status(h, "host.memory.hugepages", "latency").Should().Be(Pass);
        Status(h, "host.memory.hugepages", "density").Should().Be(Info);
    }

    [Fact]
    public void Without_pdpe1gb_the_latency_profile_falls_back_to_2mib_pages()
    {
        using var h = new SyntheticHost();
        h.Set("/proc/cpuinfo", File.ReadAllText(h.Tree.Physical("/proc/cpuinfo")).Replace(" pdpe1gb", ""));
        var f = AuditHarness.Run(h.Root, "latency").Find("host.memory.hugepages");
        f.Expected.Should().Contain("2 MiB").And.Contain("pdpe1gb");
        f.Changes.OfType<SysfsWrite>().First().Value.Should().Be("4096");
    }

    [Fact]
    public void Each_reserved_pool_size_needs_a_hugetlbfs_mount()
    {
        using var h = new SyntheticHost();
        Status(h, "host.memory.hugetlbfs").Should().Be(Info);
        var f = AuditHarness.Run(h.Root, "latency").Find("host.memory.hugetlbfs");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<HugetlbfsMountChange>()
            .Single()
            .Should()
            .Be(new HugetlbfsMountChange("3.2.3", "/dev/hugepages1G", 1048576));
        h.Set("/proc/mounts", "hugetlbfs /dev/hugepages1G hugetlbfs rw,pagesize=1G 0 0\n");
        Status(h, "host.memory.hugetlbfs", "latency").Should().Be(Pass);
    }

    [Fact]
    public void Thp_is_always_for_balanced_and_madvise_for_density()
    {
        using var h = new SyntheticHost();
        Status(h, "host.memory.thp").Should().Be(Warn);
        Status(h, "host.memory.thp", "density").Should().Be(Pass);
        h.Set("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]");
        Status(h, "host.memory.thp").Should().Be(Warn, "THP off costs TLB misses, it breaks nothing");
        Status(h, "host.memory.thp", "latency")
            .Should()
            .Be(Pass, "TuneD network-latency, under realtime-virtual-host: never");
        h.Set("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never");
        Status(h, "host.memory.thp").Should().Be(Pass);
    }

    [Fact]
    public void Idle_poll_is_required_for_latency_and_forbidden_for_density()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root, "latency").Find("host.cpu.idle_poll");
        f.Status.Should().Be(Warn, "kernel-parameters.txt: idle=poll is not recommended; a trade-off, not a fault");
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("idle=poll");
        h.Set("/proc/cmdline", "root=/dev/sda1 idle=poll");
        Status(h, "host.cpu.idle_poll", "latency").Should().Be(Pass);
        Status(h, "host.cpu.idle_poll", "density").Should().Be(Fail);
        Status(h, "host.cpu.idle_poll", "balanced").Should().Be(Info);
    }

    [Fact]
    public void Ple_is_disabled_with_ple_gap_0_through_a_module_option()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root, "latency").Find("host.kvm.ple");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<ModuleOption>()
            .Select(m => $"{m.Module} {m.Parameter}={m.Value}")
            .Should()
            .Equal("kvm_intel ple_gap=0", "kvm_intel ple_window=0");
        Status(h, "host.kvm.ple", "density").Should().Be(Pass);
        h.Set("/sys/module/kvm_intel/parameters/ple_gap", "0");
        Status(h, "host.kvm.ple", "latency").Should().Be(Pass);
        Status(h, "host.kvm.ple", "density").Should().Be(Warn);
    }

    [Fact]
    public void Ksm_is_on_for_density_off_for_latency_with_scan_settings_and_ksmtuned()
    {
        using var h = new SyntheticHost();
        Status(h, "host.memory.ksm", "latency").Should().Be(Pass);
        var density = AuditHarness.Run(h.Root, "density");
        density.Find("host.memory.ksm").Status.Should().Be(Warn);
        density.Find("host.memory.ksm_scan").Status.Should().Be(Pass);
        density.Find("host.memory.ksmtuned").Status.Should().Be(Info);
        h.Set("/sys/kernel/mm/ksm/run", "1")
            .Set("/sys/kernel/mm/ksm/sleep_millisecs", "5000")
            .Set("/proc/77/comm", "ksmtuned");
        density = AuditHarness.Run(h.Root, "density");
        // ksmtuned runs: it owns run, pages_to_scan and sleep_millisecs, so kvmtune neither demands nor writes them.
        density.Find("host.memory.ksm").Status.Should().Be(Info);
        density.Find("host.memory.ksm_scan").Changes.Should().BeEmpty();
        density.Find("host.memory.ksmtuned").Status.Should().Be(Info);
        h.Remove("/proc/77");
        density = AuditHarness.Run(h.Root, "density");
        density.Find("host.memory.ksm").Status.Should().Be(Pass);
        density
            .Find("host.memory.ksm_scan")
            .Changes.OfType<SysfsWrite>()
            .Single()
            .Should()
            .Be(new SysfsWrite("3.2.5", "/sys/kernel/mm/ksm/sleep_millisecs", "200"));
        h.Set("/proc/77/comm", "ksmtuned");
        var latency = AuditHarness.Run(h.Root, "latency");
        latency.Find("host.memory.ksm").Status.Should().Be(Warn);
        latency.Find("host.memory.ksmtuned").Status.Should().Be(Warn);
        latency.Find("conflict.ksm_memlock").Status.Should().Be(Warn);
    }

    [Fact]
    public void Halt_polling_is_brought_into_the_profile_range()
    {
        using var h = new SyntheticHost();
        Status(h, "host.kvm.halt_poll_ns").Should().Be(Pass);
        var f = AuditHarness.Run(h.Root, "latency").Find("host.kvm.halt_poll_ns");
        f.Status.Should().Be(Warn, "halt-polling.rst: tune by experiment; with cpu-pm=on HLT does not even exit");
        f.Changes.OfType<ModuleParameter>().Single().Value.Should().Be("400000");
        AuditHarness
            .Run(h.Root, "density")
            .Find("host.kvm.halt_poll_ns")
            .Changes.OfType<ModuleParameter>()
            .Single()
            .Value.Should()
            .Be("50000");
        h.Set("/sys/module/kvm/parameters/halt_poll_ns_grow", "10");
        Status(h, "host.kvm.halt_poll_ns_grow").Should().Be(Warn);
    }

    [Fact]
    public void Nohz_full_keeps_the_first_core_of_each_node_for_housekeeping()
    {
        using var h = new SyntheticHost();
        var f = AuditHarness.Run(h.Root, "latency").Find("host.kernel.nohz_full");
        f.Status.Should().Be(Fail);
        // node 0 keeps core (0,2), node 1 keeps core (4,6)
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("nohz_full=1,3,5,7");
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=1,3,5,7 rcu_nocbs=1,3,5,7");
        var r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.kernel.nohz_full").Status.Should().Be(Pass);
        r.Find("host.kernel.isolation").Status.Should().Be(Pass);
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=1-7 isolcpus=0-3");
        r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.kernel.nohz_full").Status.Should().Be(Fail, "node 1 has no housekeeping CPU");
        r.Find("conflict.nohz_no_housekeeping").Status.Should().Be(Fail);
        r.Find("host.kernel.isolation").Status.Should().Be(Warn);
    }

    [Fact]
    public void Qemu_prerequisites_vhost_zerocopy_io_uring_version_and_memlock()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.qemu.vhost_net").Status.Should().Be(Pass);
        r.Find("host.qemu.zerocopy_tx")
            .Status.Should()
            .Be(Info, "off by default since 2019 (vhost_net: disable zerocopy by default)");
        r.Find("host.qemu.io_uring").Status.Should().Be(Pass);
        r.Find("host.qemu.version").Current.Should().Contain("7.2");
        r.Find("host.qemu.version").Status.Should().Be(Pass);
        r.Find("host.qemu.memlock")
            .Status.Should()
            .Be(Info, "root holds CAP_IPC_LOCK, which RLIMIT_MEMLOCK does not bind");
        h.Set("/proc/self/status", "Name:\tkvmtune\nUid:\t1000\t1000\t1000\t1000\n");
        AuditHarness.Run(h.Root, "latency").Find("host.qemu.memlock").Status.Should().Be(Warn);
        h.Set(
            "/var/lib/dpkg/status",
            "Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:4.2-3ubuntu6\n\n"
        );
        h.Set("/proc/sys/kernel/io_uring_disabled", "2");
        h.Set("/proc/self/limits", "Max locked memory         unlimited            unlimited            bytes\n");
        h.Remove("/dev/vhost-net");
        h.Set("/proc/modules", "kvm_intel 1 0 - Live 0x0\nkvm 1 1 kvm_intel, Live 0x0\n");
        r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.qemu.version").Status.Should().Be(Warn, "4.2 has packed rings but not io_uring");
        r.Find("host.qemu.io_uring").Status.Should().Be(Warn);
        r.Find("host.qemu.memlock").Status.Should().Be(Pass);
        r.Find("host.qemu.vhost_net").Changes.OfType<ModuleLoad>().Single().Module.Should().Be("vhost_net");
        h.Remove("/usr/bin/qemu-system-x86_64");
        AuditHarness.Run(h.Root).Find("host.qemu.version").Status.Should().Be(Warn);
    }

    [Fact]
    public void Pmem_checks_each_kernel_option_tools_regions_and_devdax()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root);
        r.Findings.Where(f => f.Id.StartsWith("host.pmem.kconfig."))
            .Should()
            .HaveCount(16)
            .And.OnlyContain(f => f.Status == Pass);
        r.Find("host.pmem.tools").Status.Should().Be(Info);
        r.Find("host.pmem.regions").Status.Should().Be(Info);
        h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_NVDIMM_DAX=y\n# CONFIG_DEV_DAX is not set\n");
        r = AuditHarness.Run(h.Root);
        r.Find("host.pmem.kconfig.dev_dax").Status.Should().Be(Warn);
        r.Find("host.pmem.kconfig.nvdimm_dax").Status.Should().Be(Pass);
        h.Set("/usr/bin/ndctl", "").Set("/usr/sbin/ipmctl", "");
        AuditHarness.Run(h.Root).Find("host.pmem.tools").Status.Should().Be(Pass);
    }

    [Fact]
    public void Qat_pf_needs_sriov_vfs_vfio_and_the_iommu()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root);
        r.Find("host.qat.devices").Status.Should().Be(Pass);
        r.Find($"host.qat.sriov.{SyntheticHost.Qat}").Status.Should().Be(Pass);
        r.Find($"host.qat.vfs.{SyntheticHost.Qat}").Changes.OfType<SysfsWrite>().Single().Value.Should().Be("16");
        r.Find("host.qat.iommu").Status.Should().Be(Pass);
        h.Set($"/sys/devices/pci0000:30/{SyntheticHost.Qat}/sriov_numvfs", "2");
        h.AddPci("0000:6b:01.0", "0x0b4000", "0x8086", "0x37c9", 0, "vfio-pci", 10)
            .AddPci("0000:6b:01.1", "0x0b4000", "0x8086", "0x37c9", 0, "c6xxvf", 11);
        h.Tree.Link($"/sys/devices/pci0000:30/0000:6b:01.0/physfn", $"../{SyntheticHost.Qat}")
            .Link($"/sys/devices/pci0000:30/0000:6b:01.1/physfn", $"../{SyntheticHost.Qat}");
        r = AuditHarness.Run(h.Root);
        r.Find($"host.qat.vfs.{SyntheticHost.Qat}").Status.Should().Be(Pass);
        var vfio = r.Find($"host.qat.vfio.{SyntheticHost.Qat}");
        vfio.Current.Should().StartWith("1 of 2 VFs on vfio-pci");
        vfio.Fix.Persistent.Single().Should().Be("kvmtune vfio bind 0000:6b:01.1");
    }

    [Fact]
    public void Virt_host_validate_parity_checks_dev_nodes_cgroups_and_the_iommu()
    {
        using var h = new SyntheticHost();
        var r = AuditHarness.Run(h.Root);
        foreach (
            var id in new[]
            {
                "host.vhv.hardware_virtualization",
                "host.vhv.kvm",
                "host.vhv.kvm_access",
                "host.vhv.tun",
                "host.vhv.cgroup.cpu",
                "host.vhv.cgroup.cpuset",
                "host.vhv.cgroup.memory",
                "host.vhv.cgroup.io",
                "host.vhv.iommu_firmware",
                "host.vhv.iommu_kernel",
            }
        )
            r.Find(id).Status.Should().Be(Pass, id);
        h.Remove("/dev/net/tun")
            .Set("/sys/fs/cgroup/cgroup.controllers", "cpu io memory")
            .Set("/proc/self/status", "Uid:\t1000\t1000\t1000\t1000\n");
        r = AuditHarness.Run(h.Root);
        r.Find("host.vhv.tun").Status.Should().Be(Fail);
        r.Find("host.vhv.cgroup.cpuset").Status.Should().Be(Warn);
        r.Find("host.vhv.kvm_access").Status.Should().Be(Info, "mode 0660 lets the kvm group in");
    }

    [Fact]
    public void Cpu_pm_with_overcommit_is_a_conflict_for_running_vms()
    {
        using var h = new SyntheticHost();
        h.Set("/proc/900/comm", "qemu-system-x86")
            .Set("/proc/900/cmdline", "qemu-system-x86_64\0-smp\06\0-overcommit\0cpu-pm=on\0");
        h.Set("/proc/901/comm", "qemu-system-x86")
            .Set("/proc/901/cmdline", "qemu-system-x86_64\0-smp\0cpus=4,sockets=1\0");
        var f = AuditHarness.Run(h.Root).Find("conflict.cpupm_overcommit_running");
        f.Status.Should().Be(Fail);
        f.Current.Should().StartWith("10 vCPUs on 8 host CPUs");
    }

    [Fact]
    public void Static_huge_pages_with_ksm_on_is_a_conflict()
    {
        using var h = new SyntheticHost();
        h.Set("/sys/kernel/mm/ksm/run", "1").Set("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "16");
        AuditHarness.Run(h.Root).Find("conflict.ksm_hugepages").Status.Should().Be(Warn);
    }
}
