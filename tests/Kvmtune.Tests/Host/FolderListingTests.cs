using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// Folders are listed with getdents64(2) directly (NativeFile.ListNames). The oracle is .NET's own enumerator,
/// which lists through readdir(3): the same names, on the live sysfs and procfs, on a folder too large for one
/// call, and on names that are not ASCII.
/// </summary>
public sealed class FolderListingTests
{
    private static List<string> DotNet(string path) =>
        [.. Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).Select(n => n!)];

    [Theory]
    [InlineData("/sys/devices/system/cpu")]
    [InlineData("/sys/bus/pci/devices")]
    [InlineData("/sys/class/net")]
    [InlineData("/proc/sys/kernel")]
    [InlineData("/etc")]
    [InlineData("/usr/bin")]
    public void A_live_folder_lists_the_names_dotnet_lists(string path)
    {
        NativeFile.ListNames(path).Should().BeEquivalentTo(DotNet(path));
        new HostReader("/").List(path).Should().Equal(DotNet(path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_folder_larger_than_one_call_is_listed_whole()
    {
        // 3,000 names of 100 bytes: about 350 KB of records, many times the 16 KiB a call reads.
        using var t = new TestTree();
        var dir = t.Physical("/sys/many");
        Directory.CreateDirectory(dir);
        for (var i = 0; i < 3000; i++)
            File.WriteAllText(Path.Combine(dir, $"{i:D5}-{new string('x', 94)}"), "");
        // Names a tree may hold: non-ASCII, a newline, a name of 255 bytes (NAME_MAX).
        File.WriteAllText(Path.Combine(dir, "nœud-é"), "");
        File.WriteAllText(Path.Combine(dir, "line\nbreak"), "");
        File.WriteAllText(Path.Combine(dir, new string('n', 255)), "");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        var names = NativeFile.ListNames(dir);
        names.Should().HaveCount(3004).And.BeEquivalentTo(DotNet(dir));
        new HostReader(t.Root).List("/sys/many").Should().Equal(DotNet(dir).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void What_is_not_a_folder_has_no_listing()
    {
        using var t = new TestTree();
        t.File("/sys/file", "1\n");
        NativeFile.ListNames(t.Physical("/sys/file")).Should().BeNull();
        NativeFile.ListNames(t.Physical("/sys/missing")).Should().BeNull();
        var reader = new HostReader(t.Root);
        reader.List("/sys/file").Should().BeNull();
        reader.List("/sys/missing").Should().BeNull();
        reader.List("/sys").Should().Equal("file");
    }
}
