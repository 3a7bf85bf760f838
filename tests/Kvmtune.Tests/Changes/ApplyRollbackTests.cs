using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Changes;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>apply and rollback on test trees: every profile, every crash point, every refusal.</summary>
public sealed class ApplyRollbackTests(FixtureTrees fixtures)
{
    private static string Journal(SyntheticHost h) => h.Tree.Physical("/var/lib/kvmtune/journal");

    [Theory]
    [InlineData("balanced")]
    [InlineData("latency")]
    [InlineData("throughput")]
    [InlineData("density")]
    public void Apply_with_persist_then_rollback_restores_the_tree(string profile)
    {
        using var h = new SyntheticHost();
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", profile, "--persist");
        apply.ExitCode.Should().Be(0, apply.Stderr + apply.Stdout);
        apply.Stdout.Should().Contain("journal ");
        var changed = before.Diff(TreeState.Of(h.Root));
        changed.Should().NotBeEmpty();
        changed.Should().Contain(l => l.Contains("/etc/"), "--persist writes files under /etc");
        // After apply the audit has nothing left that apply can fix at runtime.
        var again = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", profile, "--dry-run");
        again.Stdout.Should().Contain("0 change(s) planned");
        var rollback = KvmtuneRunner.Run("rollback", "--root", h.Root, "--last");
        rollback.ExitCode.Should().Be(0, rollback.Stderr);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        var second = KvmtuneRunner.Run("rollback", "--root", h.Root, "--last");
        second.ExitCode.Should().Be(0);
        second.Stdout.Should().Contain("already rolled-back");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    /// <summary>
    /// Guide 3.3.4's fix for a kernel that disables io_uring (kernel.io_uring_disabled, Linux 6.6: 0 allows every
    /// process, 1 only CAP_SYS_ADMIN or the io_uring_group, 2 none; Documentation/admin-guide/sysctl/kernel.rst) is
    /// a write apply may make and rollback undo; before, the allowlist refused it and apply failed.
    /// </summary>
    [Fact]
    public void Io_uring_disabled_is_set_to_0_persisted_as_a_sysctl_and_rolled_back()
    {
        using var h = new SyntheticHost();
        h.Set("/proc/sys/kernel/io_uring_disabled", "2");
        var before = TreeState.Of(h.Root);
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "throughput", "--persist");
        apply.ExitCode.Should().Be(0, apply.Stderr + apply.Stdout);
        apply.Stdout.Should().Contain("/proc/sys/kernel/io_uring_disabled: 2 -> 0 [3.3.4]");
        File.ReadAllText(h.Tree.Physical("/proc/sys/kernel/io_uring_disabled")).Should().Be("0\n");
        File.ReadAllText(h.Tree.Physical("/etc/sysctl.d/90-kvmtune.conf"))
            .Should()
            .Contain("kernel.io_uring_disabled = 0\n");
        KvmtuneRunner.Run("rollback", "--root", h.Root, "--last").ExitCode.Should().Be(0);
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
    }

    [Fact]
    public void The_latency_plan_names_each_change_with_its_section()
    {
        using var h = new SyntheticHost();
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--dry-run", "--persist");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should()
            .Contain("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor: powersave -> performance [3.2.2]");
        run.Stdout.Should().Contain("/sys/kernel/mm/transparent_hugepage/enabled: madvise -> never [3.2.3]");
        run.Stdout.Should()
            .Contain("/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages: 0 -> 8 [3.2.3]");
        run.Stdout.Should().Contain("/sys/module/kvm/parameters/halt_poll_ns: 200000 -> 400000 [3.2.6]");
        run.Stdout.Should()
            .Contain("/etc/default/grub.d/kvmtune.cfg: create")
            .And.Contain("/etc/modprobe.d/kvmtune.conf: create");
        run.Stdout.Should().Contain("skipped: kvm_intel ple_gap=0: needs a module reload");
        run.Stdout.Should().Contain("then: ");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty("a dry run changes nothing");
        Directory.Exists(Journal(h)).Should().BeFalse("a dry run writes no journal");
    }

