using AwesomeAssertions;
using Kvmtune.Changes;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;
using Kvmtune.Vms.Devices;
using static Kvmtune.Guide.Audit.FindingStatus;

namespace Kvmtune.Tests.Audit;

/// <summary>
/// Advice checked against what the kernel files of real hosts say and what the kernel source does with them:
/// expected values come from the trees and the cited kernel files, never from kvmtune's own tables.
/// </summary>
public sealed class AdviceTests(FixtureTrees fixtures)
{
    private const string PciLocality = "40intel64-2g2n4c+pcilocality";
    private const string Nvme = "32em64t-2n8c+dax+nvme+mic+dimms";
    private const string Amd = "16amd64-8n2c";

    private static string Raw(string root, string path) =>
        File.ReadAllText(Path.Combine(root, path.TrimStart('/'))).TrimEnd('\0', '\n', ' ');

    private static string[] Profiles => ["balanced", "latency", "throughput", "density"];

    [Fact]
    public void An_old_intel_idle_name_such_as_NHM_C6_is_C6_and_an_unlisted_C1E_is_unknown()
    {
        var root = fixtures.Root(PciLocality);
        Raw(root, "/sys/devices/system/cpu/cpuidle/current_driver").Should().Be("intel_idle");
        Raw(root, "/sys/devices/system/cpu/cpu0/cpuidle/state3/name").Should().Be("NHM-C6");
        var r = AuditHarness.Run(root, "latency");
        var c6 = r.Find("host.bios.c6");
        c6.Status.Should().Be(Warn);
        // That 2013 kernel has no cpuidle "disable" attribute (the tree has none): only the BIOS step can be given.
        File.Exists(Path.Combine(root, "sys/devices/system/cpu/cpu0/cpuidle/state3/disable")).Should().BeFalse();
        c6.Changes.OfType<SysfsWrite>().Should().BeEmpty();
        c6.Changes.OfType<ManualStep>().Should().ContainSingle(m => m.Text.StartsWith("BIOS: "));
        // NHM-C1, NHM-C3, NHM-C6: no C1E state, yet C1E auto-promotion may still be on in firmware.
        r.Find("host.bios.c1e").Status.Should().Be(Unknown);
    }

    [Fact]
    public void An_acpi_idle_state_is_recognised_by_its_mwait_hint()
    {
        var root = fixtures.Root(Nvme);
        Raw(root, "/sys/devices/system/cpu/cpuidle/current_driver").Should().Be("acpi_idle");
        Raw(root, "/sys/devices/system/cpu/cpu0/cpuidle/state2/desc").Should().Be("ACPI FFH INTEL MWAIT 0x20");
        var c6 = AuditHarness.Run(root, "latency").Find("host.bios.c6");
        c6.Status.Should().Be(Warn);
        // The capture has no disable attribute: the firmware offers C2 (MWAIT 0x20 is C6), the OS flag is unknown,
        // so only the BIOS step can be given.
        File.Exists(Path.Combine(root, "sys/devices/system/cpu/cpu0/cpuidle/state2/disable")).Should().BeFalse();
        c6.Current.Should().StartWith("C2 offered by the firmware");
        c6.Changes.OfType<SysfsWrite>().Should().BeEmpty();
    }

    [Fact]
    public void InfiniBand_is_a_network_device_placed_on_its_node()
    {
        var root = fixtures.Root(PciLocality);
        const string ib = "0000:43:00.0";
        var dev = $"/sys/bus/pci/devices/{ib}";
        Raw(root, dev + "/class").Should().StartWith("0x0c06");
        var node = int.Parse(Raw(root, dev + "/numa_node"), System.Globalization.CultureInfo.InvariantCulture);
        var facts = HostFacts.Read(new HostReader(root));
        facts.Pci.Single(p => p.Address == ib).Category.Should().Be("network");
        AuditHarness.Run(root).Find("host.numa.devices").Current.Should().MatchRegex($"node {node}: [^;]*{ib}");
    }

