using System.Globalization;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>The real <c>lstopo</c> (hwloc) on the same root sees the same nodes, CPUs, cores and packages.</summary>
public sealed class LstopoAgreementTests(FixtureTrees fixtures)
{
    /// <summary>hwloc drops this tree's fourth package on purpose (conflicting localities); the kernel lists
    /// four.</summary>
    private const string PackageConflictFixture = "40intel64-4n10c+pci-conflicts";

    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    [MemberData(nameof(FixtureTrees.Corpus), MemberType = typeof(FixtureTrees))]
    public void Nodes_cpus_cores_and_packages_agree_with_lstopo(string name)
    {
        Assert.SkipUnless(
            Processes.OnPath("lstopo-no-graphics"),
            "lstopo-no-graphics is not installed (Debian hwloc-nox; test.sh installs it)"
        );
        var root = fixtures.Root(name);
        var run = Processes.Run(
            "lstopo-no-graphics",
            ["--of", "xml", "-"],
            new Dictionary<string, string> { ["HWLOC_FSROOT"] = root }
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        var xml = XDocument.Parse(run.Stdout);
        var objects = xml.Descendants("object").ToList();
        List<XElement> OfType(string t) => objects.Where(o => (string?)o.Attribute("type") == t).ToList();

        var facts = HostFacts.Read(new HostReader(root));
        var lstopoNodes = OfType("NUMANode")
            .ToDictionary(
                n => int.Parse((string)n.Attribute("os_index")!, CultureInfo.InvariantCulture),
                n => HwlocSet((string)n.Attribute("cpuset")!)
            );
        facts.Numa.Nodes.ToDictionary(n => n.Id, n => n.Cpus.ToList()).Should().BeEquivalentTo(lstopoNodes);
        facts.Cpu.Threads.Should().Be(OfType("PU").Count);
        facts.Cpu.Cores.Should().Be(OfType("Core").Count);
        if (KernelHasNoPackageId(root))
            facts.Cpu.Packages.Should().BeNull("the kernel says -1 (no package id); hwloc infers packages");
        else if (name != PackageConflictFixture)
            facts.Cpu.Packages.Should().Be(OfType("Package").Count);
        else
            facts.Cpu.Packages.Should().Be(OfType("Package").Count + 1);
    }

    /// <summary>Whether a CPU's physical_package_id is -1, as on the POWER tree of hwloc's corpus (the kernel's
    /// topology_physical_package_id where the firmware gives none).</summary>
    private static bool KernelHasNoPackageId(string root) =>
        Directory
            .GetDirectories(Path.Combine(root, "sys/devices/system/cpu"), "cpu*")
            .Select(d => Path.Combine(d, "topology/physical_package_id"))
            .Any(f => File.Exists(f) && File.ReadAllText(f).Trim() == "-1");

    /// <summary>hwloc's bitmap text: comma-separated 32-bit hex words, most significant first, each "0x"-prefixed; an
    /// empty word is zero.</summary>
    private static List<int> HwlocSet(string text)
    {
        var words = text.Split(',').Select(w => w.StartsWith("0x") ? w[2..] : w).ToArray();
        var cpus = new List<int>();
        for (var i = 0; i < words.Length; i++)
        {
            var word = words[words.Length - 1 - i];
            var value = word.Length == 0 ? 0u : uint.Parse(word, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            for (var b = 0; b < 32; b++)
                if ((value & (1u << b)) != 0)
                    cpus.Add(i * 32 + b);
        }
        return cpus;
    }
}
