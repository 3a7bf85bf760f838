using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;

namespace Kvmtune.Tests.Host;

/// <summary>
/// This machine's own /sys and /proc: it is a KVM guest, and every fact kvmtune reports equals the file it
/// came from (read here independently, with the test's own plain parsing).
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class LiveMachineTests
{
    private readonly HostReader _reader = new("/");
    private readonly HostFacts _facts;

    public LiveMachineTests() => _facts = HostFacts.Read(_reader);

    private static string? Raw(string path) =>
        File.Exists(path) ? File.ReadAllText(path).TrimEnd('\0', '\n', ' ') : null;

    [Fact]
    public void This_machine_is_a_guest()
    {
        Assert.SkipUnless(
            File.ReadAllText("/proc/cpuinfo").Contains(" hypervisor"),
            "this machine is not a virtual machine"
        );
        _facts.Virtualization.Role.Should().Be(MachineRole.Guest);
    }

    [Fact]
    public void Cpu_facts_equal_the_kernel_files()
    {
        var online = Raw("/sys/devices/system/cpu/online")!;
        _facts.Cpu.Online.Should().Equal(ExpandList(online));
        var cpuinfo = File.ReadAllText("/proc/cpuinfo");
        _facts.Cpu.Threads.Should().Be(Regex.Matches(cpuinfo, @"^processor\s*:", RegexOptions.Multiline).Count);
        _facts
            .Cpu.Vendor.Should()
            .Be(Regex.Match(cpuinfo, @"^vendor_id\s*:\s*(.*)$", RegexOptions.Multiline).Groups[1].Value.Trim());
        _facts
            .Cpu.Model.Should()
            .Be(Regex.Match(cpuinfo, @"^model name\s*:\s*(.*)$", RegexOptions.Multiline).Groups[1].Value.Trim());
        var packages = Directory
            .GetDirectories("/sys/devices/system/cpu", "cpu*")
            .Where(d => Regex.IsMatch(Path.GetFileName(d), @"^cpu\d+$"))
            .Select(d => Raw(d + "/topology/physical_package_id"))
            .Where(p => p is not null)
            .Distinct()
            .Count();
        _facts.Cpu.Packages.Should().Be(packages);
    }

    [Fact]
    public void Numa_and_memory_facts_equal_the_kernel_files()
    {
        foreach (var node in _facts.Numa.Nodes)
        {
            var dir = $"/sys/devices/system/node/node{node.Id}";
            node.Cpus.Should().Equal(ExpandList(Raw(dir + "/cpulist")!));
            var total = Regex.Match(File.ReadAllText(dir + "/meminfo"), @"MemTotal:\s+(\d+) kB").Groups[1].Value;
            node.MemoryTotalKib.Should().Be(long.Parse(total));
            foreach (var pool in node.Hugepages)
                pool.Total.Should().Be(long.Parse(Raw($"{dir}/hugepages/hugepages-{pool.SizeKib}kB/nr_hugepages")!));
        }
        _facts.Numa.NumaBalancing?.ToString().Should().Be(Raw("/proc/sys/kernel/numa_balancing"));
        var thp = Raw("/sys/kernel/mm/transparent_hugepage/enabled");
        if (thp is not null)
            _facts.Memory.Thp.Enabled.Should().Be(Regex.Match(thp, @"\[(\w+)\]").Groups[1].Value);
        foreach (
            var (name, value) in new (string, long?)[]
            {
                ("pages_to_scan", _facts.Memory.Ksm.PagesToScan),
                ("sleep_millisecs", _facts.Memory.Ksm.SleepMillisecs),
                ("run", _facts.Memory.Ksm.Run),
            }
        )
            if (Raw($"/sys/kernel/mm/ksm/{name}") is string ksm)
                value.Should().Be(long.Parse(ksm), name);
        var hugepagesize = Regex.Match(File.ReadAllText("/proc/meminfo"), @"Hugepagesize:\s+(\d+) kB").Groups[1].Value;
        _facts.Memory.DefaultHugepageKib.Should().Be(long.Parse(hugepagesize));
    }

    [Fact]
    public void Kernel_power_and_device_facts_equal_the_kernel_files()
    {
        _facts.Kernel.Release.Should().Be(Raw("/proc/sys/kernel/osrelease"));
        _facts.Kernel.CommandLine!.Raw.Should().Be(Raw("/proc/cmdline"));
        _facts.Power.CpuidleDriver.Should().Be(Raw("/sys/devices/system/cpu/cpuidle/current_driver"));
        foreach (var module in new[] { "kvm", "haltpoll", "kvm_intel", "vhost_net" })
        {
            var dir = $"/sys/module/{module}/parameters";
            if (!Directory.Exists(dir))
            {
                _facts.Kernel.ModuleParameters.Should().NotContainKey(module);
                continue;
            }
            foreach (var file in Directory.GetFiles(dir))
                if (Raw(file) is string v)
                    _facts.Kernel.Param(module, Path.GetFileName(file)).Should().Be(v, file);
        }
        foreach (var pci in _facts.Pci)
        {
            var node = int.Parse(Raw($"/sys/bus/pci/devices/{pci.Address}/numa_node") ?? "-1");
            pci.NumaNode.Should().Be(node < 0 ? null : node, pci.Address);
            pci.Vendor.Should().Be(Raw($"/sys/bus/pci/devices/{pci.Address}/vendor"));
        }
        _facts
            .Pci.Select(p => p.Address)
            .Should()
            .BeEquivalentTo(Directory.GetFileSystemEntries("/sys/bus/pci/devices").Select(Path.GetFileName));
        _facts.Virtualization.Kvm.Exists.Should().Be(File.Exists("/dev/kvm"));
        _facts.Virtualization.VhostNet.Exists.Should().Be(File.Exists("/dev/vhost-net"));
    }

    [Fact]
    public void A_haltpoll_guest_reports_its_guest_halt_polling_parameters()
    {
        Assert.SkipUnless(
            Raw("/sys/devices/system/cpu/cpuidle/current_driver") == "haltpoll",
            "the cpuidle driver here is not haltpoll"
        );
        _facts.Power.CpuidleDriver.Should().Be("haltpoll");
        _facts
            .Kernel.Param("haltpoll", "guest_halt_poll_ns")
            .Should()
            .Be(Raw("/sys/module/haltpoll/parameters/guest_halt_poll_ns"));
        _facts
            .Power.IdleStates.Select(s => s.Name)
            .Should()
            .Equal(
                Directory.GetDirectories("/sys/devices/system/cpu/cpu0/cpuidle").Order().Select(d => Raw(d + "/name"))
            );
    }

    /// <summary>The test's own CPU-list expansion, independent of kvmtune's parser.</summary>
    private static List<int> ExpandList(string text) =>
        text.Length == 0
            ? []
            : text.Split(',')
                .SelectMany(p =>
                    p.Contains('-')
                        ? Enumerable.Range(
                            int.Parse(p.Split('-')[0]),
                            int.Parse(p.Split('-')[1]) - int.Parse(p.Split('-')[0]) + 1
                        )
                        : [int.Parse(p)]
                )
                .ToList();
}