    [Fact]
    public void An_nvme_with_numa_node_minus_one_is_placed_by_its_local_cpulist()
    {
        var root = fixtures.Root(Nvme);
        const string nvme = "0000:00:02.0";
        Raw(root, $"/sys/bus/pci/devices/{nvme}/numa_node").Should().Be("-1");
        CpuList
            .TryParse(Raw(root, $"/sys/bus/pci/devices/{nvme}/local_cpulist"), out var local, out _)
            .Should()
            .BeTrue();
        var owners = Directory
            .GetDirectories(Path.Combine(root, "sys/devices/system/node"), "node*")
            .Where(d =>
                CpuList.TryParse(Raw(root, d[root.Length..] + "/cpulist"), out var cpus, out _)
                && local.All(cpus.Contains)
            )
            .ToList();
        owners.Should().ContainSingle();
        var node = int.Parse(Path.GetFileName(owners[0])[4..], System.Globalization.CultureInfo.InvariantCulture);
        var pci = HostFacts.Read(new HostReader(root)).Pci.Single(p => p.Address == nvme);
        pci.NumaNode.Should().BeNull("the kernel says -1");
        pci.PlacementNode.Should().Be(node);
        AuditHarness.Run(root).Find("host.numa.devices").Current.Should().MatchRegex($"node {node}: [^;]*{nvme}");
    }

    [Fact]
    public void Without_dev_or_pid_folders_nothing_is_claimed_absent_or_not_running()
    {
        var root = fixtures.Root(Nvme);
        Directory.Exists(Path.Combine(root, "dev")).Should().BeFalse();
        Directory
            .GetDirectories(Path.Combine(root, "proc"))
            .Select(Path.GetFileName)
            .Should()
            .NotContain(n => n!.All(char.IsAsciiDigit));
        var r = AuditHarness.Run(root, "latency");
        r.Find("host.vhv.kvm").Status.Should().Be(Unknown);
        r.Find("host.qemu.vhost_net").Status.Should().Be(Unknown);
        r.Find("host.numa.irqbalance").Status.Should().Be(Unknown);
        r.Find("host.bios.vtx").Status.Should().NotBe(Fail);
        Directory.Exists(Path.Combine(root, "usr")).Should().BeFalse();
        r.Find("host.qemu.version").Status.Should().Be(Unknown, "no /usr to find QEMU in");
        // A devtmpfs (it has /dev/null) without kvm is evidence: absent. The same capture's /dev with only a cpuset
        // mount is not (A_dev_folder_that_is_not_a_devtmpfs_says_nothing_about_dev_kvm).
        using var withDev = new TestTree();
        withDev.CopyFrom(fixtures.Root(PciLocality));
        withDev.File("/dev/null", "");
        File.Exists(withDev.Physical("/dev/kvm")).Should().BeFalse();
        AuditHarness.Run(withDev.Root).Find("host.vhv.kvm").Status.Should().Be(Fail);
    }

    [Fact]
    public void Vhost_net_is_reported_once_and_never_loaded_when_not_built()
    {
        using var h = new SyntheticHost();
        h.Remove("/dev/vhost-net");
        AuditHarness
            .Run(h.Root)
            .Findings.Where(f => f.Id.EndsWith("vhost_net", StringComparison.Ordinal))
            .Should()
            .ContainSingle();
        // CONFIG_VHOST_NET is not set: no module to load, nothing for modules-load.d.
        h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_KVM=m\n# CONFIG_VHOST_NET is not set\n");
        AuditHarness
            .Run(h.Root)
            .Findings.SelectMany(f => f.Changes)
            .OfType<ModuleLoad>()
            .Should()
            .NotContain(m => m.Module == "vhost_net");
    }

