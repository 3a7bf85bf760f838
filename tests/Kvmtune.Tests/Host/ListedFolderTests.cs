using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// Under --root, a name under the folder listed last is opened from that folder's descriptor (RESOLVE_BENEATH), not
/// walked again from the root. The answer must be the one the root walk gives, as openat2(2) defines
/// RESOLVE_IN_ROOT: every link, absolute or relative, resolved as if the tree were "/". The oracle is the content
/// the test wrote where each link leads inside the tree, and the live file the same link would reach outside it.
/// </summary>
public sealed class ListedFolderTests : IDisposable
{
    private const string Dev = "/sys/devices/pci0000:00/0000:00:01.0";
    private const string Other = "/sys/devices/pci0000:00/0000:00:02.0";
    private readonly TestTree _t = new();
    private readonly HostReader _reader;

    public ListedFolderTests()
    {
        _t.File($"{Dev}/numa_node", "1\n")
            .File($"{Other}/numa_node", "other\n")
            .File($"{Other}/sub/attr", "other-sub\n")
            .File("/etc/hostname", "tree-host\n")
            .Link($"{Dev}/inside", "numa_node")
            .Link($"{Dev}/sideways", "../0000:00:02.0/numa_node")
            .Link($"{Dev}/absolute", $"{Other}/numa_node")
            // Nine ".." climb past the tree's root: inside the root they stop at "/", as at the real "/".
            .Link($"{Dev}/climb", "../../../../../../../../../etc/hostname")
            .Link($"{Dev}/folder", "../0000:00:02.0")
            .Link($"{Dev}/rooted", "/sys/devices/pci0000:00/0000:00:02.0/sub")
            .Link($"{Dev}/live", "/proc/self/status")
            .Link($"{Dev}/driver", "../../../bus/pci/drivers/vfio-pci");
        _reader = new HostReader(_t.Root);
        _reader.List(Dev).Should().Contain("numa_node");
    }

    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("numa_node", "1")]
    [InlineData("inside", "1")]
    [InlineData("sideways", "other")]
    [InlineData("absolute", "other")]
    [InlineData("climb", "tree-host")]
    [InlineData("folder/numa_node", "other")]
    [InlineData("folder/sub/attr", "other-sub")]
    [InlineData("rooted/attr", "other-sub")]
    [InlineData("../0000:00:02.0/numa_node", "other")]
    public void A_name_under_the_listed_folder_reads_what_the_root_walk_reads(string name, string expected)
    {
        _reader.ReadText($"{Dev}/{name}").Should().Be(expected);
        // The same path, asked of a reader that listed nothing, walks from the root: the same file.
        new HostReader(_t.Root).ReadText($"{Dev}/{name}").Should().Be(expected);
    }

    [Theory]
    [InlineData("numa_node", "1")]
    [InlineData("sideways", "other")]
    [InlineData("climb", "tree-host")]
    [InlineData("../0000:00:02.0/numa_node", "other")]
    public void A_listed_folder_that_is_a_link_reads_what_the_root_walk_reads(string name, string expected)
    {
        // As sysfs lists PCI devices: /sys/bus/pci/devices/ADDRESS is a link to the device's folder. ".." after it
        // is the parent of the folder it leads to, as path_resolution(7) has it for any link.
        const string Bus = "/sys/bus/pci/devices/0000:00:01.0";
        _t.Link(Bus, "../../../devices/pci0000:00/0000:00:01.0");
        var reader = new HostReader(_t.Root);
        reader.List(Bus).Should().Contain("numa_node");
        reader.ReadText($"{Bus}/{name}").Should().Be(expected);
        new HostReader(_t.Root).ReadText($"{Bus}/{name}").Should().Be(expected);
    }

    [Fact]
    public void A_link_out_of_the_folder_never_reaches_the_live_system()
    {
        // Followed outside the root, "climb" would reach this machine's /etc/hostname and "live" this process's
        // status; inside it, the tree's hostname and nothing.
        _reader.ReadText($"{Dev}/climb").Should().Be("tree-host");
        File.Exists("/proc/self/status").Should().BeTrue();
        _reader.ReadText($"{Dev}/live").Should().BeNull("the tree has no /proc/self/status");
    }

    [Fact]
    public void Links_and_probes_in_the_listed_folder_answer_as_before()
    {
        _reader.ReadLink($"{Dev}/driver").Should().Be("../../../bus/pci/drivers/vfio-pci");
        _reader.LinkName($"{Dev}/driver").Should().Be("vfio-pci");
        _reader.ReadLink($"{Dev}/numa_node").Should().BeNull("a regular file is not a link");
        _reader.Probe($"{Dev}/folder").Should().Be(EntryKind.Directory);
        _reader.Probe($"{Dev}/climb").Should().Be(EntryKind.File);
        _reader.Probe($"{Dev}/missing").Should().Be(EntryKind.Missing);
    }

    [Fact]
    public void Listing_one_folder_after_another_holds_one_descriptor()
    {
        for (var i = 0; i < 300; i++)
            _t.File($"/sys/devices/many/d{i}/numa_node", $"{i}\n");
        var reader = new HostReader(_t.Root);
        for (var i = 0; i < 300; i++)
        {
            reader.List($"/sys/devices/many/d{i}").Should().Equal("numa_node");
            reader.ReadInt($"/sys/devices/many/d{i}/numa_node").Should().Be(i);
        }
        // The kernel's list of this process's descriptors: of the 300 folders, only the last is still open. The
        // kernel names them by their real path, so the tree's is asked of realpath(1).
        var many = Processes.Run("realpath", _t.Physical("/sys/devices/many")).Stdout.Trim();
        var open = new DirectoryInfo("/proc/self/fd")
            .EnumerateFileSystemInfos()
            .Select(f => f.LinkTarget)
            .Where(target => target?.StartsWith(many + "/", StringComparison.Ordinal) == true)
            .ToList();
        open.Should().Equal(many + "/d299");
        GC.KeepAlive(reader);
    }

    [Fact]
    public void The_binary_opens_a_listed_devices_attributes_by_name_from_its_folder()
    {
        // strace's record: after the NIC's folder is listed, its numa_node is opened as the one name "numa_node"
        // (one component for the kernel to walk), never again as a path from the tree's root; and strace -y's path
        // of what was opened shows it is the NIC's.
        using var h = new SyntheticHost();
        string[] inspect = ["inspect", "--format", "json", "--root", h.Root];
        var (run, calls) = Measured.Traced("openat2", inspect);
        run.ExitCode.Should().Be(0, run.Stderr);
        calls.Should().Contain(l => l.Contains(", \"numa_node\",", StringComparison.Ordinal));
        calls.Should().NotContain(l => l.Contains($"{SyntheticHost.Nic}/numa_node\"", StringComparison.Ordinal));
        var (_, opens) = Measured.Opens(inspect);
        opens.Should().Contain(p => p.EndsWith($"{SyntheticHost.Nic}/numa_node", StringComparison.Ordinal));
    }
}
