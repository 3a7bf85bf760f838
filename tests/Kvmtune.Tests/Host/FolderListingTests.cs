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
    /// <summary>
    /// Under --root a listing keeps each name's d_type. The oracle is lstat(2) of each name: d_type is the file type
    /// bits of st_mode shifted right by 12 (IFTODT in dirent.h). The listing also finds a name by binary search in
    /// ordinal order, and answers Absent for one it does not have.
    /// </summary>
    [Fact]
    public void A_listing_under_a_root_gives_each_name_the_type_lstat_gives()
    {
        using var t = new TestTree();
        var dir = t.Physical("/sys/kinds");
        Directory.CreateDirectory(Path.Combine(dir, "folder"));
        File.WriteAllText(Path.Combine(dir, "file"), "1\n");
        File.CreateSymbolicLink(Path.Combine(dir, "link"), "file");
        Processes.Run("mkfifo", Path.Combine(dir, "fifo")).ExitCode.Should().Be(0);
        Processes.Run("mknod", Path.Combine(dir, "null"), "c", "1", "3").ExitCode.Should().Be(0);
        Processes.Run("mknod", Path.Combine(dir, "loop"), "b", "7", "0").ExitCode.Should().Be(0);
        foreach (var i in Enumerable.Range(0, 40))
            File.WriteAllText(Path.Combine(dir, $"attr{i}"), "");
        // Ordinal order puts "A", "Z" and "_x" before "a"; a culture's order would not.
        foreach (var name in new[] { "A", "Z", "_x", "a" })
            File.WriteAllText(Path.Combine(dir, name), "");
        var listing = new HostReader(t.Root).List("/sys/kinds").Should().BeOfType<FolderListing>().Subject;
        listing.Should().BeInAscendingOrder(StringComparer.Ordinal).And.HaveCount(50);
        listing.Take(3).Should().Equal("A", "Z", "_x");
        foreach (var name in listing)
            listing.TypeOf(name).Should().Be((int)(NativeSys.Lstat(Path.Combine(dir, name))!.Value.Mode >> 12), name);
        listing.TypeOf("attr").Should().Be(FolderListing.Absent);
        listing.TypeOf("zzz").Should().Be(FolderListing.Absent);
        listing.Contains("attr39").Should().BeTrue();
        listing.Contains("_x").Should().BeTrue();
    }

    /// <summary>
    /// Every answer of one run agrees with the others: once a folder is listed, a name it did not have is missing
    /// for the rest of the run, without an open, even if a file of that name appears; one it had is read.
    /// </summary>
    [Fact]
    public void A_name_missing_from_its_folders_listing_stays_missing_for_the_run()
    {
        using var t = new TestTree();
        t.File("/sys/devices/system/cpu/cpu0/online", "1\n");
        var reader = new HostReader(t.Root);
        reader.List("/sys/devices/system/cpu/cpu0").Should().Equal("online");
        t.File("/sys/devices/system/cpu/cpu0/late", "1\n");
        reader.ReadText("/sys/devices/system/cpu/cpu0/late").Should().BeNull();
        reader.ReadText("/sys/devices/system/cpu/cpu0/online").Should().Be("1");
        new HostReader(t.Root).ReadText("/sys/devices/system/cpu/cpu0/late").Should().Be("1", "a new run sees it");
    }
}