    [Fact]
    public void An_amd_host_never_gets_kvm_intel_or_amd_iommu_on()
    {
        var root = fixtures.Root(Amd);
        File.ReadAllText(Path.Combine(root, "proc/cpuinfo")).Should().Contain("AuthenticAMD");
        foreach (var profile in Profiles)
        {
            var changes = AuditHarness.Run(root, profile).Findings.SelectMany(f => f.Changes).ToList();
            changes.OfType<ModuleLoad>().Should().NotContain(m => m.Module == "kvm_intel", profile);
            changes.OfType<ModuleOption>().Should().NotContain(m => m.Module == "kvm_intel", profile);
            // kernel-parameters.txt: amd_iommu= takes fullflush, off, force_isolation...; there is no "on".
            changes.OfType<KernelArgument>().Should().NotContain(k => k.Key == "amd_iommu" && !k.Remove, profile);
        }
    }

    [Fact]
    public void Device_irqs_go_to_housekeeping_cpus_and_managed_irqs_are_left_to_the_kernel()
    {
        using var h = new SyntheticHost();
        // Node 1 is CPUs 4-7; nohz_full takes 5 and 7, so 4 and 6 remain for the host. The NIC's IRQs run on 5.
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=1,3,5,7");
        var f = AuditHarness.Run(h.Root, "latency").Find("host.numa.irq_affinity");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<SysfsWrite>()
            .Select(w => (w.Path, w.Value))
            .Should()
            .Equal(SyntheticHost.NicIrqs.Select(i => ($"/proc/irq/{i}/smp_affinity_list", "4,6")));
        // kernel/irq/debugfs.c prints the IRQD_ flags under "dstate:"; a managed IRQ refuses smp_affinity with EIO.
        h.Set(
            "/sys/kernel/debug/irq/irqs/121",
            "handler:  handle_edge_irq\ndstate:   0x3640a200\n            IRQD_ACTIVATED\n"
                + "            IRQD_IRQ_STARTED\n            IRQD_AFFINITY_MANAGED\nnode:     1\naffinity: " +
                    "5\neffectiv: "
                + "5\n"
        );
        h.Set(
            "/sys/kernel/debug/irq/irqs/120",
            "handler:  handle_edge_irq\ndstate:   0x00401200\n            IRQD_ACTIVATED\n"
        );
        f = AuditHarness.Run(h.Root, "latency").Find("host.numa.irq_affinity");
        f.Changes.OfType<SysfsWrite>()
            .Select(w => w.Path)
            .Should()
            .NotContain("/proc/irq/121/smp_affinity_list")
            .And.Contain("/proc/irq/120/smp_affinity_list");
        f.Current.Should().Contain("managed");
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("isolcpus=managed_irq,domain,1,3,5,7");
        HostFacts.Read(new HostReader(h.Root)).Irqs.Single(i => i.Irq == 121).Managed.Should().BeTrue();
    }

    [Fact]
    public void Irq_pin_plans_housekeeping_cpus_and_skips_managed_irqs()
    {
        using var h = new SyntheticHost();
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=5,7");
        foreach (var irq in SyntheticHost.NicIrqs)
            h.Set($"/proc/irq/{irq}/smp_affinity_list", "0-7");
        h.Set("/sys/kernel/debug/irq/irqs/122", "dstate:   0x3640a200\n            IRQD_AFFINITY_MANAGED\n");
        h.Set("/sys/kernel/debug/irq/irqs/120", "dstate:   0x00401200\n            IRQD_ACTIVATED\n");
        h.Set("/sys/kernel/debug/irq/irqs/121", "dstate:   0x00401200\n            IRQD_ACTIVATED\n");
        var facts = HostFacts.Read(new HostReader(h.Root));
        var spec = VmSpecParser
            .Parse(
                $"name: nfv1\nvcpus: 1\nmemory: 1GiB\nworkload: density\nhugepages: none\npassthrough:\n  - {{ pci: "
                    + $"\"{SyntheticHost.Nic}\" }}\n",
                "v.yaml",
                facts
            )
            .Single();
        var vm = new Planner(facts).Plan([spec]).Vms.Single();
        var plan = IrqPlanner.Plan(facts, spec, vm);
        plan.Operations.OfType<ValueOperation>()
            .Select(o => (o.Path, o.New))
            .Should()
            .Equal(("/proc/irq/120/smp_affinity_list", "4,6"), ("/proc/irq/121/smp_affinity_list", "4,6"));
        plan.Notes.Should().Contain(n => n.Contains("122") && n.Contains("managed"));
    }

