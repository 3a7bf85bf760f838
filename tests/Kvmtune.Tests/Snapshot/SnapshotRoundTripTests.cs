using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Snapshot;
using Kvmtune.Reports;
using Kvmtune.Reports.Inspect;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Snapshot;

/// <summary>An extracted snapshot is a valid --root, and inspect on it prints exactly what it printed on the
/// original.</summary>
public sealed class SnapshotRoundTripTests(FixtureTrees fixtures)
{
    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void A_fixture_round_trips(string name) => RoundTrip(fixtures.Root(name));

    [Fact]
    public void This_machine_round_trips() => RoundTrip("/");

    [Fact]
    public void A_link_that_climbs_past_the_root_round_trips()
    {
        // "/.." is "/" (path_resolution(7)): the reader follows such a link inside the root (RESOLVE_IN_ROOT), so
        // the snapshot must hold the file it leads to, not only the link.
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root("8em64t-2s2ca2c"))
            .File("/etc/hostname", "tree-host\n")
            .Dir("/proc/sys/kernel")
            .Delete("/proc/sys/kernel/hostname")
            .Link("/proc/sys/kernel/hostname", "../../../../../../../../etc/hostname");
        new HostReader(t.Root).ReadText("/proc/sys/kernel/hostname").Should().Be("tree-host");
        RoundTrip(t.Root);
    }

    private static void RoundTrip(string root)
    {
        var reader = new HostReader(root);
        var facts = HostFacts.ReadAll(reader);
        var text = InspectTextRenderer.Render(facts, TextStyle.Plain);
        var json = InspectJson.Serialize(facts);

        using var work = new TestTree();
        var archive = Path.Combine(work.Root, "snap.tar.gz");
        using (var stream = File.Create(archive))
            new SnapshotWriter(reader).Write(stream, "{}");
        var extracted = Path.Combine(work.Root, "extracted");
        Directory.CreateDirectory(extracted);
        // The administrator's own tar, not .NET's reader, must be able to unpack it.
        var tar = Processes.Run("tar", ["-xzf", archive, "-C", extracted]);
        tar.ExitCode.Should().Be(0, tar.Stderr);

        var again = HostFacts.Read(new HostReader(extracted));
        InspectTextRenderer.Render(again, TextStyle.Plain).Should().Be(text);
        InspectJson.Serialize(again).Should().Be(json);
    }

    [Fact]
    public void A_process_that_exits_between_the_read_and_the_snapshot_is_still_captured_as_read()
    {
        using var t = new TestTree();
        t.File("/proc/77/comm", "irqbalance\n").File("/proc/78/comm", "sshd\n");
        var reader = new HostReader(t.Root);
        var before = HostFacts.ReadAll(reader).Userspace.Processes;
        t.Delete("/proc/77");
        using var work = new TestTree();
        var archive = Path.Combine(work.Root, "snap.tar.gz");
        using (var stream = File.Create(archive))
            new SnapshotWriter(reader).Write(stream, "{}");
        var extracted = Path.Combine(work.Root, "x");
        Directory.CreateDirectory(extracted);
        var tar = Processes.Run("tar", ["-xzf", archive, "-C", extracted]);
        tar.ExitCode.Should().Be(0, tar.Stderr);
        HostFacts.ReadAll(new HostReader(extracted)).Userspace.Processes.Should().BeEquivalentTo(before);
    }

    [Fact]
    public void The_snapshot_command_writes_an_archive_with_a_manifest()
    {
        using var work = new TestTree();
        var archive = Path.Combine(work.Root, "live.tar.gz");
        var run = KvmtuneRunner.Run("snapshot", "--output", archive);
        run.ExitCode.Should().Be(0, run.Stderr);
        var list = Processes.Run("tar", ["-tzf", archive]);
        list.Stdout.Should()
            .Contain("kvmtune-snapshot.json")
            .And.Contain("proc/cpuinfo")
            .And.Contain("sys/devices/system/cpu/online");
        Directory.GetFiles(work.Root).Should().ContainSingle("the temporary file is renamed, not left behind");
    }

    [Fact]
    public void The_snapshot_command_refuses_a_missing_output_folder()
    {
        var run = KvmtuneRunner.Run("snapshot", "--output", "/no/such/dir/x.tar.gz");
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("/no/such/dir");
    }
}
