using AwesomeAssertions;
using Kvmtune.Guide.Audit;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Audit;

/// <summary>
/// Take a rule's evidence away and it must not say pass, nor fail: what cannot be read is unknown, never good and
/// never bad.
/// </summary>
public sealed class EvidenceRemovalTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in new[] { "latency", "density" })
        {
            using var h = new SyntheticHost();
            foreach (var f in AuditHarness.Run(h.Root, profile).Findings.Where(f => f.Status == FindingStatus.Pass))
                data.Add(profile, f.Id);
        }
        using (var g = new SyntheticHost(guest: true))
            foreach (var f in AuditHarness.Run(g.Root, "balanced").Findings.Where(f => f.Status == FindingStatus.Pass))
                data.Add("guest", f.Id);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Removing_the_evidence_of_a_passing_finding_never_leaves_it_passing(string profile, string id)
    {
        using var h = new SyntheticHost(guest: profile == "guest");
        var auditProfile = profile == "guest" ? "balanced" : profile;
        var before = AuditHarness.Run(h.Root, auditProfile).Find(id);
        before.Status.Should().Be(FindingStatus.Pass);
        before.Evidence.Should().NotBeEmpty($"{id} passes, so it must name what it read");
        foreach (var path in before.Evidence.Where(p => !p.Contains('*') && !p.Contains('<')))
            if (File.Exists(h.Tree.Physical(path)) || Directory.Exists(h.Tree.Physical(path)))
                h.Remove(path);
        var after = AuditHarness.Run(h.Root, auditProfile).Findings.SingleOrDefault(f => f.Id == id);
        if (after is null)
        {
            // Only a finding about one object (a device, a node) may go with that object's own folder.
            before
                .Evidence.Select(p => Path.GetFileName(p))
                .Where(n => id.Contains(n, StringComparison.Ordinal))
                .Should()
                .NotBeEmpty(
                    $"{id} vanished when {string.Join(", ", before.Evidence)} were removed; it should say unknown"
                );
            return;
        }
        after.Status.Should().NotBe(FindingStatus.Pass, $"{id} read {string.Join(", ", before.Evidence)}, all removed");
    }

    [Fact]
    public void The_evidence_cases_cover_the_guide()
    {
        // The cases come from the audit itself; a broken audit that passes nothing must not leave them empty.
        Cases().Count.Should().BeGreaterThan(40);
        FailCases().Count.Should().BeGreaterThan(5);
    }

    /// <summary>Every failing finding of the synthetic host and guest, under every profile that fails one.</summary>
    public static TheoryData<string, string> FailCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var profile in new[] { "balanced", "latency", "throughput", "density" })
        {
            using var h = FailingHost();
            foreach (var f in AuditHarness.Run(h.Root, profile).Findings.Where(f => f.Status == FindingStatus.Fail))
                data.Add(profile, f.Id);
        }
        using (var g = FailingGuest())
            foreach (var f in AuditHarness.Run(g.Root, "balanced").Findings.Where(f => f.Status == FindingStatus.Fail))
                data.Add("guest", f.Id);
        return data;
    }

    /// <summary>The synthetic host with things broken that fail: no /dev/kvm nor /dev/net/tun, no huge pages for
    /// latency.</summary>
    private static SyntheticHost FailingHost()
    {
        var h = new SyntheticHost();
        h.Remove("/dev/kvm").Remove("/dev/net/tun").Set("/proc/cmdline", "root=/dev/sda1 idle=poll nohz_full=4-7");
        return h;
    }

    private static SyntheticHost FailingGuest()
    {
        var g = new SyntheticHost(guest: true);
        g.Set("/proc/cmdline", "root=/dev/vda1 idle=halt");
        return g;
    }

    [Theory]
    [MemberData(nameof(FailCases))]
    public void Removing_the_evidence_of_a_failing_finding_leaves_it_unknown(string profile, string id)
    {
        using var h = profile == "guest" ? FailingGuest() : FailingHost();
        var auditProfile = profile == "guest" ? "balanced" : profile;
        var before = AuditHarness.Run(h.Root, auditProfile).Find(id);
        before.Status.Should().Be(FindingStatus.Fail);
        before.Evidence.Should().NotBeEmpty($"{id} fails, so it must name what it read");
        foreach (var path in before.Evidence.Where(p => !p.Contains('*') && !p.Contains('<')))
            if (File.Exists(h.Tree.Physical(path)) || Directory.Exists(h.Tree.Physical(path)))
                h.Remove(path);
        var after = AuditHarness.Run(h.Root, auditProfile).Findings.SingleOrDefault(f => f.Id == id);
        after
            ?.Status.Should()
            .Be(
                FindingStatus.Unknown,
                $"{id} read {string.Join(", ", before.Evidence)}, all removed: {after?.Current}"
            );
    }

    [Theory]
    [InlineData("host.memory.thp", "/sys/kernel/mm/transparent_hugepage/enabled")]
    [InlineData("host.memory.ksm", "/sys/kernel/mm/ksm/run")]
    [InlineData("host.kvm.halt_poll_ns", "/sys/module/kvm/parameters/halt_poll_ns")]
    [InlineData("host.kvm.ple", "/sys/module/kvm_intel/parameters/ple_gap")]
    [InlineData("host.bios.turbo", "/sys/devices/system/cpu/intel_pstate/no_turbo")]
    [InlineData("host.bios.vtx", "/proc/cpuinfo")]
    [InlineData("host.bios.ht", "/sys/devices/system/cpu/smt/active")]
    [InlineData("host.memory.hugepages", "/sys/devices/system/node/node0/hugepages")]
    [InlineData("host.cpu.idle_poll", "/proc/cmdline")]
    [InlineData("host.numa.balancing", "/proc/sys/kernel/numa_balancing")]
    [InlineData("host.qemu.memlock", "/proc/self/limits")]
    [InlineData("host.bios.c6", "/sys/devices/system/cpu/cpu0/cpuidle")]
    public void A_value_that_cannot_be_read_is_unknown(string id, string path)
    {
        using var h = new SyntheticHost();
        h.Set("/sys/kernel/mm/ksm/run", "1");
        if (id == "host.bios.ht")
        {
            h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/topology/thread_siblings_list", "");
            h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/topology/thread_siblings", "");
        }
        if (id == "host.memory.ksm")
            h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_KVM=m\n");
        if (id == "host.numa.balancing")
            h.Set($"/boot/config-{SyntheticHost.Release}", "CONFIG_KVM=m\n");
        h.Remove(path);
        AuditHarness.Run(h.Root, "latency").Find(id).Status.Should().Be(FindingStatus.Unknown);
    }
}