    [Fact]
    public void Isolation_needs_no_rcu_nocbs_beside_nohz_full_but_wants_managed_irq_in_isolcpus()
    {
        using var h = new SyntheticHost();
        // kernel/rcu/tree_nocb.h rcu_init_nohz(): nohz_full CPUs join rcu_nocb_mask by themselves.
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=1,3,5,7");
        AuditHarness.Run(h.Root, "latency").Find("host.kernel.isolation").Status.Should().Be(Pass);
        h.Set("/proc/cmdline", "root=/dev/sda1 nohz_full=1,3,5,7 isolcpus=domain,1,3,5,7");
        var f = AuditHarness.Run(h.Root, "latency").Find("host.kernel.isolation");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<KernelArgument>().Single().Text.Should().Be("isolcpus=domain,managed_irq,1,3,5,7");
    }

    [Theory]
    [InlineData("5.15.0-91-generic", false)]
    [InlineData("5.16.0", true)]
    [InlineData(SyntheticHost.Release, true)]
    public void Per_node_hugepages_syntax_only_from_linux_5_16(string release, bool perNode)
    {
        using var h = new SyntheticHost();
        h.Set("/proc/sys/kernel/osrelease", release);
        // latency: half of each node's MemTotal (16777216 kB in node*/meminfo) in 1 GiB pages.
        var pages = 16777216L / 2 / 1048576;
        var f = AuditHarness.Run(h.Root, "latency").Find("host.memory.hugepages");
        f.Changes.OfType<KernelArgument>()
            .Single(k => k.Key == "hugepages")
            .Text.Should()
            .Be(perNode ? $"hugepages=0:{pages},1:{pages}" : $"hugepages={2 * pages}");
    }

    [Fact]
    public void Page_counts_do_not_read_as_hexadecimal()
    {
        Sizes.Pages(0, 2048).Should().Be("0 pages of 2 MiB");
        Sizes.Pages(1, 1048576).Should().Be("1 page of 1 GiB");
        using var h = new SyntheticHost();
        AuditHarness.Run(h.Root, "latency").Find("host.memory.hugepages").Current.Should().NotContain("0x");
    }

    [Theory]
    [InlineData("0000:00:02.0", true)]
    [InlineData("10000:00:02.0", true)]
    [InlineData("10000:e1:00.7", true)]
    [InlineData("000:00:02.0", false)]
    [InlineData("10000:00:02.8", false)]
    public void Pci_domains_wider_than_16_bits_are_addresses(string address, bool valid) =>
        KernelText.IsPciAddress(address).Should().Be(valid);

    [Fact]
    public void Ksm_unmerges_only_when_the_memory_for_it_is_available()
    {
        using var h = new SyntheticHost();
        h.Set("/sys/kernel/mm/ksm/run", "1").Set("/sys/kernel/mm/ksm/pages_sharing", "4194304");
        // ksm.rst: pages_sharing is how much KSM saves; 4194304 x 4 KiB = 16 GiB would come back on unmerge.
        h.Set(
            "/proc/meminfo",
            "MemTotal:       33554432 kB\nMemFree:         1048576 kB\nMemAvailable:    2097152 kB\n"
        );
        AuditHarness
            .Run(h.Root, "latency")
            .Find("host.memory.ksm")
            .Changes.OfType<SysfsWrite>()
            .Single()
            .Value.Should()
            .Be("0");
        h.Set(
            "/proc/meminfo",
            "MemTotal:       33554432 kB\nMemFree:        30000000 kB\nMemAvailable:   40000000 kB\n"
        );
        AuditHarness
            .Run(h.Root, "latency")
            .Find("host.memory.ksm")
            .Changes.OfType<SysfsWrite>()
            .Single()
            .Value.Should()
            .Be("2");
    }

