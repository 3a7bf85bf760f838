using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// Kernels before 5.6 have no openat2(2): it answers ENOSYS (Debian 10's 4.19, Ubuntu 18.04's 4.15). kvmtune then
/// resolves a tree's links itself and opens the result with O_NOFOLLOW on every component. strace's fault injection
/// makes every openat2 answer ENOSYS; the oracle is the same command on this kernel, whose openat2 resolves the
/// links (RESOLVE_IN_ROOT), and the content the test wrote where a link leads.
/// </summary>
public sealed class WithoutOpenat2Tests(FixtureTrees fixtures)
{
    private static (ProcessResult Run, string[] Trace) WithoutOpenat2(params string[] args) =>
        Measured.Strace(["-e", "trace=openat2", "-e", "signal=none", "-e", "inject=openat2:error=ENOSYS"], args);

    [Theory]
    [InlineData("8em64t-2s2ca2c")]
    [InlineData("32em64t-2n8c+dax+nvme+mic+dimms")]
    [InlineData("40intel64-2g2n4c+pcilocality")]
    public void Inspect_and_audit_read_what_they_read_with_openat2(string fixture)
    {
        var root = fixtures.Root(fixture);
        foreach (var command in new[] { "inspect", "audit" })
        {
            var with = KvmtuneProcess.Run(command, "--format", "json", "--root", root);
            var (without, trace) = WithoutOpenat2(command, "--format", "json", "--root", root);
            var calls = trace.Where(l => l.Contains("openat2(", StringComparison.Ordinal)).ToList();
            calls.Should().NotBeEmpty().And.OnlyContain(l => l.Contains("ENOSYS", StringComparison.Ordinal));
            // Answered ENOSYS once, the one reader a read-only command makes asks no more.
            calls.Should().HaveCount(1, string.Join('\n', trace));
            without.ExitCode.Should().Be(with.ExitCode, without.Stderr);
            without.Stdout.Should().Be(with.Stdout);
        }
    }

    [Fact]
    public void A_link_in_the_tree_still_leads_inside_it()
    {
        using var h = new SyntheticHost();
        h.Tree.File("/etc/hostname", "tree-host\n")
            .Delete("/proc/sys/kernel/hostname")
            .Link("/proc/sys/kernel/hostname", "../../../../../../../../etc/hostname");
        string[] inspect = ["inspect", "--format", "json", "--root", h.Root];
        var (run, _) = WithoutOpenat2(inspect);
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("\"hostname\": \"tree-host\"");
        KvmtuneProcess.Run(inspect).Stdout.Should().Be(run.Stdout);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../../../../../../../etc/passwd")]
    public void A_link_out_of_sys_is_refused_before_anything_is_written(string target)
    {
        // As ApplyRollbackTests checks with openat2: the attribute's link leads to a file kvmtune does not write.
        using var h = new SyntheticHost();
        var profile = Changes.ApplyRollbackTests.LinkOutOfSys(h, target);
        var before = TreeState.Of(h.Root);
        var (run, _) = WithoutOpenat2("apply", "--root", h.Root, "--profile", profile);
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("refused");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        File.ReadAllText(h.Tree.Physical("/etc/passwd")).Should().StartWith("root:x:0:0");
    }

    [Fact]
    public void The_walk_opens_the_root_itself_as_asked()
    {
        // The walk that stands in for openat2 gave its O_PATH handle for "/", which cannot be listed.
        using var t = new TestTree();
        t.File("/proc/cpuinfo", "").File("/sys/x", "");
        var root = NativeSys.OpenDirectory(t.Root);
        try
        {
            var fd = SafeTree.WalkNoFollow(root, "/", NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0);
            NativeFile.ListNames(fd, null).Should().BeEquivalentTo(["proc", "sys"]);
        }
        finally
        {
            NativeSys.CloseFd(root);
        }
    }

    [Fact]
    public void Apply_and_rollback_leave_the_tree_as_before()
    {
        using var h = new SyntheticHost();
        var before = TreeState.Of(h.Root);
        var (apply, _) = WithoutOpenat2("apply", "--profile", "latency", "--persist", "--root", h.Root);
        apply.ExitCode.Should().Be(0, apply.Stderr);
        before.Diff(TreeState.Of(h.Root)).Should().NotBeEmpty("the profile changes the synthetic host");
        var (rollback, _) = WithoutOpenat2("rollback", "--root", h.Root);
        rollback.ExitCode.Should().Be(0, rollback.Stderr);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }
}
