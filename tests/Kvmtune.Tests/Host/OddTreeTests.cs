using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>What real kernels write and the fixtures happen not to: offline CPUs, CPU-less and sparse nodes, odd CPU
/// lists.</summary>
public sealed class OddTreeTests
{
    private const string Cpu = "/sys/devices/system/cpu";
    private const string Node = "/sys/devices/system/node";

    private static TestTree FourCpus(TestTree t)
    {
        for (var i = 0; i < 4; i++)
        {
            t.File($"{Cpu}/cpu{i}/topology/physical_package_id", "0\n")
                .File($"{Cpu}/cpu{i}/topology/core_id", $"{i / 2}\n")
                .File($"{Cpu}/cpu{i}/topology/thread_siblings_list", i < 2 ? "0-1\n" : "2-3\n");
        }
        return t;
    }

    [Fact]
    public void A_cpu_folder_named_twice_is_one_cpu()
    {
        // The kernel names a CPU's device "%s%u" of its bus's name, "cpu", and its number (drivers/base/core.c,
        // device_add; cpu_subsys in drivers/base/cpu.c), so cpu01 is no name it gives. A tree that holds it beside
        // cpu1 still has one CPU 1, not two, and no fifth thread.
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/cpu01/topology/physical_package_id", "0\n").File($"{Cpu}/cpu01/topology/core_id", "0\n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Cpu.Cpus.Select(c => c.Id).Should().Equal(0, 1, 2, 3);
        f.Cpu.Online.Should().Equal(0, 1, 2, 3);
        f.Cpu.Threads.Should().Be(4);
    }

    [Fact]
    public void Offline_cpus_are_listed_as_offline_and_not_counted()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/online", "0-2\n").File($"{Cpu}/cpu3/online", "0\n").Delete($"{Cpu}/cpu3/topology");
        t.File($"{Node}/node0/cpulist", "0-2\n")
            .File($"{Node}/node0/meminfo", "Node 0 MemTotal:  1000 kB\nNode 0 MemFree: 10 kB\n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Cpu.Online.Should().Equal(0, 1, 2);
        f.Cpu.Offline.Should().Equal(3);
        f.Cpu.Threads.Should().Be(3);
        f.Cpu.Cores.Should().Be(2, "cpu2 still names cpu3 as its sibling: one core");
        f.Numa.Nodes.Single().Cpus.Should().Equal(0, 1, 2);
    }

    [Fact]
    public void A_cpu_less_node_and_sparse_node_ids_are_kept()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/online", "0-3\n");
        t.File($"{Node}/node0/cpulist", "0-3\n").File($"{Node}/node0/distance", "10 20\n");
        t.File($"{Node}/node4/cpulist", "\n").File($"{Node}/node4/distance", "20 10\n");
        t.File($"{Node}/node4/meminfo", "Node 4 MemTotal:  524288 kB\n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Numa.Nodes.Select(n => n.Id).Should().Equal(0, 4);
        f.Numa.Nodes[1].Cpus.Should().BeEmpty();
        f.Numa.Nodes[1].MemoryTotalKib.Should().Be(524288);
        f.Numa.Nodes[0].MemoryTotalKib.Should().BeNull("node0 has no meminfo: unknown, not zero");
        f.Numa.Nodes[1].Distances.Should().Equal(20, 10);
    }

    [Fact]
    public void Node_cpus_come_from_cpumap_when_there_is_no_cpulist()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Node}/node0/cpumap", "00000000,0000000f\0\n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Numa.Nodes.Single().Cpus.Should().Equal(0, 1, 2, 3);
        f.Cpu.Online.Should().Equal([0, 1, 2, 3], "with no cpu/online, a CPU with a topology folder is online");
    }

    [Fact]
    public void Node_cpus_come_from_cpu_links_when_there_is_no_list_or_map()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/online", "0-3\n");
        t.Link($"{Node}/node0/cpu0", "../../cpu/cpu0").Link($"{Node}/node0/cpu1", "../../cpu/cpu1");
        t.Link($"{Node}/node1/cpu2", "../../cpu/cpu2").Link($"{Node}/node1/cpu3", "../../cpu/cpu3");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Numa.Nodes.Select(n => n.Cpus)
            .Should()
            .BeEquivalentTo(new[] { new[] { 0, 1 }, new[] { 2, 3 } }, o => o.WithStrictOrdering());
        f.Cpu.Cpus.Single(c => c.Id == 3).Node.Should().Be(1);
    }

    [Fact]
    public void Trailing_nul_bytes_and_blanks_are_ignored()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/online", "0-3\0\0\n");
        t.File("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n\0");
        t.File("/sys/kernel/mm/ksm/pages_to_scan", "100 \n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Cpu.Online.Should().Equal(0, 1, 2, 3);
        f.Memory.Thp.Enabled.Should().Be("madvise");
        f.Memory.Ksm.PagesToScan.Should().Be(100);
    }

    [Fact]
    public void Garbage_in_a_file_is_unknown_not_zero()
    {
        using var t = FourCpus(new TestTree());
        t.File($"{Cpu}/online", "zero to three\n");
        t.File("/sys/kernel/mm/ksm/run", "maybe\n");
        t.File($"{Node}/node0/cpulist", "0-x\n");
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Memory.Ksm.Run.Should().BeNull();
        f.Numa.Nodes.Single()
            .Cpus.Should()
            .BeEmpty("an unreadable cpulist and no cpumap or cpu links leave the node's CPUs unknown");
    }

    [Fact]
    public void A_bare_folder_gives_unknown_everywhere()
    {
        using var t = new TestTree();
        var f = HostFacts.Read(new HostReader(t.Root));
        f.Virtualization.Role.Should().Be(MachineRole.Unknown);
        f.Cpu.Packages.Should().BeNull();
        f.Cpu.Threads.Should().BeNull();
        f.Numa.Nodes.Should().BeEmpty();
        f.Memory.Thp.Enabled.Should().BeNull();
        f.Kernel.Release.Should().BeNull();
        f.Virtualization.Kvm.Exists.Should().BeFalse();
        f.Pci.Should().BeEmpty();
    }

    [Fact]
    public void Role_is_guest_from_dmi_and_host_when_cpuinfo_shows_no_hypervisor()
    {
        using var guest = new TestTree();
        guest.File("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx lm\n\n");
        guest.File("/sys/class/dmi/id/sys_vendor", "QEMU\n");
        HostFacts.Read(new HostReader(guest.Root)).Virtualization.Role.Should().Be(MachineRole.Guest);

        using var host = new TestTree();
        host.File("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx lm\n\n");
        var f = HostFacts.Read(new HostReader(host.Root));
        f.Virtualization.Role.Should().Be(MachineRole.Host);
        f.Cpu.Virtualization.Should().Be("vmx");
    }

    [Fact]
    public void The_kernel_command_line_is_split_like_the_kernel_splits_it()
    {
        using var t = new TestTree();
        t.File(
            "/proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=UUID=1 idle=poll nohz_full=1-35,37-71 isolcpus=\"1-3\" intel_iommu=on " +
                "hugepagesz=1G hugepages=8 quiet -- single\n"
        );
        var c = HostFacts.Read(new HostReader(t.Root)).Kernel.CommandLine!;
        c.Value("idle").Should().Be("poll");
        c.Value("nohz_full").Should().Be("1-35,37-71");
        c.Value("isolcpus").Should().Be("1-3");
        c.Value("hugepagesz").Should().Be("1G");
        c.Has("quiet").Should().BeTrue();
        c.InitArguments.Should().Equal("single");
    }
}