    [Fact]
    public void A_running_tuned_is_named_with_what_it_overwrites()
    {
        using var h = new SyntheticHost();
        AuditHarness.Run(h.Root, "latency").Findings.Should().NotContain(f => f.Id == "conflict.daemons");
        h.Set("/proc/88/comm", "tuned");
        var f = AuditHarness.Run(h.Root, "latency").Find("conflict.daemons");
        f.Status.Should().Be(Warn);
        f.Current.Should().Contain("tuned").And.Contain("transparent_hugepages");
    }

    [Fact]
    public void Thp_defrag_always_stalls_faults_and_warns()
    {
        using var h = new SyntheticHost();
        // transhuge.rst: "always" means an application requesting THP will stall on allocation failure and
        // directly reclaim pages and compact memory; madvise (the tree's value) limits that to madvised regions.
        AuditHarness.Run(h.Root).Find("host.memory.thp_defrag").Status.Should().Be(Pass);
        h.Set("/sys/kernel/mm/transparent_hugepage/defrag", "[always] defer defer+madvise madvise never");
        AuditHarness.Run(h.Root).Find("host.memory.thp_defrag").Status.Should().Be(Warn);
    }

    [Fact]
    public void Findings_carry_their_sources_in_json_and_html()
    {
        using var h = new SyntheticHost();
        var report = AuditHarness.Run(h.Root, "latency");
        report
            .Find("host.kvm.halt_poll_ns")
            .Sources.Should()
            .Contain(s => s.StartsWith("Documentation/virt/kvm/halt-polling.rst", StringComparison.Ordinal));
        report
            .Find("host.qemu.zerocopy_tx")
            .Sources.Should()
            .Contain(s => s.Contains("098eadce3c62", StringComparison.Ordinal));
        using var doc = System.Text.Json.JsonDocument.Parse(Kvmtune.Reports.Audit.AuditJson.Render(report));
        var finding = doc
            .RootElement.GetProperty("findings")
            .EnumerateArray()
            .Single(e => e.GetProperty("id").GetString() == "host.kvm.halt_poll_ns");
        finding
            .GetProperty("sources")
            .EnumerateArray()
            .Select(e => e.GetString())
            .Should()
            .Contain(s => s!.Contains("halt-polling.rst", StringComparison.Ordinal));
        finding.TryGetProperty("rationale", out _).Should().BeTrue("fields are added, none renamed");
        var html = Kvmtune.Reports.Audit.AuditHtmlRenderer.Render(
            report,
            HostFacts.Read(new HostReader(h.Root)),
            null,
            DateTimeOffset.UnixEpoch
        );
        html.Should().Contain("sources: Documentation/virt/kvm/halt-polling.rst");
    }

    [Fact]
    public void The_exitless_timer_needs_pi_inject_timer_apicv_and_cpu_pm()
    {
        using var h = new SyntheticHost();
        // arch/x86/kvm/lapic.c kvm_can_post_timer_interrupt: pi_inject_timer && APICv && (MWAIT or HLT in the guest).
        h.Set("/sys/module/kvm/parameters/pi_inject_timer", "0")
            .Set("/sys/module/kvm_intel/parameters/enable_apicv", "Y");
        var f = AuditHarness.Run(h.Root, "latency").Find("host.kvm.exitless_timer");
        f.Status.Should().Be(Warn);
        f.Changes.OfType<ModuleParameter>()
            .Single()
            .Should()
            .Be(new ModuleParameter("3.2.7", "kvm", "pi_inject_timer", "1"));
        h.Set("/sys/module/kvm/parameters/pi_inject_timer", "1");
        AuditHarness
            .Run(h.Root, "latency")
            .Find("host.kvm.exitless_timer")
            .Status.Should()
            .Be(Pass, "latency runs VMs with cpu-pm=on");
        h.Set("/sys/module/kvm_intel/parameters/enable_apicv", "N");
        AuditHarness
            .Run(h.Root, "latency")
            .Find("host.kvm.exitless_timer")
            .Changes.OfType<ModuleOption>()
            .Single()
            .Should()
            .Be(new ModuleOption("3.2.7", "kvm_intel", "enable_apicv", "1"));
        AuditHarness
            .Run(h.Root, "density")
            .Find("host.kvm.exitless_timer")
            .Status.Should()
            .Be(Info, "density wants no nohz_full");
        h.Remove("/sys/module/kvm/parameters/pi_inject_timer");
        AuditHarness.Run(h.Root, "latency").Find("host.kvm.exitless_timer").Status.Should().Be(Unknown);
    }

