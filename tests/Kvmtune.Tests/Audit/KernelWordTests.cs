using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Guide;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Audit;

/// <summary>
/// Where a profile's word is also the word the kernel takes (a governor, a THP mode, an EPP value), the word a custom
/// profile names is the one kvmtune writes. The kernel's words come from its documentation, not from kvmtune.
/// </summary>
public sealed class KernelWordTests : IDisposable
{
    // Documentation/admin-guide/pm/cpufreq.rst, "Generic Scaling Governors".
    private static readonly string[] Governors =
    [
        "performance",
        "powersave",
        "userspace",
        "schedutil",
        "ondemand",
        "conservative",
    ];

    // Documentation/admin-guide/mm/transhuge.rst: what /sys/kernel/mm/transparent_hugepage/enabled takes.
    private static readonly string[] ThpModes = ["always", "madvise", "never"];

    // Documentation/admin-guide/pm/intel_pstate.rst: energy_performance_available_preferences.
    private static readonly string[] EppValues =
    [
        "default",
        "performance",
        "balance_performance",
        "balance_power",
        "power",
    ];

    private readonly TestTree _profiles = new();
    private readonly SyntheticHost _host = new();

    public void Dispose()
    {
        _profiles.Dispose();
        _host.Dispose();
    }

    [Fact]
    public void A_governor_named_in_a_profile_is_the_one_written_to_scaling_governor()
    {
        _host.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_available_governors", All(Governors));
        _host.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", "userspace");
        // userspace holds a frequency set by hand, which a profile has no setting for; the others are offered.
        foreach (var name in Governors.Where(g => g != "userspace"))
        {
            var profile = Custom("cpu.governor", name);
            profile.Text(ProfileSchema.CpuGovernor).Should().Be(name);
            Writes(profile, "host.cpu.governor").Should().HaveCount(8).And.OnlyContain(w => w.Value == name, name);
        }
        Refused("cpu.governor", "userspace");
    }

    [Fact]
    public void A_thp_mode_named_in_a_profile_is_the_one_written_to_transparent_hugepage_enabled()
    {
        foreach (var mode in ThpModes)
        {
            var other = ThpModes.First(m => m != mode);
            _host.Set("/sys/kernel/mm/transparent_hugepage/enabled", All(ThpModes).Replace(other, $"[{other}]"));
            Writes(Custom("memory.thp", mode), "host.memory.thp")
                .Should()
                .ContainSingle()
                .Which.Value.Should()
                .Be(mode);
        }
    }

    [Fact]
    public void An_energy_policy_a_profile_accepts_is_an_epp_value_and_the_one_written()
    {
        _host.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/energy_performance_preference", "power");
        var accepted = 0;
        foreach (var value in EppValues)
        {
            if (ProfileSchema.BiosEnergyPolicy.Parse(value, out _) is null)
                continue;
            accepted++;
            Writes(Custom("bios.energy_policy", value), "host.bios.power_policy")
                .Should()
                .HaveCount(8)
                .And.OnlyContain(w => w.Value == value, value);
        }
        accepted.Should().Be(2, "performance and balance_performance");
    }

    [Fact]
    public void Every_kernel_word_a_profile_offers_is_one_the_kernel_takes()
    {
        // "any" is kvmtune's own: it asks for nothing, so it is never written.
        ProfileSchema
            .CpuGovernor.Choices.Where(g => g != Governor.Any)
            .Select(g => g.KernelName())
            .Should()
            .BeSubsetOf(Governors);
        ProfileSchema
            .MemoryThp.Choices.Where(m => m != ThpMode.Any)
            .Select(m => m.KernelName())
            .Should()
            .BeEquivalentTo(ThpModes);
        ProfileSchema
            .BiosEnergyPolicy.Choices.Where(p => p != EnergyPolicy.Any)
            .Select(p => p.KernelName())
            .Should()
            .BeSubsetOf(EppValues);
    }

    private static string All(IEnumerable<string> words) => string.Join(' ', words) + "\n";

    private Profile Custom(string key, string value)
    {
        _profiles.File("/p.yaml", $"inherits: balanced\nsettings:\n  {key}: {value}\n");
        return new ProfileCatalog(_profiles.Physical("/none")).Resolve(_profiles.Physical("/p.yaml"));
    }

    private void Refused(string key, string value)
    {
        var act = () => Custom(key, value);
        act.Should().Throw<Kvmtune.Facts.InputException>().Which.Key.Should().Be(key);
    }

    private List<SysfsWrite> Writes(Profile profile, string id)
    {
        var facts = HostFacts.Read(new HostReader(_host.Root));
        var report = Auditor.Run(new AuditContext(facts, profile, facts.Virtualization.Role, null));
        return [.. report.Find(id).Changes.OfType<SysfsWrite>()];
    }
}
