using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

public sealed class PlannerTests(FixtureTrees fixtures)
{
    private static PlacementPlan Plan(string root, string yaml)
    {
        var facts = HostFacts.Read(new HostReader(root));
        return new Planner(facts).Plan(VmSpecParser.Parse(yaml, "v.yaml", facts));
    }

    private static SyntheticHost HostWithPages(int oneGigPerNode)
    {
        var h = new SyntheticHost();
        for (var n = 0; n < 2; n++)
            h.Set($"/sys/devices/system/node/node{n}/hugepages/hugepages-1048576kB/nr_hugepages", $"{oneGigPerNode}")
                .Set(
                    $"/sys/devices/system/node/node{n}/hugepages/hugepages-1048576kB/free_hugepages",
                    $"{oneGigPerNode}"
                );
        return h;
    }

    [Fact]
    public void A_dedicated_vm_takes_whole_cores_never_the_housekeeping_core_and_mirrors_the_threads()
    {
        using var h = HostWithPages(8);
        var plan = Plan(
            h.Root,
            "name: db1\nvcpus: 2\nmemory: 4GiB\nworkload: latency\ndisks:\n  - { path: /img/db1.raw }\n"
        );
        var vm = plan.Vms.Single();
        vm.Dedicated.Should().BeTrue();
        vm.Topology.Should().Be(new GuestTopology(1, 1, 2));
        var cpus = vm.VcpuPins.SelectMany(p => p.Cpus).ToList();
        cpus.Should().HaveCount(2);
        // node 0 cores: (0,2) housekeeping, (1,3) free
        cpus.Should().BeEquivalentTo([1, 3]);
        vm.EmulatorCpus.Should().Equal(0);
        vm.IothreadPins.Single()
            .Should()
            .Match<IothreadPin>(p => p.Iothread == "io0" && p.Cpus.SequenceEqual(new[] { 0 }));
        vm.Memory.Single().Should().Be(new MemoryPlacement(0, 4 << 20, 1 << 20));
    }

    [Fact]
    public void Several_vms_never_share_a_dedicated_cpu_or_overdraw_huge_pages_and_the_last_says_what_is_short()
    {
        using var h = HostWithPages(4);
        var yaml = string.Join(
            "---\n",
            Enumerable.Range(0, 3).Select(i => $"name: vm{i}\nvcpus: 2\nmemory: 4GiB\nworkload: latency\n")
        );
        var plan = Plan(h.Root, yaml);
        plan.Vms.Should().HaveCount(2);
        plan.Vms.SelectMany(v => v.VcpuPins.SelectMany(p => p.Cpus)).Should().OnlyHaveUniqueItems();
        plan.Vms.Select(v => v.Nodes.Single()).Should().BeEquivalentTo([0, 1]);
        plan.Unplaced.Single().Name.Should().Be("vm2");
        plan.Unplaced.Single().Reason.Should().Contain("free whole 2-thread cores").And.Contain("needs 1");
    }

    [Fact]
    public void A_vm_short_of_huge_pages_is_told_which_node_has_how_many()
    {
        using var h = HostWithPages(3);
        var plan = Plan(h.Root, "name: big\nvcpus: 2\nmemory: 4GiB\nhugepages: 1GiB\nnuma_node: 1\n");
        var reason = plan.Unplaced.Single().Reason;
        reason.Should().StartWith("node 1: 3 free 1 GiB pages, needs 4");
        reason.Should().Contain("'auto' lets it span nodes").And.NotContain("--name").And.NotContain("echo");
        // What makes it fit is a kvmtune command (PlanFixTests runs it): node 1's pool from 3 to 4 pages.
        var fix = plan.Unplaced.Single().Fixes!.Single();
        fix.Text.Should().StartWith("reserve 1 1 GiB pages on node 1 (its pool from 3 to 4 pages");
        fix.Command.Should().Equal("kvmtune", "apply", "--hugepages", "1:1G:4");
    }

    [Fact]
    public void A_vm_larger_than_a_node_spans_nodes_with_a_mirrored_guest_topology()
    {
        using var h = HostWithPages(8);
        var plan = Plan(h.Root, "name: wide\nvcpus: 4\nmemory: 8GiB\nworkload: latency\n");
        var vm = plan.Vms.Single();
        vm.Nodes.Should().BeEquivalentTo([0, 1]);
        vm.GuestNodes.Should().HaveCount(2);
        vm.GuestNodes.Select(g => g.HostNode).Should().BeEquivalentTo([0, 1]);
        vm.GuestNodes.Sum(g => g.MemoryKib).Should().Be(8L << 20);
        foreach (var g in vm.GuestNodes)
            foreach (var v in g.Vcpus)
                vm.VcpuPins.Single(p => p.Vcpu == v)
                    .Cpus.Single()
                    .Should()
                    .BeInRange(
                        g.HostNode * 4,
                        g.HostNode * 4 + 3,
                        "each vCPU runs on the host node that backs its guest node"
                    );
        var qemu = QemuCommandBuilder.Build(
            VmSpecParser
                .Parse(
                    "name: wide\nvcpus: 4\nmemory: 8GiB\nworkload: latency\n",
                    "v.yaml",
                    HostFacts.Read(new HostReader(h.Root))
                )
                .Single(),
            vm,
            HostFacts.Read(new HostReader(h.Root)),
            new QemuOptions("kvm", "/run/q", null, false)
        );
        qemu.Argv.Should().Contain(a => a.Contains("id=ram-node1") && a.Contains("host-nodes=1,policy=bind"));
        qemu.Argv.Should().Contain("node,nodeid=1,cpus=2-3,memdev=ram-node1");
    }

