using System.Text.Json.Nodes;
using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// The reproductions of the hostile-input review (issue 10): links, injected lines, devices at --output, edited
/// journals. Each builds the situation under /dev/shm and checks that nothing outside what kvmtune may touch moved.
/// </summary>
public sealed class HostileWriterTests(FixtureTrees fixtures)
{
    private static string JournalDir(SyntheticHost h) => h.Tree.Physical("/var/lib/kvmtune/journal");

    /// <summary>
    /// The persistent files a latency --persist apply writes on the synthetic host (from its own plan).
    /// </summary>
    private static List<string> PersistentFiles(SyntheticHost h)
    {
        var plan = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist", "--dry-run");
        plan.ExitCode.Should().Be(0, plan.Stderr);
        return plan
            .Stdout.Split('\n')
            .Select(l => l.Trim())
            .Where(l =>
                l.StartsWith("/etc/", StringComparison.Ordinal) && (l.Contains(": create") || l.Contains(": rewrite"))
            )
            .Select(l => l[..l.IndexOf(':')])
            .ToList();
    }

    [Fact]
    public void A_persistent_file_that_is_a_link_is_refused_and_its_target_is_untouched()
    {
        using var probe = new SyntheticHost();
        var files = PersistentFiles(probe);
        files.Should().Contain("/etc/sysctl.d/90-kvmtune.conf").And.Contain("/etc/tmpfiles.d/kvmtune.conf");
        foreach (var file in files)
        {
            foreach (var target in new[] { "/etc/shadow", "/dev/null" })
            {
                using var h = new SyntheticHost();
                h.Tree.File(target, "root:secret:19000::::::\n");
                File.SetUnixFileMode(h.Tree.Physical(target), UnixFileMode.UserRead);
                // What `systemctl mask` and a hostile admin leave: an absolute link to a file kvmtune must never write.
                h.Tree.Link(file, target);
                var before = TreeState.Of(h.Root);
                var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist");
                apply.ExitCode.Should().Be(2, $"{file} -> {target}: {apply.Stderr}");
                apply.Stderr.Should().Contain(file).And.Contain("refused");
                before.Diff(TreeState.Of(h.Root)).Should().BeEmpty($"{file} -> {target}: nothing may change");
            }
        }
    }

