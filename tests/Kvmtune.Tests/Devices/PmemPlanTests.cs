using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

public sealed partial class PmemPlanTests(FixtureTrees fixtures)
{
    private const string Fixture = "32em64t-2n8c+dax+nvme+mic+dimms";
    private const string Region0 = "/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0";

    [Fact]
    public void The_plan_names_the_fixture_s_real_regions_and_raw_namespaces()
    {
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", fixtures.Root(Fixture));
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("# region0").And.Contain("# region1");
        run.Stdout.Should()
            .Contain("ndctl create-namespace -m dax -e namespace0.3 -f")
            .And.Contain("ndctl create-namespace -m dax -e namespace1.0 -f");
        run.Stdout.Should().Contain("/dev/dax1.3: devdax").And.Contain("apt-get install ipmctl ndctl");
        run.Stdout.Should().NotContain("ipmctl create -goal", "App Direct regions exist already");
    }

    [Fact]
    public void A_dax_device_onlined_as_system_ram_is_not_offered_to_vms_but_turned_back_with_daxctl()
    {
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", fixtures.Root(Fixture));
        // dax1.4's driver link is kmem: its memory is the host's.
        run.Stdout.Should()
            .Contain("/dev/dax1.4: system RAM (kmem, node 5), not for VMs")
            .And.Contain("daxctl offline-memory dax1.4 && daxctl reconfigure-device --mode=devdax dax1.4")
            .And.NotContain("path: /dev/dax1.4");
        var audit = KvmtuneRunner.Run(
            "audit",
            "--root",
            fixtures.Root(Fixture),
            "--only",
            "host.pmem.devdax",
            "--format",
            "json"
        );
        audit.Stdout.Should().NotContain("create-namespace", "the devdax devices there are enough");
    }

    [Fact]
    public void Every_suggested_vm_spec_is_accepted_by_vm_plan()
    {
        AcceptedByVmPlan(fixtures.Root(Fixture)).Should().HaveCount(2);
    }

    [Fact]
    public void A_1g_aligned_device_gets_a_1g_multiple_that_vm_plan_accepts()
    {
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root(Fixture));
        t.File($"{Region0}/dax0.0/align", "1073741824\n");
        var specs = AcceptedByVmPlan(t.Root);
        specs.Should().Contain(s => s.Contains("path: /dev/dax0.0, size: 100G, align: 1G"));
    }

    private static List<string> AcceptedByVmPlan(string root)
    {
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", root);
        var specs = SpecLine().Matches(run.Stdout).Select(m => m.Groups[1].Value).ToList();
        using var t = new TestTree();
        foreach (var spec in specs)
        {
            t.File("/vm.yaml", $"name: p1\nvcpus: 2\nmemory: 2GiB\nhugepages: none\npmem:\n  - {spec}\n");
            var plan = KvmtuneRunner.Run("vm", "plan", t.Physical("/vm.yaml"), "--root", root);
            plan.ExitCode.Should().Be(0, $"{spec}: {plan.Stderr}");
        }
        return specs;
    }

    [GeneratedRegex(@"VM spec: pmem: \[ (\{ [^}]+ \}) \]")]
    private static partial Regex SpecLine();

    [Fact]
    public void Without_regions_the_plan_starts_with_the_app_direct_goal_and_a_reboot()
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", h.Root);
        var lines = run.Stdout.Split('\n').Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0).ToList();
        lines
            .Should()
            .ContainInOrder(
                "ipmctl show -dimm",
                "ipmctl create -goal PersistentMemoryType=AppDirect",
                "reboot",
                "ipmctl show -memoryresources"
            );
    }

    [Fact]
    public void Execute_needs_a_namespace_named()
    {
        var run = KvmtuneRunner.Run("pmem", "plan", "--execute", "--root", fixtures.Root(Fixture));
        run.ExitCode.Should().Be(2);
        run.Stderr.Should()
            .Contain("--namespace")
            .And.Contain("destroys its data")
            .And.Contain("namespace0.3, namespace1.0");
    }

    [Fact]
    public void Execute_is_refused_under_a_root_folder()
    {
        var run = KvmtuneRunner.Run(
            "pmem",
            "plan",
            "--execute",
            "--namespace",
            "namespace0.3",
            "--root",
            fixtures.Root(Fixture)
        );
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain("not with --root");
    }

    [Theory]
    [InlineData(null, "2M")]
    [InlineData("1073741824", "1G")]
    public void Ndctl_is_asked_for_the_alignment_the_region_s_devdax_devices_use(string? align, string expected)
    {
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root(Fixture));
        if (align is not null)
            t.File($"{Region0}/dax0.0/align", align + "\n");
        var reader = new Kvmtune.Facts.IO.HostReader(t.Root);
        var plan = Kvmtune.Vms.Devices.PmemPlanner.DevdaxOperations(
            Kvmtune.Facts.Host.HostFacts.Read(reader),
            reader,
            "namespace0.3"
        );
        plan.Operations.Single()
            .Describe()
            .Should()
            .Contain($"create-namespace -e namespace0.3 -m devdax -a {expected} -f");
        plan.Notes.Should().ContainSingle(n => n.Contains("restores its mode (raw), not its data"));
    }

    public static TheoryData<string, string> InUse() =>
        new()
        {
            { "mount", "/dev/pmem0.3 is mounted at /srv/pm" },
            { "holder", "pmem0.3 is held by dm-3" },
            { "ext4", "holds an ext2/3/4 file system" },
            { "xfs", "holds an XFS file system" },
        };

    [Theory]
    [MemberData(nameof(InUse))]
    public void A_namespace_in_use_or_holding_a_file_system_is_refused(string what, string message)
    {
        using var t = new TestTree();
        t.CopyFrom(fixtures.Root(Fixture));
        var disk = new byte[70_000];
        switch (what)
        {
            case "mount":
                var mounts = File.ReadAllText(t.Physical("/proc/mounts"));
                t.File("/proc/mounts", mounts + "/dev/pmem0.3 /srv/pm ext4 rw 0 0\n");
                break;
            // bd_link_disk_holder() (block/holder.c) links a stacked device (dm, md) into the disk's holders folder
            case "holder":
                t.Link($"{Region0}/namespace0.3/block/pmem0.3/holders/dm-3", "../../../../../../../virtual/block/dm-3");
                break;
            case "ext4":
                disk[1080] = 0x53;
                disk[1081] = 0xEF;
                break;
            case "xfs":
                "XFSB"u8.CopyTo(disk);
                break;
        }
        t.File("/dev/pmem0.3", "");
        File.WriteAllBytes(t.Physical("/dev/pmem0.3"), disk);
        var before = TreeState.Of(t.Root);
        var run = KvmtuneRunner.Run("pmem", "plan", "--execute", "--namespace", "namespace0.3", "--root", t.Root);
        run.ExitCode.Should().Be(3);
        run.Stderr.Should().Contain(message).And.Contain("destroy");
        if (what is "ext4" or "xfs")
            run.Stderr.Should().Contain("rollback cannot bring it back");
        before.Diff(TreeState.Of(t.Root)).Should().BeEmpty();
    }
}
