using AwesomeAssertions;
using Kvmtune.Facts.Parsing;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// The kernel prints each of these cpumasks twice, as hex words and as a list (drivers/base/topology.c and
/// drivers/base/node.c, cpumap_print_to_pagebuf with list false and true; drivers/pci/pci-sysfs.c for local_cpus):
/// the two parse to the same CPUs, on this machine and on every real tree that has both. The readers take the mask
/// first, which every kernel has, and the list when it is missing.
/// </summary>
public sealed class MaskListAgreementTests(FixtureTrees fixtures)
{
    // The masks the readers read, and the lists they fall back to (core_cpus is thread_siblings' new name,
    // Documentation/admin-guide/cputopology.rst). Other topology masks are not compared: hwloc built its
    // 40intel64-4n10c+pci-conflicts tree with core_siblings that disagree with their lists.
    private static readonly (string Mask, string List)[] TopologyPairs =
    [
        ("thread_siblings", "thread_siblings_list"),
        ("thread_siblings", "core_cpus_list"),
        ("core_cpus", "core_cpus_list"),
    ];

    [Fact]
    public void On_this_machine() =>
        Compare("/", withPci: true).Should().BePositive("this machine's sysfs has both forms");

    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    [MemberData(nameof(FixtureTrees.Corpus), MemberType = typeof(FixtureTrees))]
    public void On_real_trees(string name) =>
        Compare(fixtures.Root(name), withPci: name != "40intel64-4n10c+pci-conflicts");

    /// <summary>How many pairs were compared.</summary>
    private static int Compare(string root, bool withPci)
    {
        var pairs = new List<(string Mask, string List)>();
        var sys = Path.Combine(root, "sys/devices/system");
        foreach (var cpu in Folders(Path.Combine(sys, "cpu"), "cpu"))
        {
            var topology = Path.Combine(cpu, "topology");
            pairs.AddRange(TopologyPairs.Select(p => (Path.Combine(topology, p.Mask), Path.Combine(topology, p.List))));
        }
        foreach (var node in Folders(Path.Combine(sys, "node"), "node"))
            pairs.Add((Path.Combine(node, "cpumap"), Path.Combine(node, "cpulist")));
        // hwloc's pci-conflicts tree gives its devices a local_cpus of 0xf and a local_cpulist of 0-39, on purpose.
        foreach (var device in withPci ? Folders(Path.Combine(root, "sys/bus/pci/devices"), "") : [])
            pairs.Add((Path.Combine(device, "local_cpus"), Path.Combine(device, "local_cpulist")));
        var compared = 0;
        foreach (var (mask, list) in pairs)
        {
            if (!File.Exists(mask) || !File.Exists(list))
                continue;
            CpuMask.Parse(File.ReadAllText(mask)).Should().Equal(CpuList.Parse(File.ReadAllText(list)), mask);
            compared++;
        }
        return compared;
    }

    private static IEnumerable<string> Folders(string dir, string prefix) =>
        Directory.Exists(dir)
            ? Directory
                .GetDirectories(dir)
                .Where(d =>
                    Path.GetFileName(d) is var n && n.StartsWith(prefix, StringComparison.Ordinal)
                    && (prefix.Length == 0 || n.Length > prefix.Length && char.IsAsciiDigit(n[prefix.Length]))
                )
            : [];
}