    [Fact]
    public void Persistent_files_hold_the_settings_and_the_journal_is_private()
    {
        using var h = new SyntheticHost();
        KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist").ExitCode.Should().Be(0);
        var grub = File.ReadAllText(h.Tree.Physical("/etc/default/grub.d/kvmtune.cfg"));
        grub.Should()
            .Contain("GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT ")
            .And.Contain("idle=poll")
            .And.Contain("nohz_full=1,3,5,7")
            .And.Contain("hugepagesz=1G hugepages=0:8,1:8");
        File.ReadAllText(h.Tree.Physical("/etc/modprobe.d/kvmtune.conf"))
            .Should()
            .Contain("options kvm halt_poll_ns=400000")
            .And.Contain("options kvm_intel ple_gap=0 ple_window=0");
        File.ReadAllText(h.Tree.Physical("/etc/tmpfiles.d/kvmtune.conf"))
            .Should()
            .Contain("w /sys/kernel/mm/transparent_hugepage/enabled - - - - never");
        File.ReadAllText(h.Tree.Physical("/etc/sysctl.d/90-kvmtune.conf"))
            .Should()
            .Contain("kernel.numa_balancing = 0");
        File.ReadAllText(h.Tree.Physical("/etc/systemd/system/dev-hugepages1G.mount"))
            .Should()
            .Contain("Where=/dev/hugepages1G")
            .And.Contain("Options=pagesize=1G");
        File.GetUnixFileMode(Journal(h))
            .Should()
            .Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var f in Directory.GetFiles(Journal(h), "*.json"))
            File.GetUnixFileMode(f).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var history = KvmtuneRunner.Run("history", "--root", h.Root, "--format", "json");
        using var doc = JsonDocument.Parse(history.Stdout);
        doc.RootElement[0].GetProperty("state").GetString().Should().Be("completed");
        doc.RootElement[0].GetProperty("operations").GetArrayLength().Should().BeGreaterThan(10);
        KvmtuneRunner.Run("rollback", "--root", h.Root).ExitCode.Should().Be(0);
        KvmtuneRunner.Run("history", "--root", h.Root).Stdout.Should().Contain("rolled-back").And.Contain("undone");
    }

    [Fact]
    public void A_crash_after_any_change_is_rolled_back_and_blocks_apply_until_then()
    {
        using var pristine = new SyntheticHost();
        var before = TreeState.Of(pristine.Root);
        var plan = KvmtuneRunner.Run(
            "apply",
            "--root",
            pristine.Root,
            "--profile",
            "latency",
            "--persist",
            "--dry-run"
        );
        var count = int.Parse(
            System.Text.RegularExpressions.Regex.Match(plan.Stdout, @"(\d+) change\(s\) planned").Groups[1].Value
        );
        count.Should().BeGreaterThan(10);
        for (var n = 0; n <= count; n++)
        {
            using var h = new SyntheticHost();
            var env = new Dictionary<string, string> { ["KVMTUNE_TEST_CRASH_AFTER"] = n.ToString() };
            var crash = KvmtuneProcess.Run(env, "apply", "--root", h.Root, "--profile", "latency", "--persist");
            if (n < count)
                crash.ExitCode.Should().NotBe(0, $"crash after change {n}");
            var journal = Directory.GetFiles(Journal(h), "*.json").Single();
            if (n < count)
            {
                File.ReadAllText(journal).Should().Contain("\"state\": \"pending\"");
                var refused = KvmtuneProcess.Run("apply", "--root", h.Root, "--profile", "latency");
                refused.ExitCode.Should().Be(3, $"after a crash at {n}");
                refused.Stderr.Should().Contain("rollback");
            }
            var rollback = KvmtuneProcess.Run("rollback", "--root", h.Root, "--last");
            rollback.ExitCode.Should().Be(0, $"crash at {n}: {rollback.Stderr}");
            before.Diff(TreeState.Of(h.Root)).Should().BeEmpty($"crash after change {n} of {count}");
        }
    }

    [Fact]
    public void A_held_lock_refuses_apply_with_exit_3()
    {
        using var h = new SyntheticHost();
        var journal = new Journal(Journal(h));
        using var held = journal.TryLock();
        held.Should().NotBeNull();
        var run = KvmtuneProcess.Run("apply", "--root", h.Root, "--profile", "latency");
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain(".lock");
    }

    [Fact]
    public void A_value_changed_by_someone_else_is_left_alone_unless_forced()
    {
        using var h = new SyntheticHost();
        var thpBefore = File.ReadAllText(h.Tree.Physical("/sys/kernel/mm/transparent_hugepage/enabled"));
        KvmtuneRunner
            .Run("apply", "--root", h.Root, "--profile", "latency", "--only", "host.memory.thp,host.kvm.halt_poll_ns")
            .ExitCode.Should()
            .Be(0);
        h.Set("/sys/module/kvm/parameters/halt_poll_ns", "777");
        var run = KvmtuneRunner.Run("rollback", "--root", h.Root);
        run.ExitCode.Should().Be(1);
        run.Stderr.Should().Contain("halt_poll_ns: changed since the apply (now 777");
        File.ReadAllText(h.Tree.Physical("/sys/module/kvm/parameters/halt_poll_ns")).Trim().Should().Be("777");
        File.ReadAllText(h.Tree.Physical("/sys/kernel/mm/transparent_hugepage/enabled"))
            .Should()
            .Be(thpBefore, "THP was still kvmtune's value and is restored, byte for byte in a tree");
        KvmtuneRunner.Run("rollback", "--root", h.Root, "--force").ExitCode.Should().Be(0);
        File.ReadAllText(h.Tree.Physical("/sys/module/kvm/parameters/halt_poll_ns")).Trim().Should().Be("200000");
    }

    [Theory]
    [InlineData("../../etc/shadow")]
    [InlineData("/sys/../etc/passwd")]
    [InlineData("/etc/passwd")]
    public void A_profile_naming_a_path_outside_the_allowlist_is_rejected_before_anything_is_written(string path)
    {
        using var h = new SyntheticHost();
        h.Set("/p/evil.yaml", $"inherits: balanced\nsysfs:\n  {path}: x\n");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", h.Tree.Physical("/p/evil.yaml"));
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("refused").And.Contain("evil.yaml:3");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        Directory.Exists(Journal(h)).Should().BeFalse();
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../../../../../../../etc/passwd")]
    public void A_symlink_leading_out_of_sys_is_rejected_before_anything_is_written(string target)
    {
        using var h = new SyntheticHost();
        var profile = LinkOutOfSys(h, target);
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", profile);
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("refused").And.Contain("symbolic link");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty();
        File.ReadAllText(h.Tree.Physical("/etc/passwd")).Should().StartWith("root:x:0:0");
    }

    /// <summary>THP's defrag attribute made a link to <paramref name="target"/>, and a profile that sets it: the
    /// profile's path.</summary>
    internal static string LinkOutOfSys(SyntheticHost h, string target)
    {
        h.Set("/etc/passwd", "root:x:0:0::/root:/bin/sh");
        h.Remove("/sys/kernel/mm/transparent_hugepage/defrag");
        h.Tree.Link("/sys/kernel/mm/transparent_hugepage/defrag", target);
        h.Set(
            "/p/sneaky.yaml",
            "inherits: balanced\nsysfs:\n  /sys/kernel/mm/ksm/pages_to_scan: 200\n  "
                + "/sys/kernel/mm/transparent_hugepage/defrag: never\n"
        );
        return h.Tree.Physical("/p/sneaky.yaml");
    }

    [Fact]
    public void A_custom_profile_sysfs_section_is_audited_and_applied()
    {
        using var h = new SyntheticHost();
        h.Set("/p/mine.yaml", "inherits: balanced\nsysfs:\n  /sys/kernel/mm/ksm/pages_to_scan: 250\n");
        var profile = h.Tree.Physical("/p/mine.yaml");
        var audit = KvmtuneRunner.Run(
            "audit",
            "--root",
            h.Root,
            "--profile",
            profile,
            "--only",
            "profile",
            "--format",
            "json"
        );
        audit.ExitCode.Should().Be(1);
        audit.Stdout.Should().Contain("profile.sysfs.sys.kernel.mm.ksm.pages_to_scan");
        KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", profile, "--only", "profile").ExitCode.Should().Be(0);
        File.ReadAllText(h.Tree.Physical("/sys/kernel/mm/ksm/pages_to_scan")).Trim().Should().Be("250");
        KvmtuneRunner.Run("audit", "--root", h.Root, "--profile", profile, "--only", "profile").ExitCode.Should().Be(0);
    }

    [Fact]
    public void A_fixture_copy_with_the_knobs_added_applies_and_rolls_back()
    {
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root("40intel64-2g2n4c+pcilocality"));
        var nodes = Directory
            .GetDirectories(t.Physical("/sys/devices/system/node"), "node*")
            .Select(Path.GetFileName)
            .ToList();
        foreach (var n in nodes)
            foreach (var size in new[] { 2048, 1048576 })
                if (!File.Exists(t.Physical($"/sys/devices/system/node/{n}/hugepages/hugepages-{size}kB/nr_hugepages")))
                    t.File($"/sys/devices/system/node/{n}/hugepages/hugepages-{size}kB/nr_hugepages", "0\n");
        t.File("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
            .File("/sys/kernel/mm/ksm/run", "1\n")
            .File("/sys/kernel/mm/ksm/pages_to_scan", "100\n")
            .File("/sys/kernel/mm/ksm/sleep_millisecs", "20\n")
            .File("/sys/module/kvm/parameters/halt_poll_ns", "200000\n")
            .File("/sys/module/kvm/parameters/halt_poll_ns_grow", "2\n")
            .File("/sys/module/kvm/parameters/halt_poll_ns_shrink", "0\n")
            .File("/proc/sys/kernel/numa_balancing", "1\n");
        var before = TreeState.Of(t.Root);
        using var journal = new TestTree();
        foreach (var profile in new[] { "latency", "density" })
        {
            var apply = KvmtuneRunner.Run(
                "apply",
                "--root",
                t.Root,
                "--profile",
                profile,
                "--persist",
                "--role",
                "host",
                "--journal-dir",
                journal.Root
            );
            apply.ExitCode.Should().Be(0, apply.Stderr);
            apply
                .Stdout.Should()
                .Contain(
                    profile == "latency" ? "nr_hugepages" : "/sys/module/kvm/parameters/halt_poll_ns: 200000 -> 50000"
                );
            KvmtuneRunner.Run("rollback", "--root", t.Root, "--journal-dir", journal.Root).ExitCode.Should().Be(0);
            before.Diff(TreeState.Of(t.Root)).Should().BeEmpty(profile);
        }
    }

    [Fact]
    public void Apply_on_the_live_machine_needs_root()
    {
        Assert.SkipUnless(
            Environment.UserName == "root" && File.Exists("/usr/bin/setpriv"),
            "needs root to drop to another user"
        );
        var bin = Environment.GetEnvironmentVariable("KVMTUNE_BIN");
        Assert.SkipWhen(string.IsNullOrEmpty(bin), "KVMTUNE_BIN (the native binary test.sh builds) is not set");
        var run = Processes.Run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", bin!, "apply", "--profile", "balanced"]
        );
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("root");
    }

    [Fact]
    public void Apply_leaves_vf_creation_to_vfio_create_vfs_and_its_checks()
    {
        using var h = new SyntheticHost();
        var plan = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--dry-run");
        plan.ExitCode.Should().Be(0, plan.Stderr);
        plan.Stdout.Should().NotContain("sriov_numvfs:");
        plan.Stdout.Should()
            .Contain($"skipped: {SyntheticHost.Qat}: create VFs with 'kvmtune vfio create-vfs {SyntheticHost.Qat}");
    }
}
