using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// A VM that does not fit says why and what would make it fit as a kvmtune command; that command, run as printed,
/// makes it fit. The judge is the kernel's per-node pool file (nr_hugepages), then <c>vm plan</c> placing the VM.
/// </summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class PlanFixTests
{
    private const string Pool1G = "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB";

    private static (JsonElement Unplaced, ProcessResult Text) Unplaced(string spec, params string[] root)
    {
        var json = KvmtuneRunner.Run(["vm", "plan", spec, "--format", "json", .. root]);
        json.ExitCode.Should().Be(1, json.Stdout + json.Stderr);
        var text = KvmtuneRunner.Run(["vm", "plan", spec, .. root]);
        text.ExitCode.Should().Be(1);
        return (JsonDocument.Parse(json.Stdout).RootElement.GetProperty("unplaced").EnumerateArray().Single(), text);
    }

    private static string[] Command(JsonElement unplaced) =>
        unplaced.GetProperty("fixes")[0].GetProperty("command").EnumerateArray().Select(a => a.GetString()!).ToArray();

    [Fact]
    public void The_printed_command_reserves_the_pages_on_the_node_of_a_tree_and_then_the_vm_is_placed()
    {
        using var h = new SyntheticHost();
        h.Set($"{Pool1G}/nr_hugepages", "3").Set($"{Pool1G}/free_hugepages", "3");
        h.Tree.File("/vm.yaml", "name: big\nvcpus: 2\nmemory: 4GiB\nhugepages: 1GiB\nnuma_node: 1\n");
        var spec = h.Tree.Physical("/vm.yaml");
        var (unplaced, text) = Unplaced(spec, "--root", h.Root);
        unplaced.GetProperty("reason").GetString().Should().StartWith("node 1: 3 free 1 GiB pages, needs 4");
        var command = Command(unplaced);
        command.Should().Equal("kvmtune", "apply", "--hugepages", "1:1G:4");
        text.Stdout.Should()
            .Contain("big: NOT PLACED: node 1: 3 free 1 GiB pages, needs 4")
            .And.Contain("  fix: reserve 1 1 GiB pages on node 1 (its pool from 3 to 4 pages")
            .And.Contain(": kvmtune apply --hugepages 1:1G:4\n")
            .And.NotContain("echo");

        var apply = KvmtuneRunner.Run([.. command[1..], "--root", h.Root]);
        apply.ExitCode.Should().Be(0, apply.Stderr);
        File.ReadAllText(h.Tree.Physical($"{Pool1G}/nr_hugepages")).Trim().Should().Be("4");
        // A tree is not a kernel: hugetlb adds the pages it allocates to the node's free list
        // (mm/hugetlb.c, set_max_huge_pages), so the tree's free count rises with them, as the kernel's would.
        h.Set($"{Pool1G}/free_hugepages", "4");
        var plan = KvmtuneRunner.Run("vm", "plan", spec, "--format", "json", "--root", h.Root);
        plan.ExitCode.Should().Be(0, plan.Stdout);
        var vm = JsonDocument.Parse(plan.Stdout).RootElement.GetProperty("vms")[0];
        vm.GetProperty("nodes").EnumerateArray().Select(n => n.GetInt32()).Should().Equal(1);

        KvmtuneRunner
            .Run([.. command[1..], "--root", h.Root])
            .Stdout.Should()
            .Contain("nothing to change", "the count is the pool's total: the same command again changes nothing");
        var history = KvmtuneRunner.Run("history", "--root", h.Root);
        history.Stdout.Should().Contain($"{Pool1G}/nr_hugepages: 3 -> 4", "the reservation is journaled");
        KvmtuneRunner.Run("rollback", "--last", "--root", h.Root).ExitCode.Should().Be(0);
        File.ReadAllText(h.Tree.Physical($"{Pool1G}/nr_hugepages")).Should().Be("3\n");
    }

    [Fact]
    public void No_reservation_is_offered_where_cores_are_short_too()
    {
        using var h = new SyntheticHost();
        h.Tree.File(
            "/vm.yaml",
            "name: wide\nvcpus: 8\nmemory: 4GiB\nhugepages: 1GiB\nnuma_node: 1\nworkload: latency\n"
        );
        var (unplaced, _) = Unplaced(h.Tree.Physical("/vm.yaml"), "--root", h.Root);
        unplaced.GetProperty("fixes").GetArrayLength().Should().Be(0, "pages alone would not make it fit");
    }

    [Theory]
    [InlineData("1:2M", "is not NODE:SIZE:COUNT")]
    [InlineData("7:2M:4", "there is no node 7 on this host (nodes: 0, 1)")]
    [InlineData("1:4M:4", "node 1 has no pool of 4 MiB pages")]
    [InlineData("1:2M:4,1:2M:8", "pool is named twice")]
    [InlineData("1:2M:4;reboot", "is not NODE:SIZE:COUNT")]
    public void Bad_reservations_are_refused_and_change_nothing(string token, string message)
    {
        using var h = new SyntheticHost();
        var before = TreeState.Of(h.Root, exclude: null).Entries;
        var r = KvmtuneRunner.Run("apply", "--hugepages", token, "--root", h.Root);
        r.ExitCode.Should().Be(2);
        r.Stderr.Should().Contain("--hugepages").And.Contain(message);
        TreeState.Of(h.Root, exclude: null).Entries.Should().BeEquivalentTo(before);
    }

    [Fact]
    public void The_option_does_not_mix_with_a_profile_or_its_selection()
    {
        using var h = new SyntheticHost();
        KvmtuneRunner
            .Run("apply", "--hugepages", "1:2M:4", "--profile", "latency", "--root", h.Root)
            .ExitCode.Should()
            .Be(2);
        KvmtuneRunner
            .Run("apply", "--hugepages", "1:2M:4", "--only", "3.2.3", "--root", h.Root)
            .ExitCode.Should()
            .Be(2);
    }

    /// <summary>
    /// On this machine the kernel is the judge: the printed command makes it allocate the pages on node 0, its own
    /// free count rises, and vm plan places the VM; rollback gives the pages back.
    /// </summary>
    [Fact]
    public void On_this_machine_the_printed_command_makes_the_kernel_reserve_the_pages_and_the_vm_fit()
    {
        const string pool = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB";
        File.Exists($"{pool}/nr_hugepages").Should().BeTrue("a Linux host with NUMA sysfs and 2 MiB pages");
        var journal = Path.Combine("/dev/shm", $"kvmtune-planfix-{Environment.ProcessId}");
        var spec = journal + ".yaml";
        var original = File.ReadAllText($"{pool}/nr_hugepages").Trim();
        try
        {
            var free = long.Parse(File.ReadAllText($"{pool}/free_hugepages").Trim());
            // A few pages more than are free (a spec asks at least 64 MiB).
            var pages = Math.Max(free + 4, 32);
            File.WriteAllText(
                spec,
                $"name: kvt-fix\nvcpus: 1\nmemory: {pages * 2}MiB\nhugepages: 2MiB\n"
                    + "dedicated_cpus: false\nnuma_node: 0\n"
            );
            var (unplaced, _) = Unplaced(spec);
            var command = Command(unplaced);
            var target = long.Parse(original) + pages - free;
            command.Should().Equal("kvmtune", "apply", "--hugepages", $"0:2M:{target}");
            var apply = KvmtuneRunner.Run([.. command[1..], "--journal-dir", journal]);
            apply.ExitCode.Should().Be(0, apply.Stderr);
            File.ReadAllText($"{pool}/nr_hugepages").Trim().Should().Be($"{target}", apply.Stdout + apply.Stderr);
            var plan = KvmtuneRunner.Run("vm", "plan", spec, "--format", "json");
            plan.ExitCode.Should().Be(0, plan.Stdout);
            var rollback = KvmtuneRunner.Run("rollback", "--last", "--journal-dir", journal);
            rollback.ExitCode.Should().Be(0, rollback.Stderr);
            File.ReadAllText($"{pool}/nr_hugepages").Trim().Should().Be(original);
        }
        finally
        {
            File.WriteAllText($"{pool}/nr_hugepages", original);
            File.Delete(spec);
            if (Directory.Exists(journal))
                Directory.Delete(journal, recursive: true);
        }
    }
}
