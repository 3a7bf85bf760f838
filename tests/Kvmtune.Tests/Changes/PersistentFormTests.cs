using System.Reflection;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Changes;
using Kvmtune.Guide;
using Kvmtune.Guide.Sections;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// Issue #14: each guide section declares, next to the attributes its fixes write, how such a write survives a
/// reboot; apply --persist keeps each write in that form and says on stderr which it does not keep.
/// </summary>
public sealed class PersistentFormTests
{
    private const string Sysctl = "/usr/sbin/sysctl";

    /// <summary>Every section's <c>Writable</c> list, found by reflection so a new section cannot be missed.</summary>
    private static List<(string Section, IReadOnlyList<Tunable> Entries)> SectionEntries() =>
        typeof(WriteAllowlist)
            .Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ProfileSysfs).Namespace)
            .Select(t =>
                (t.Name, t.GetProperty("Writable", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            )
            .Where(p => p.Item2 is not null)
            .Select(p => (p.Name, (IReadOnlyList<Tunable>)p.Item2!.GetValue(null)!))
            .ToList();

    /// <summary>What is wrong with one entry's declaration; empty when it declares a usable form.</summary>
    private static IEnumerable<string> Problems(Tunable t)
    {
        var what = t.Path?.ToString() ?? "(no path)";
        if (t.Form is null)
            yield return $"{what}: no persistent form";
        else if (!Enum.IsDefined(t.Form.Kind))
            yield return $"{what}: form {t.Form.Kind} is not one apply knows";
        else if (t.Form.Kind == PersistenceKind.NotPersisted && string.IsNullOrWhiteSpace(t.Form.Why))
            yield return $"{what}: not persisted, without a reason";
        else if (t.Form.Kind != PersistenceKind.NotPersisted && t.Form.Why is not null)
            yield return $"{what}: a reason given for a kept write";
        // sysctl(8) names only files under /proc/sys.
        if (t.Form?.Kind == PersistenceKind.Sysctl && !what.StartsWith("^/proc/sys/", StringComparison.Ordinal))
            yield return $"{what}: a sysctl form for a path outside /proc/sys";
    }

    [Fact]
    public void Every_allowlisted_attribute_of_every_section_declares_a_persistent_form()
    {
        var sections = SectionEntries();
        // Positive control: the reflection finds the sections (it cannot pass by finding none).
        sections
            .Select(s => s.Section)
            .Should()
            .Contain(["Section3_2_1_Numa", "Section3_2_3_HugePages", "Section5_Qat", "ProfileSysfs"]);
        var entries = sections.SelectMany(s => s.Entries).ToList();
        entries.Should().HaveCountGreaterThan(15);
        // The allowlist is exactly the union of the sections' entries.
        WriteAllowlist.Tunables.Should().BeEquivalentTo(entries);
        entries.SelectMany(Problems).Should().BeEmpty();
        // Positive control for the check: declarations it must reject.
        Tunable[] bad =
        [
            new(new Regex("^/sys/x$"), null!, Values.Number()),
            new(new Regex("^/sys/x$"), Persistence.NotPersisted(" "), Values.Number()),
            new(new Regex("^/sys/kernel/mm/ksm/run$"), Persistence.Sysctl, Values.Number()),
            new(new Regex("^/sys/x$"), new Persistence((PersistenceKind)42, null), Values.Number()),
            new(new Regex("^/sys/x$"), Persistence.Tmpfiles with { Why = "stray" }, Values.Number()),
        ];
        bad.Select(t => Problems(t).Count()).Should().AllSatisfy(n => n.Should().Be(1));
    }

    [Theory]
    // Paths as the kernel documents them (admin-guide/sysctl/kernel.rst, admin-guide/mm/transhuge.rst,
    // core-api/irq/irq-affinity.rst, ABI/testing/sysfs-bus-pci).
    [InlineData("/proc/sys/kernel/numa_balancing", PersistenceKind.Sysctl)]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled", PersistenceKind.Tmpfiles)]
    [InlineData("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", PersistenceKind.Tmpfiles)]
    [InlineData("/sys/block/nvme0n1/queue/rq_affinity", PersistenceKind.Tmpfiles)]
    [InlineData("/proc/irq/121/smp_affinity_list", PersistenceKind.NotPersisted)]
    [InlineData("/sys/bus/pci/devices/0000:6b:00.0/driver_override", PersistenceKind.NotPersisted)]
    [InlineData("/sys/bus/pci/drivers/vfio-pci/bind", PersistenceKind.NotPersisted)]
    public void The_allowlist_answers_the_form_of_an_allowed_path(string path, PersistenceKind kind) =>
        WriteAllowlist.FormOf(path)!.Kind.Should().Be(kind);

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/proc/sys/kernel/core_pattern")]
    [InlineData("/proc/sys/kernel/../kernel/numa_balancing")]
    public void A_path_the_allowlist_refuses_has_no_form(string path)
    {
        WriteAllowlist.IsAllowed(path, out _).Should().BeFalse();
        WriteAllowlist.FormOf(path).Should().BeNull();
    }

    /// <summary>
    /// The oracle is procps' sysctl: for each file on this machine that a sysctl-form entry allows, the key
    /// kvmtune derives names that same file (sysctl -n prints what the file holds).
    /// </summary>
    [Fact]
    public void The_derived_sysctl_key_names_the_same_file_for_sysctl_8()
    {
        File.Exists(Sysctl).Should().BeTrue("procps is installed");
        var sysctlEntries = WriteAllowlist.Tunables.Where(t => t.Form.Kind == PersistenceKind.Sysctl).ToList();
        sysctlEntries.Should().NotBeEmpty();
        var files = Directory
            .EnumerateFiles(
                "/proc/sys",
                "*",
                new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }
            )
            .ToList();
        var checkedPaths = new List<string>();
        foreach (var entry in sysctlEntries)
        {
            var here = files.Where(f => entry.Path.IsMatch(f)).ToList();
            // An entry whose file this kernel lacks: the derivation is checked on keys that exist instead.
            if (here.Count == 0)
                here = new[] { "/proc/sys/kernel/numa_balancing", "/proc/sys/vm/nr_hugepages" }
                    .Where(File.Exists)
                    .ToList();
            here.Should().NotBeEmpty($"{entry.Path}: no file to check on this machine");
            checkedPaths.AddRange(here);
        }
        foreach (var path in checkedPaths.Distinct())
        {
            var key = Persistence.SysctlKey(path)!;
            if (WriteAllowlist.FormOf(path) is not null)
                new SysfsWrite("test", path, "0").SysctlKey.Should().Be(key);
            var run = Processes.Run(Sysctl, ["-n", key]);
            run.ExitCode.Should().Be(0, $"sysctl -n {key}: {run.Stderr}");
            run.Stdout.TrimEnd('\n').Should().Be(File.ReadAllText(path).TrimEnd('\n'), $"sysctl -n {key}");
            Persistence.SysctlPath(key).Should().Be(path);
            TestContext.Current.TestOutputHelper?.WriteLine($"checked {path} as sysctl key {key}");
        }
    }

    [Fact]
    public void Build_keeps_each_write_in_its_declared_form_and_leaves_out_what_is_not_persisted()
    {
        PlannedChange[] changes =
        [
            new SysfsWrite("3.2.1", "/proc/sys/kernel/numa_balancing", "0"),
            new SysfsWrite("3.2.3", "/sys/kernel/mm/transparent_hugepage/enabled", "never"),
            new SysfsWrite("3.2.1", "/proc/irq/121/smp_affinity_list", "4-7"),
        ];
        var files = PersistentFiles.Build(changes, _ => null);
        // Line formats from sysctl.d(5) ("key = value") and tmpfiles.d(5) (type w: path mode user group age argument).
        files["/etc/sysctl.d/90-kvmtune.conf"].Should().EndWith("\nkernel.numa_balancing = 0\n");
        files["/etc/tmpfiles.d/kvmtune.conf"]
            .Should()
            .EndWith("\nw /sys/kernel/mm/transparent_hugepage/enabled - - - - never\n")
            .And.NotContain("/proc/irq");
        files.Values.Should().AllSatisfy(v => v.Should().NotContain("smp_affinity_list"));
        PersistentFiles
            .NotPersisted(changes)
            .Should()
            .ContainSingle()
            .Which.Should()
            .StartWith("/proc/irq/121/smp_affinity_list: not kept across a reboot: ")
            .And.EndWith("[3.2.1]");
    }

    [Fact]
    public void A_merge_drops_lines_an_earlier_apply_left_for_paths_no_longer_kept_this_way()
    {
        // What an earlier version could have left in tmpfiles.d: a driver binding (section 5 now says a binding acts
        // on the devices present, not a setting the kernel keeps), an IRQ's CPUs (not persisted), a sysctl (kept in
        // sysctl.d), a value the attribute does not take, and one line still kept this way.
        const string before = """
            # Written by kvmtune apply.
            w /sys/bus/pci/drivers/vfio-pci/bind - - - - 0000:3d:00.1
            w /proc/irq/121/smp_affinity_list - - - - 4-7
            w /proc/sys/kernel/numa_balancing - - - - 0
            w /sys/kernel/mm/transparent_hugepage/defrag - - - - sometimes
            w /sys/kernel/mm/transparent_hugepage/defrag - - - - never

            """;
        var write = new SysfsWrite("3.2.3", "/sys/kernel/mm/transparent_hugepage/enabled", "never");
        Merged("/etc/tmpfiles.d/kvmtune.conf", before, write)
            .Where(l => l.StartsWith('w'))
            .Should()
            .Equal(
                "w /sys/kernel/mm/transparent_hugepage/defrag - - - - never",
                "w /sys/kernel/mm/transparent_hugepage/enabled - - - - never"
            );
    }

    [Fact]
    public void A_merge_of_sysctl_d_drops_values_the_kernel_file_does_not_take()
    {
        // admin-guide/sysctl/kernel.rst: io_uring_disabled takes 0, 1 or 2; numa_balancing 0 to 3.
        const string before = """
            # Written by kvmtune apply.
            kernel.io_uring_disabled = 9
            vm.swappiness = 10
            kernel.numa_balancing = 3

            """;
        var write = new SysfsWrite("3.2.1", "/proc/sys/kernel/numa_balancing", "0");
        Merged("/etc/sysctl.d/90-kvmtune.conf", before, write)
            .Where(l => l.Contains('='))
            .Should()
            .Equal("kernel.numa_balancing = 0");
    }

    /// <summary>The lines of <paramref name="file"/> after one write merged with what an earlier apply left
    /// there.</summary>
    private static string[] Merged(string file, string before, SysfsWrite write) =>
        PersistentFiles.Build([write], p => p == file ? before : null)[file].Split('\n');

    [Fact]
    public void Only_not_persisted_writes_make_no_persistent_file()
    {
        PlannedChange[] changes = [new SysfsWrite("3.2.1", "/proc/irq/121/smp_affinity_list", "4-7")];
        PersistentFiles.Build(changes, _ => null).Should().BeEmpty();
    }

    private static ProcessResult ApplyIrqProfile(SyntheticHost h, params string[] extra)
    {
        h.Tree.File("/p.yaml", "inherits: latency\nsysfs:\n  /proc/irq/120/smp_affinity_list: \"4,6\"\n");
        string[] args = ["apply", "--root", h.Root, "--profile", h.Tree.Physical("/p.yaml"), "--only", "profile"];
        return KvmtuneRunner.Run([.. args, .. extra]);
    }

    [Fact]
    public void Apply_persist_says_on_stderr_which_write_it_does_not_keep()
    {
        using var h = new SyntheticHost();
        var apply = ApplyIrqProfile(h, "--persist");
        apply.ExitCode.Should().Be(0, apply.Stderr + apply.Stdout);
        apply.Stdout.Should().Contain("/proc/irq/120/smp_affinity_list: 4-7 -> 4,6");
        apply.Stderr.Should()
            .Contain("kvmtune: note: /proc/irq/120/smp_affinity_list: not kept across a reboot: ")
            .And.Contain("[profile]");
        File.ReadAllText(h.Tree.Physical("/proc/irq/120/smp_affinity_list")).Trim().Should().Be("4,6");
        File.Exists(h.Tree.Physical("/etc/tmpfiles.d/kvmtune.conf")).Should().BeFalse("nothing keeps the pin");
        // Without --persist nothing is said about it: nothing is written to survive a reboot anyway.
        using var plain = new SyntheticHost();
        var dry = ApplyIrqProfile(plain, "--dry-run");
        dry.ExitCode.Should().Be(0, dry.Stderr);
        dry.Stderr.Should().NotContain("not kept across a reboot");
    }
}
