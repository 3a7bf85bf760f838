using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// apply and rollback through this machine's real /sys: THP, KSM's scan rate and a few 2 MiB huge pages, and a
/// value the kernel rejects. Every original is put back in a finally, whatever the test found.
/// </summary>
[Collection(LiveSysfs.Name)]
public sealed class LiveKernelTests
{
    private const string Thp = "/sys/kernel/mm/transparent_hugepage/enabled";
    private const string Scan = "/sys/kernel/mm/ksm/pages_to_scan";
    private const string Huge = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";

    private static string Selected(string text) =>
        System.Text.RegularExpressions.Regex.Match(text, @"\[(\w+)\]").Groups[1].Value;

    private static void SkipUnlessWritable()
    {
        Assert.SkipUnless(Environment.UserName == "root", "needs root to write /sys");
        foreach (var p in new[] { Thp, Scan, Huge })
        {
            Assert.SkipUnless(File.Exists(p), $"{p} does not exist on this kernel");
            try
            {
                File.WriteAllText(
                    p,
                    File.ReadAllText(p).Contains('[') ? Selected(File.ReadAllText(p)) : File.ReadAllText(p).Trim()
                );
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Assert.Skip($"{p} is not writable here: {e.Message}");
            }
        }
    }

    [Fact]
    public void Thp_ksm_and_huge_pages_are_applied_and_rolled_back_on_the_real_kernel()
    {
        SkipUnlessWritable();
        var thp = Selected(File.ReadAllText(Thp));
        var scan = File.ReadAllText(Scan).Trim();
        var huge = File.ReadAllText(Huge).Trim();
        using var work = new TestTree();
        var newThp = thp == "always" ? "madvise" : "always";
        var newScan = scan == "137" ? "138" : "137";
        var newHuge = (long.Parse(huge) + 2).ToString();
        work.File(
            "/live.yaml",
            $"inherits: balanced\nsysfs:\n  {Thp}: {newThp}\n  {Scan}: {newScan}\n  {Huge}: {newHuge}\n"
        );
        var journal = work.Physical("/journal");
        try
        {
            var apply = KvmtuneRunner.Run(
                "apply",
                "--profile",
                work.Physical("/live.yaml"),
                "--only",
                "profile",
                "--journal-dir",
                journal
            );
            apply.ExitCode.Should().Be(0, apply.Stderr);
            Selected(File.ReadAllText(Thp)).Should().Be(newThp);
            File.ReadAllText(Scan).Trim().Should().Be(newScan);
            var granted = File.ReadAllText(Huge).Trim();
            if (granted != newHuge)
                apply.Stderr.Should().Contain("the kernel kept", "fewer pages granted than asked is reported");
            var rollback = KvmtuneRunner.Run("rollback", "--last", "--journal-dir", journal);
            rollback.ExitCode.Should().Be(0, rollback.Stderr);
            Selected(File.ReadAllText(Thp)).Should().Be(thp);
            File.ReadAllText(Scan).Trim().Should().Be(scan);
            File.ReadAllText(Huge).Trim().Should().Be(huge);
        }
        finally
        {
            File.WriteAllText(Thp, thp);
            File.WriteAllText(Scan, scan);
            File.WriteAllText(Huge, huge);
        }
    }

    [Fact]
    public void A_hugetlbfs_mount_for_a_reserved_pool_is_mounted_and_unmounted_again()
    {
        SkipUnlessWritable();
        Assert.SkipWhen(
            File.ReadAllText("/proc/mounts").Contains(" hugetlbfs "),
            "a hugetlbfs is already mounted here"
        );
        var huge = File.ReadAllText(Huge).Trim();
        using var work = new TestTree();
        try
        {
            File.WriteAllText(Huge, (long.Parse(huge) + 2).ToString());
            var apply = KvmtuneRunner.Run(
                "apply",
                "--role",
                "host",
                "--only",
                "host.memory.hugetlbfs",
                "--journal-dir",
                work.Physical("/journal")
            );
            apply.ExitCode.Should().Be(0, apply.Stderr);
            apply.Stdout.Should().Contain("mount hugetlbfs at /dev/hugepages2M (pagesize=2M)");
            File.ReadAllText("/proc/mounts").Should().Contain("/dev/hugepages2M hugetlbfs").And.Contain("pagesize=2M");
            KvmtuneRunner.Run("rollback", "--journal-dir", work.Physical("/journal")).ExitCode.Should().Be(0);
            File.ReadAllText("/proc/mounts").Should().NotContain("/dev/hugepages2M");
            Directory.Exists("/dev/hugepages2M").Should().BeFalse("kvmtune made the folder and takes it away");
        }
        finally
        {
            if (File.ReadAllText("/proc/mounts").Contains("/dev/hugepages2M "))
                Processes.Run("umount", ["/dev/hugepages2M"]);
            File.WriteAllText(Huge, huge);
        }
    }

    [Fact]
    public void A_value_the_kernel_rejects_fails_the_apply_and_undoes_what_came_before()
    {
        SkipUnlessWritable();
        const string sharing = "/sys/kernel/mm/ksm/max_page_sharing";
        var scan = File.ReadAllText(Scan).Trim();
        var maxSharing = File.ReadAllText(sharing).Trim();
        using var work = new TestTree();
        var newScan = scan == "139" ? "140" : "139";
        // "1" is a count, as the grammar of KSM's knobs has it, but max_page_sharing_store() in mm/ksm.c refuses a
        // value below 2 with EINVAL: the kernel is the last judge of a value, after kvmtune's grammar.
        work.File("/bad.yaml", $"inherits: balanced\nsysfs:\n  {Scan}: {newScan}\n  {sharing}: 1\n");
        try
        {
            var apply = KvmtuneRunner.Run(
                "apply",
                "--profile",
                work.Physical("/bad.yaml"),
                "--only",
                "profile",
                "--journal-dir",
                work.Physical("/journal")
            );
            apply.ExitCode.Should().Be(2);
            apply.Stderr.Should().Contain(sharing).And.Contain("refused '1'").And.Contain("undone");
            File.ReadAllText(Scan).Trim().Should().Be(scan, "the change made before the rejected one is undone");
            File.ReadAllText(sharing).Trim().Should().Be(maxSharing);
            KvmtuneRunner.Run("history", "--journal-dir", work.Physical("/journal")).Stdout.Should().Contain("failed");
        }
        finally
        {
            File.WriteAllText(Scan, scan);
        }
    }
}

/// <summary>Tests that change the real kernel's settings run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveSysfs
{
    public const string Name = "live sysfs";
}