    [Fact]
    public void Missing_node_information_is_unknown_not_one_node()
    {
        using var h = new SyntheticHost();
        h.Remove("/sys/devices/system/node");
        var r = AuditHarness.Run(h.Root, "latency");
        foreach (var id in new[] { "host.bios.numa", "host.numa.balancing", "host.numa.irq_affinity" })
            r.Find(id).Status.Should().Be(Unknown, id);
        // drivers/base/node.c exists only with CONFIG_NUMA: a kernel built without it has no node folder and one node.
        h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_KVM=m\n# CONFIG_NUMA is not set\n");
        r = AuditHarness.Run(h.Root, "latency");
        r.Find("host.bios.numa").Status.Should().Be(Warn, "two packages on a kernel without NUMA");
        r.Find("host.numa.balancing").Status.Should().Be(Info);
    }

    [Fact]
    public void Ksm_max_page_sharing_is_checked_against_the_kernels_own_default()
    {
        // The running kernel's untouched value is the default (mm/ksm.c: ksm_max_page_sharing = 256).
        var live = File.Exists("/sys/kernel/mm/ksm/max_page_sharing")
            ? File.ReadAllText("/sys/kernel/mm/ksm/max_page_sharing").Trim()
            : "256";
        using var h = new SyntheticHost();
        h.Set("/sys/kernel/mm/ksm/max_page_sharing", live);
        AuditHarness.Run(h.Root, "density").Find("host.memory.ksm_max_page_sharing").Status.Should().Be(Pass);
        h.Set("/sys/kernel/mm/ksm/max_page_sharing", (long.Parse(live) * 4).ToString());
        var high = AuditHarness.Run(h.Root, "density").Find("host.memory.ksm_max_page_sharing");
        high.Status.Should().Be(Warn);
        high.Changes.OfType<ManualStep>()
            .Should()
            .ContainSingle(m => m.Text.Contains($"echo {live} > /sys/kernel/mm/ksm/max_page_sharing"));
        h.Remove("/sys/kernel/mm/ksm/max_page_sharing");
        AuditHarness.Run(h.Root, "density").Find("host.memory.ksm_max_page_sharing").Status.Should().Be(Unknown);
    }

    [Fact]
    public void A_dev_folder_that_is_not_a_devtmpfs_says_nothing_about_dev_kvm()
    {
        // hwloc-gather captured /dev/cpuset only: no /dev/null, which every devtmpfs has.
        var root = fixtures.Root(PciLocality);
        Directory.Exists(Path.Combine(root, "dev/cpuset")).Should().BeTrue();
        File.Exists(Path.Combine(root, "dev/null")).Should().BeFalse();
        var facts = HostFacts.Read(new HostReader(root));
        facts.Virtualization.Kvm.Present.Should().BeNull();
        using var t = new TestTree();
        t.CopyFrom(root);
        t.File("/dev/null", "");
        HostFacts
            .Read(new HostReader(t.Root))
            .Virtualization.Kvm.Present.Should()
            .BeFalse("a /dev with /dev/null and no kvm");
    }
}