    [Fact]
    public void A_persistent_file_with_a_second_hard_link_is_refused()
    {
        using var h = new SyntheticHost();
        h.Tree.File("/etc/shadow", "root:secret\n").Dir("/etc/sysctl.d");
        Processes
            .Run("ln", h.Tree.Physical("/etc/shadow"), h.Tree.Physical("/etc/sysctl.d/90-kvmtune.conf"))
            .ExitCode.Should()
            .Be(0);
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist");
        apply.ExitCode.Should().Be(2, apply.Stderr);
        apply.Stderr.Should().Contain("hard links");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "never\\nw /etc/shadow - - - - pwned")]
    [InlineData("/proc/sys/kernel/numa_balancing", "0\\nkernel.core_pattern = |/tmp/evil %p")]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", "never # comment")]
    [InlineData("/proc/sys/kernel/numa_balancing", "0\\u0000")]
    public void A_value_that_would_inject_a_line_is_refused_before_anything_is_written(string path, string yamlValue)
    {
        using var h = new SyntheticHost();
        h.Tree.File("/numa_balancing_exists", "");
        if (!File.Exists(h.Tree.Physical("/proc/sys/kernel/numa_balancing")))
            h.Tree.File("/proc/sys/kernel/numa_balancing", "1\n");
        h.Tree.File("/p.yaml", $"inherits: latency\nsysfs:\n  {path}: \"{yamlValue}\"\n");
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run(
            "apply",
            "--root",
            h.Root,
            "--profile",
            h.Tree.Physical("/p.yaml"),
            "--persist",
            "--only",
            "profile"
        );
        apply.ExitCode.Should().Be(2, apply.Stderr + apply.Stdout);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        Directory.Exists(JournalDir(h)).Should().BeFalse("nothing was journaled");
    }

    [Theory]
    [InlineData("never")]
    [InlineData("a b")]
    [InlineData("x'; rm -rf / #")]
    [InlineData("$(reboot)")]
    [InlineData("line\nbreak")]
    public void Printed_shell_words_reach_the_shell_as_one_word(string word)
    {
        // The oracle is bash itself: the quoted word, evaluated, prints back exactly the original.
        var quoted = Kvmtune.Facts.Parsing.ShellWords.Quote(word);
        var run = Processes.Run("bash", "-c", $"printf '%s' {quoted}");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Be(word);
        var fix = new Kvmtune.Guide.SysfsWrite(
            "3.2.3",
            "/sys/kernel/mm/transparent_hugepage/enabled",
            word
        ).RuntimeCommands[0];
        fix.Should().Be($"echo {quoted} > /sys/kernel/mm/transparent_hugepage/enabled");
    }

    [Fact]
    public void A_kernel_attribute_linked_elsewhere_is_not_written()
    {
        using var h = new SyntheticHost();
        const string thp = "/sys/kernel/mm/transparent_hugepage/enabled";
        h.Tree.File("/proc/sys/kernel/core_pattern", "core\n").Delete(thp).Link(thp, "/proc/sys/kernel/core_pattern");
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--only", "host.memory.thp");
        apply.ExitCode.Should().Be(2, apply.Stderr + apply.Stdout);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        File.ReadAllText(h.Tree.Physical("/proc/sys/kernel/core_pattern")).Should().Be("core\n");
    }

    [Fact]
    public void A_journal_folder_or_lock_that_is_a_link_is_refused()
    {
        using var outside = new TestTree();
        outside.File("/victim/keep", "x");
        var victimMode = File.GetUnixFileMode(outside.Physical("/victim"));
        using (var h = new SyntheticHost())
        {
            h.Tree.Dir("/var/lib/kvmtune").Link("/var/lib/kvmtune/journal", outside.Physical("/victim"));
            var apply = KvmtuneRunner.Run(
                "apply",
                "--root",
                h.Root,
                "--profile",
                "latency",
                "--only",
                "host.memory.thp"
            );
            apply.ExitCode.Should().BeOneOf([2, 3], apply.Stderr);
            File.GetUnixFileMode(outside.Physical("/victim"))
                .Should()
                .Be(victimMode, "the link's target is not chmodded");
            Directory.GetFileSystemEntries(outside.Physical("/victim")).Should().ContainSingle();
        }
        using (var h = new SyntheticHost())
        {
            outside.File("/lock-target", "keep\n");
            h.Tree.Dir("/var/lib/kvmtune/journal")
                .Link("/var/lib/kvmtune/journal/.lock", outside.Physical("/lock-target"));
            var apply = KvmtuneRunner.Run(
                "apply",
                "--root",
                h.Root,
                "--profile",
                "latency",
                "--only",
                "host.memory.thp"
            );
            apply.ExitCode.Should().Be(3, apply.Stderr);
            File.ReadAllText(outside.Physical("/lock-target")).Should().Be("keep\n");
        }
    }

    [Fact]
    public void Links_and_folders_planted_at_temporary_names_are_never_followed()
    {
        using var outside = new TestTree();
        outside.File("/target", "untouched\n");
        using var t = new TestTree();
        t.Dir("/etc/sysctl.d");
        // Every name an older kvmtune used, and this process's pid-based prefix: a link or a folder at each.
        t.Link("/etc/sysctl.d/90-kvmtune.conf.kvmtune.tmp", outside.Physical("/target"));
        t.Link(
            $"/etc/sysctl.d/.90-kvmtune.conf{SafeTree.TempMarker}{Environment.ProcessId}",
            outside.Physical("/target")
        );
        t.Dir($"/etc/sysctl.d/.90-kvmtune.conf{SafeTree.TempMarker}{Environment.ProcessId}-0");
        using var tree = new SafeTree(t.Root);
        tree.ReplaceOwnedFile("/etc/sysctl.d/90-kvmtune.conf", "a = 1\n"u8, 0b110_100_100, 0, 0);
        File.ReadAllText(t.Physical("/etc/sysctl.d/90-kvmtune.conf")).Should().Be("a = 1\n");
        File.ReadAllText(outside.Physical("/target")).Should().Be("untouched\n");
        new FileInfo(t.Physical("/etc/sysctl.d/90-kvmtune.conf.kvmtune.tmp")).LinkTarget.Should().NotBeNull();
    }

    [Fact]
    public void A_root_that_leads_to_the_live_system_is_refused_and_a_linked_root_is_used_by_its_real_path()
    {
        using var t = new TestTree();
        t.Link("/live", "/");
        var run = KvmtuneRunner.Run("apply", "--root", t.Physical("/live"), "--profile", "latency", "--dry-run");
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("leads to '/'");
        KvmtuneRunner
            .Run("snapshot", "--root", t.Physical("/live"), "--output", t.Physical("/s.tar.gz"))
            .ExitCode.Should()
            .Be(2);
        File.Exists(t.Physical("/s.tar.gz")).Should().BeFalse();
        using var h = new SyntheticHost();
        t.Link("/host", h.Root);
        var apply = KvmtuneRunner.Run(
            "apply",
            "--root",
            t.Physical("/host"),
            "--profile",
            "latency",
            "--only",
            "host.memory.thp"
        );
        apply.ExitCode.Should().Be(0, apply.Stderr);
        var history = KvmtuneRunner.Run("history", "--root", h.Root, "--format", "json");
        System.Text.Json.Nodes.JsonNode.Parse(history.Stdout)![0]!["root"]!.GetValue<string>().Should().Be(h.Root);
    }

    [Fact]
    public void Rollback_puts_a_tree_attribute_back_byte_for_byte()
    {
        using var h = new SyntheticHost();
        // A choice file's whole line and a value without its newline, as a capture may hold them.
        File.WriteAllText(h.Tree.Physical("/sys/kernel/mm/transparent_hugepage/enabled"), "always [madvise] never\n");
        File.WriteAllText(h.Tree.Physical("/proc/sys/kernel/numa_balancing"), "1");
        var thp = File.ReadAllBytes(h.Tree.Physical("/sys/kernel/mm/transparent_hugepage/enabled"));
        var numa = File.ReadAllBytes(h.Tree.Physical("/proc/sys/kernel/numa_balancing"));
        KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency").ExitCode.Should().Be(0);
        File.ReadAllBytes(h.Tree.Physical("/proc/sys/kernel/numa_balancing")).Should().NotEqual(numa);
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        File.ReadAllBytes(h.Tree.Physical("/sys/kernel/mm/transparent_hugepage/enabled")).Should().Equal(thp);
        File.ReadAllBytes(h.Tree.Physical("/proc/sys/kernel/numa_balancing")).Should().Equal(numa);
    }

    [Fact]
    public void Output_does_not_follow_another_users_link_in_a_shared_folder()
    {
        using var t = new TestTree();
        var shared = t.Physical("/tmp");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)0b1_111_111_111); // 1777, like /tmp
        t.File("/victim", "secret\n");
        t.Link("/tmp/report.json", t.Physical("/victim"));
        Processes.Run("chown", "-h", "nobody", t.Physical("/tmp/report.json")).ExitCode.Should().Be(0);
        var run = KvmtuneRunner.Run(
            "audit",
            "--root",
            fixtures.Root("16amd64-8n2c"),
            "--format",
            "json",
            "--output",
            t.Physical("/tmp/report.json")
        );
        run.ExitCode.Should().Be(2, run.Stderr);
        File.ReadAllText(t.Physical("/victim")).Should().Be("secret\n");
    }

    [Fact]
    public void Owner_and_mode_of_a_replaced_file_are_kept_and_restored()
    {
        using var h = new SyntheticHost();
        h.Tree.File("/etc/sysctl.d/90-kvmtune.conf", "# mine\nvm.swappiness = 10\n");
        var conf = h.Tree.Physical("/etc/sysctl.d/90-kvmtune.conf");
        File.SetUnixFileMode(conf, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var chown = Processes.Run("chown", "1234:4321", conf);
        chown.ExitCode.Should().Be(0, chown.Stderr);
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist");
        apply.ExitCode.Should().Be(0, apply.Stderr);
        var st = NativeSys.Lstat(conf)!.Value;
        (st.Uid, st.Gid, st.Permissions).Should().Be((1234u, 4321u, 0b110_000_000u), "a rewrite keeps owner and mode");
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public async Task Output_writes_through_devices_and_pipes_and_replaces_only_regular_files()
    {
        var root = fixtures.Root("16amd64-8n2c");
        // /dev/stdout: the text arrives on stdout and /dev/stdout is still what it was.
        var linkBefore = new FileInfo("/dev/stdout").LinkTarget;
        var run = KvmtuneProcess.Run("audit", "--root", root, "--format", "json", "--output", "/dev/stdout");
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        JsonNode.Parse(run.Stdout)!["schema"]!.GetValue<string>().Should().Be("kvmtune.audit/v1");
        new FileInfo("/dev/stdout").LinkTarget.Should().Be(linkBefore);
        // /dev/null stays a character device.
        KvmtuneProcess.Run("audit", "--root", root, "--output", "/dev/null").ExitCode.Should().BeOneOf([0, 1]);
        NativeSys.Lstat("/dev/null")!.Value.IsCharDevice.Should().BeTrue();
        KvmtuneProcess.Run("snapshot", "--root", root, "--output", "/dev/null").ExitCode.Should().Be(0);
        NativeSys.Lstat("/dev/null")!.Value.IsCharDevice.Should().BeTrue();
        // A link to a regular file: the file is replaced, the link stays a link.
        using var t = new TestTree();
        t.File("/real.json", "old").Link("/link.json", t.Physical("/real.json"));
        KvmtuneProcess
            .Run("audit", "--root", root, "--format", "json", "--output", t.Physical("/link.json"))
            .ExitCode.Should()
            .BeOneOf([0, 1]);
        new FileInfo(t.Physical("/link.json")).LinkTarget.Should().Be(t.Physical("/real.json"));
        File.ReadAllText(t.Physical("/real.json")).Should().Contain("kvmtune.audit/v1");
        // A FIFO is written through (a reader on the other end gets the report).
        var fifo = t.Physical("/fifo");
        Processes.Run("mkfifo", fifo).ExitCode.Should().Be(0);
        // Opening a FIFO blocks until the other end opens: the reader waits on its own thread.
        var reader = Task.Run(() => File.ReadAllText(fifo), TestContext.Current.CancellationToken);
        KvmtuneProcess
            .Run("audit", "--root", root, "--format", "json", "--output", fifo)
            .ExitCode.Should()
            .BeOneOf([0, 1]);
        (await reader.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken))
            .Should()
            .Contain("kvmtune.audit/v1");
        NativeSys.Lstat(fifo)!.Value.IsFifo.Should().BeTrue();
        // A folder is bad input.
        KvmtuneProcess.Run("audit", "--root", root, "--output", t.Root).ExitCode.Should().Be(2);
    }

    [Fact]
    public void The_reader_never_follows_a_link_out_of_the_root()
    {
        var secret = Path.Combine(Paths.Scratch, $"kvmtune-live-secret-{Guid.NewGuid():N}");
        File.WriteAllText(secret, "[always] madvise never\n");
        try
        {
            using var h = new SyntheticHost();
            const string thp = "/sys/kernel/mm/transparent_hugepage/enabled";
            // absolute: inside the root it names ROOT/dev/shm/..., which is absent
            h.Tree.Delete(thp).Link(thp, secret);
            var inspect = KvmtuneRunner.Run("inspect", "--root", h.Root, "--format", "json");
            inspect.ExitCode.Should().Be(0, inspect.Stderr);
            var enabled = JsonNode.Parse(inspect.Stdout)!["memory"]?["thp"]?["enabled"]?.GetValue<string>();
            enabled.Should().NotBe("always", "the live file outside the root is not read");
            using var t = new TestTree();
            var snap = t.Physical("/s.tar.gz");
            KvmtuneRunner.Run("snapshot", "--root", h.Root, "--output", snap).ExitCode.Should().Be(0);
            var list = Processes.Run("tar", "-xzOf", snap);
            list.Stdout.Should().NotContain("[always] madvise never");
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void A_tree_whose_files_are_devices_or_huge_does_not_hang_or_crash()
    {
        using var h = new SyntheticHost();
        h.Tree.Delete("/proc/meminfo").Link("/proc/meminfo", "/dev/zero");
        Processes.Run("mknod", h.Tree.Physical("/dev/zero"), "c", "1", "5").ExitCode.Should().Be(0);
        Processes.Run("mkfifo", h.Tree.Physical("/proc/fifo")).ExitCode.Should().Be(0);
        h.Tree.Delete("/proc/cmdline").Link("/proc/cmdline", "/proc/fifo");
        // A 3 GB cpuinfo (sparse): more than kvmtune reads of any file.
        using (var f = File.Create(h.Tree.Physical("/proc/cpuinfo.big")))
            f.SetLength(3L << 30);
        h.Tree.Delete("/proc/cpuinfo").Link("/proc/cpuinfo", "/proc/cpuinfo.big");
        var run = KvmtuneProcess.Run("audit", "--root", h.Root, "--format", "json");
        run.ExitCode.Should().BeOneOf([0, 1, 2], run.Stderr);
        run.Stderr.Should().NotContain("internal error");
    }
}