    /// <summary>The fixture with IOMMU groups added, as a host booted with intel_iommu=on has them.</summary>
    private string WithIommu(TestTree tree, string fixture)
    {
        var copy = Processes.Run("cp", ["-a", fixtures.Root(fixture) + "/.", tree.Physical("/")]);
        copy.ExitCode.Should().Be(0, copy.Stderr);
        tree.Dir("/sys/kernel/iommu_groups/0").Dir("/sys/kernel/iommu_groups/1");
        return tree.Physical("/");
    }

    [Fact]
    public void Passthrough_is_refused_while_the_iommu_is_off()
    {
        var facts = HostFacts.Read(new HostReader(fixtures.Root("40intel64-2g2n4c+pcilocality")));
        var act = () =>
            VmSpecParser.Parse(
                "name: nfv\nvcpus: 2\nmemory: 2GiB\npassthrough:\n  - { pci: \"0000:43:00.0\" }\n",
                "v.yaml",
                facts
            );
        act.Should().Throw<Kvmtune.Facts.InputException>().WithMessage("*passthrough.pci*IOMMU is off*");
    }

    [Fact]
    public void Passthrough_devices_pull_the_vm_to_their_node()
    {
        using var tree = new TestTree();
        var root = WithIommu(tree, "40intel64-2g2n4c+pcilocality");
        var plan = Plan(
            root,
            "name: nfv\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npassthrough:\n  - { pci: \"0000:43:00.0\" }\n"
        );
        var vm = plan.Vms.Single();
        var facts = HostFacts.Read(new HostReader(root));
        var node = facts.Pci.Single(p => p.Address == "0000:43:00.0").NumaNode;
        node.Should().NotBeNull();
        vm.Nodes.Should().Equal(node!.Value);
        vm.Reasons.Should().Contain(r => r.Contains("passthrough 0000:43:00.0"));
        vm.Devices.Single().Should().Be(new DevicePlacement("passthrough", "0000:43:00.0", node));
        // The tree's own driver link says the InfiniBand card is bound to ib_qib; QEMU needs vfio-pci.
        new FileInfo(Path.Combine(root, "sys/bus/pci/devices/0000:43:00.0/driver"))
            .LinkTarget.Should()
            .EndWith("/ib_qib");
        var spec = VmSpecParser
            .Parse(
                "name: nfv\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npassthrough:\n"
                    + "  - { pci: \"0000:43:00.0\" }\n",
                "v.yaml",
                facts
            )
            .Single();
        var decision = VmResolver
            .Resolve(spec, vm, facts, "tcg")
            .Decisions.Single(x => x.Subject == "passthrough 0000:43:00.0");
        decision.Adjusted.Should().BeTrue();
        decision.Choice.Should().Contain("ib_qib");
        decision.Why.Should().Contain("kvmtune vfio bind 0000:43:00.0");
    }

    [Fact]
    public void A_dax_device_of_the_pmem_fixture_places_the_vm_and_flows_into_qemu_and_libvirt()
    {
        var root = fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms");
        var facts = HostFacts.Read(new HostReader(root));
        var yaml =
            "name: pm1\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npmem:\n  - { path: /dev/dax1.3, size: 32GiB, align: " +
                "2MiB }\n";
        var spec = VmSpecParser.Parse(yaml, "v.yaml", facts).Single();
        var vm = new Planner(facts).Plan([spec]).Vms.Single();
        vm.Nodes.Should().Equal(1);
        var qemu = QemuCommandBuilder.Build(spec, vm, facts, new QemuOptions("kvm", "/run/q", null, false));
        qemu.Argv.Should()
            .Contain("memory-backend-file,id=pmem0,share=on,mem-path=/dev/dax1.3,size=32G,align=2M,pmem=on");
        qemu.Argv.Should().Contain("nvdimm,memdev=pmem0,id=nvdimm0,label-size=128k,node=0");
        qemu.Argv.Should().Contain(a => a.StartsWith("q35,") && a.Contains("nvdimm=on"));
        qemu.Argv.Should().Contain("2G,slots=2,maxmem=34G");
        var xml = System.Xml.Linq.XDocument.Parse(LibvirtDomain.Build(spec, vm, facts));
        var source = xml.Root!.Element("devices")!.Element("memory")!.Element("source")!;
        source.Element("path")!.Value.Should().Be("/dev/dax1.3");
        source.Element("pmem").Should().NotBeNull("without it libvirt preallocates the whole device at every start");
    }

    [Fact]
    public void A_cpuset_restricts_the_vcpus_and_nohz_full_sets_the_housekeeping_cpus()
    {
        using var h = HostWithPages(8);
        h.Set("/proc/cmdline", "root=/dev/sda nohz_full=1-3,5-7");
        var plan = Plan(h.Root, "name: s\nvcpus: 2\nmemory: 1GiB\nhugepages: none\ncpuset: 5,7\n");
        var vm = plan.Vms.Single();
        vm.VcpuPins.Should().OnlyContain(p => p.Cpus.SequenceEqual(new[] { 5, 7 }));
        vm.EmulatorCpus.Should().Equal(4);
    }
}
