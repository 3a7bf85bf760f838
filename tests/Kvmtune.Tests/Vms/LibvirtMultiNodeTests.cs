using System.Text.Json;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// The 4-node host of hwloc's 40intel64-4n10c+pci-conflicts tree (a real kernel's /sys/devices/system/node: cpulist,
/// cpumap, meminfo, distance, 2 MiB pools), seen by kvmtune through --root and by a private libvirtd through a mount
/// namespace where that node folder is bind-mounted over this machine's. The per-node pools are given free pages, as a
/// host that reserved them has.
/// </summary>
public sealed class FourNodeLibvirt : IDisposable
{
    public const string Fixture = "40intel64-4n10c+pci-conflicts";
    public const long FreePages = 1024;
    private readonly string _dir = Path.Combine(
        Paths.Scratch,
        $"kvmtune-4n-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]
    );

    public FourNodeLibvirt()
    {
        Directory.CreateDirectory(_dir);
        var tar = Processes.Run("tar", ["-xjf", Path.Combine(Paths.HwlocFixtures, Fixture + ".tar.bz2"), "-C", _dir]);
        if (tar.ExitCode != 0)
            throw new InvalidOperationException(tar.Stderr);
        Root = Path.Combine(_dir, Fixture);
        for (var n = 0; n < 4; n++)
        {
            var pool = Path.Combine(Root, $"sys/devices/system/node/node{n}/hugepages/hugepages-2048kB");
            File.WriteAllText(Path.Combine(pool, "nr_hugepages"), $"{FreePages}\n");
            File.WriteAllText(Path.Combine(pool, "free_hugepages"), $"{FreePages}\n");
        }
        try
        {
            Libvirt = new LibvirtDaemon(Path.Combine(Root, "sys/devices/system/node"));
        }
        catch
        {
            Directory.Delete(_dir, recursive: true);
            throw;
        }
        // The tree mounts the hugetlbfs libvirt found at its start, in the same order: both take the first of a size
        // (on a shared machine another test run's mount may come before this daemon's own).
        var mounts = File.ReadAllLines("/proc/mounts").Where(l => l.Split(' ') is [_, _, "hugetlbfs", ..]).ToList();
        File.AppendAllLines(Path.Combine(Root, "proc/mounts"), mounts);
        Hugetlbfs2M = mounts.Select(l => l.Split(' ')).First(f => f[3].Contains("pagesize=2M"))[1];
    }

    /// <summary>The first 2 MiB hugetlbfs mounted when the daemon started: where both put 2 MiB memory.</summary>
    public string Hugetlbfs2M { get; }

    public string Root { get; }
    public LibvirtDaemon Libvirt { get; }

    public void Dispose()
    {
        Libvirt.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// VMs bound to several host nodes, rendered by kvmtune and by the real libvirt on a host it sees as four nodes: the
/// memory backends' host-nodes and policy, the -numa nodes and distances, and every other performance option agree.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed partial class LibvirtMultiNodeTests(FourNodeLibvirt host) : IClassFixture<FourNodeLibvirt>
{
    private static readonly Dictionary<string, string> Corpus = new()
    {
        ["span-two"] = "vcpus: 16\nmemory: 2GiB\nworkload: latency\nhugepages: none\n",
        ["span-four"] = "vcpus: 32\nmemory: 4GiB\nworkload: latency\nhugepages: none\n",
        ["span-two-2m"] = "vcpus: 16\nmemory: 2GiB\nworkload: latency\nhugepages: 2MiB\n",
        ["node2-guest-nodes"] =
            "vcpus: 2\nmemory: 1GiB\nhugepages: none\nnuma_node: 2\nguest_numa_nodes: 2\ndedicated_cpus: false\n",
        ["node3-2m"] = "vcpus: 2\nmemory: 512MiB\nhugepages: 2MiB\nnuma_node: 3\nworkload: throughput\n",
    };

    public static TheoryData<string, string> Renderings()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in Corpus.Keys)
        {
            data.Add(name, "kvm");
            data.Add(name, "tcg");
        }
        return data;
    }

    [Fact]
    public void The_private_libvirtd_sees_the_four_nodes_of_the_tree()
    {
        var caps = host.Libvirt.Virsh("capabilities");
        caps.ExitCode.Should().Be(0, caps.Stderr);
        CellLine().Matches(caps.Stdout).Select(m => m.Groups[1].Value).Should().Equal("0", "1", "2", "3");
        caps.Stdout.Should().Contain("<cells num='4'>");
    }

    [Theory]
    [MemberData(nameof(Renderings))]
    public void Libvirt_binds_each_memory_backend_to_the_host_node_kvmtune_planned(string name, string accel)
    {
        var vm = $"kvt-mn-{name}";
        var spec = Path.Combine(host.Root, $"{name}.yaml");
        File.WriteAllText(spec, $"name: {vm}\n" + Corpus[name]);
        string[] root = ["--root", host.Root];
        var plan = KvmtuneRunner.Run(["vm", "plan", spec, "--format", "json", .. root]);
        plan.ExitCode.Should().Be(0, plan.Stdout + plan.Stderr);
        var memory = JsonDocument
            .Parse(plan.Stdout)
            .RootElement.GetProperty("vms")[0]
            .GetProperty("memory")
            .EnumerateArray()
            .Select(m => m.GetProperty("node").GetInt32())
            .ToList();
        var qemu = KvmtuneRunner.Run(["vm", "qemu", spec, "--accel", accel, "--format", "json", .. root]);
        qemu.ExitCode.Should().Be(0, qemu.Stderr);
        var xml = Path.Combine(host.Root, $"{name}-{accel}.xml");
        var lv = KvmtuneRunner.Run(["vm", "libvirt", spec, "--accel", accel, "--output", xml, .. root]);
        lv.ExitCode.Should().Be(0, lv.Stderr);
        try
        {
            var define = host.Libvirt.Virsh("define", xml);
            define.ExitCode.Should().Be(0, define.Stderr);
            var native = host.Libvirt.Virsh("domxml-to-native", "qemu-argv", "--domain", vm);
            native.ExitCode.Should().Be(0, native.Stderr);
            var theirs = QemuArgs.Text(
                LibvirtAgreementTests.Facts(LibvirtAgreementTests.Words(native.Stdout), nics: false, hostNodes: true)
            );
            var ours = QemuArgs.Text(
                LibvirtAgreementTests.Facts(LibvirtAgreementTests.Argv(qemu.Stdout), nics: false, hostNodes: true)
            );
            ours.Should().Be(theirs, $"libvirt's argv:\n{native.Stdout}");
            // The comparison reached the binding: one backend per planned host node, bound to it.
            for (var i = 0; i < memory.Count; i++)
                ours.Should()
                    .Contain($"mem.ram-node{i}.host-nodes = {memory[i]}\n")
                    .And.Contain($"mem.ram-node{i}.policy = bind");
            // This host's distances are the defaults (10, 20): neither rendering builds a SLIT for them.
            if (memory.Count > 1)
                ours.Should().NotContain("numa.dist.");
            if (name.EndsWith("2m", StringComparison.Ordinal))
                ours.Should()
                    .Contain("mem.ram-node0.hugetlbfs = " + host.Hugetlbfs2M)
                    .And.Contain("mem.ram-node0.prealloc = on");
        }
        finally
        {
            host.Libvirt.Virsh("undefine", vm);
        }
    }

    [GeneratedRegex(@"<cell id='(\d+)'>")]
    private static partial Regex CellLine();
}
