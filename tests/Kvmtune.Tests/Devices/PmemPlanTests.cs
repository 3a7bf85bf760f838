using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Devices;

public sealed class PmemPlanTests(FixtureTrees fixtures)
{
    [Fact]
    public void The_plan_names_the_fixture_s_real_regions_and_raw_namespaces()
    {
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms"));
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("# region0").And.Contain("# region1");
        run.Stdout.Should().Contain("ndctl create-namespace -m dax -e namespace0.3 -f").And.Contain("ndctl create-namespace -m dax -e namespace1.0 -f");
        run.Stdout.Should().Contain("/dev/dax1.3: devdax").And.Contain("apt-get install ipmctl ndctl");
        run.Stdout.Should().NotContain("ipmctl create -goal", "App Direct regions exist already");
    }

    [Fact]
    public void Without_regions_the_plan_starts_with_the_app_direct_goal_and_a_reboot()
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run("pmem", "plan", "--root", h.Root);
        var lines = run.Stdout.Split('\n').Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0).ToList();
        lines.Should().ContainInOrder("ipmctl show -dimm", "ipmctl create -goal PersistentMemoryType=AppDirect", "reboot", "ipmctl show -memoryresources");
    }

    [Fact]
    public void Execute_is_refused_under_a_root_folder()
    {
        KvmtuneRunner.Run("pmem", "plan", "--execute", "--root", fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms")).ExitCode.Should().Be(3);
    }
}
