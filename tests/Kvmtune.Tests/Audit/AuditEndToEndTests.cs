using System.Text.Json;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Audit;

/// <summary>kvmtune audit as a command: on the live machine, on every fixture, its formats and its exit
/// codes.</summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class AuditEndToEndTests(FixtureTrees fixtures)
{
    private static string? Raw(string path) =>
        File.Exists(path) ? File.ReadAllText(path).TrimEnd('\0', '\n', ' ') : null;

    [Fact]
    public void On_this_guest_the_guest_rules_run_and_every_current_value_is_what_the_file_says()
    {
        Assert.SkipUnless(
            File.ReadAllText("/proc/cpuinfo").Contains(" hypervisor"),
            "this machine is not a virtual machine"
        );
        var run = KvmtuneRunner.Run("audit", "--format", "json");
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        root.GetProperty("schema").GetString().Should().Be("kvmtune.audit/v1");
        root.GetProperty("role").GetString().Should().Be("guest");
        var findings = root.GetProperty("findings")
            .EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!);
        findings
            .Keys.Should()
            .Contain([
                "guest.cpuidle.haltpoll",
                "guest.haltpoll.ns",
                "guest.kernel.idle",
                "guest.block.rq_affinity",
                "guest.net.queues",
            ]);
        findings.Keys.Should().NotContain(k => k.StartsWith("host."));

        var driver = Raw("/sys/devices/system/cpu/cpuidle/current_driver");
        findings["guest.cpuidle.haltpoll"].GetProperty("current").GetString().Should().StartWith($"driver {driver},");
        if (Raw("/sys/module/haltpoll/parameters/guest_halt_poll_ns") is string ns)
            findings["guest.haltpoll.ns"]
                .GetProperty("current")
                .GetString()
                .Should()
                .StartWith($"guest_halt_poll_ns={ns}");
        var idle = Regex.Match(File.ReadAllText("/proc/cmdline"), @"(?:^|\s)idle=(\S+)");
        findings["guest.kernel.idle"]
            .GetProperty("current")
            .GetString()
            .Should()
            .Be(idle.Success ? $"idle={idle.Groups[1].Value}" : "no idle= argument");
        var vcpus = Regex.Matches(File.ReadAllText("/proc/cpuinfo"), @"^processor\s*:", RegexOptions.Multiline).Count;
        foreach (
            var nic in Directory
                .GetDirectories("/sys/class/net")
                .Where(d => (new DirectoryInfo(d + "/device/driver").LinkTarget ?? "").EndsWith("virtio_net"))
        )
        {
            var rx = Directory.GetDirectories(nic + "/queues", "rx-*").Length;
            findings["guest.net.queues"]
                .GetProperty("current")
                .GetString()
                .Should()
                .Contain($"{Path.GetFileName(nic)}: {rx} rx");
            findings["guest.net.queues"].GetProperty("status").GetString().Should().Be(rx >= vcpus ? "pass" : "warn");
        }
        foreach (var f in findings.Values)
        {
            f.GetProperty("section").GetString().Should().NotBeNullOrEmpty();
            f.GetProperty("fix").GetProperty("runtime").ValueKind.Should().Be(JsonValueKind.Array);
        }
        run.ExitCode.Should().Be(findings.Values.Any(f => f.GetProperty("status").GetString() == "fail") ? 1 : 0);
    }

    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void Every_fixture_audits_as_a_host_under_every_profile_without_crashing(string name)
    {
        foreach (var profile in new[] { "balanced", "latency", "throughput", "density" })
        {
            var run = KvmtuneRunner.Run(
                "audit",
                "--root",
                fixtures.Root(name),
                "--profile",
                profile,
                "--role",
                "host",
                "--format",
                "json",
                "--vm-size",
                "4c8g"
            );
            run.ExitCode.Should().BeOneOf([0, 1], $"{profile}: {run.Stderr}");
            using var doc = JsonDocument.Parse(run.Stdout);
            var summary = doc.RootElement.GetProperty("summary");
            var statuses = doc
                .RootElement.GetProperty("findings")
                .EnumerateArray()
                .Select(f => f.GetProperty("status").GetString())
                .ToList();
            foreach (var s in new[] { "pass", "warn", "fail", "info", "unknown" })
                summary.GetProperty(s).GetInt32().Should().Be(statuses.Count(x => x == s), $"{profile}: {s}");
            statuses
                .Should()
                .OnlyContain(x => x == "pass" || x == "warn" || x == "fail" || x == "info" || x == "unknown");
        }
    }

    [Fact]
    public void The_arm_fixture_marks_x86_checks_not_applicable()
    {
        var run = KvmtuneRunner.Run(
            "audit",
            "--root",
            fixtures.Root("128arm-2pa2n8cluster4co"),
            "--format",
            "json",
            "--role",
            "host"
        );
        using var doc = JsonDocument.Parse(run.Stdout);
        var findings = doc
            .RootElement.GetProperty("findings")
            .EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!);
        foreach (var id in new[] { "host.bios.vtx", "host.bios.vtd", "host.bios.hwp", "host.bios.c1e", "host.kvm.ple" })
        {
            findings[id].GetProperty("status").GetString().Should().Be("info", id);
            findings[id].GetProperty("current").GetString().Should().Be("not applicable");
        }
    }

    [Fact]
    public void The_pmem_fixture_sees_its_regions_and_devdax_devices()
    {
        var run = KvmtuneRunner.Run(
            "audit",
            "--root",
            fixtures.Root("32em64t-2n8c+dax+nvme+mic+dimms"),
            "--format",
            "json",
            "--role",
            "host",
            "--only",
            "4"
        );
        using var doc = JsonDocument.Parse(run.Stdout);
        var findings = doc
            .RootElement.GetProperty("findings")
            .EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!);
        findings["host.pmem.regions"].GetProperty("status").GetString().Should().Be("pass");
        findings["host.pmem.devdax"].GetProperty("current").GetString().Should().Contain("/dev/dax1.3");
        findings.Keys.Should().OnlyContain(k => k.StartsWith("host.pmem."));
    }

    [Fact]
    public void Only_and_skip_select_by_id_prefix_and_section()
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run("audit", "--root", h.Root, "--format", "json", "--only", "3.2.3,host.bios.vtx");
        using var doc = JsonDocument.Parse(run.Stdout);
        doc.RootElement.GetProperty("findings")
            .EnumerateArray()
            .Select(f => f.GetProperty("id").GetString())
            .Should()
            .BeEquivalentTo(
                "host.bios.vtx",
                "host.memory.hugepages",
                "host.memory.hugetlbfs",
                "host.memory.thp",
                "host.memory.thp_defrag"
            );
        var skip = KvmtuneRunner.Run(
            "audit",
            "--root",
            h.Root,
            "--format",
            "json",
            "--skip",
            "host.bios",
            "--skip",
            "4"
        );
        using var doc2 = JsonDocument.Parse(skip.Stdout);
        doc2.RootElement.GetProperty("findings")
            .EnumerateArray()
            .Select(f => f.GetProperty("id").GetString()!)
            .Should()
            .NotContain(id => id.StartsWith("host.bios.") || id.StartsWith("host.pmem."));
    }

    [Fact]
    public void Exit_code_is_1_with_a_fail_and_0_without()
    {
        using var h = new SyntheticHost();
        KvmtuneRunner.Run("audit", "--root", h.Root, "--only", "host.cpu.governor").ExitCode.Should().Be(1);
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", "performance");
        KvmtuneRunner.Run("audit", "--root", h.Root, "--only", "host.cpu.governor").ExitCode.Should().Be(0);
    }

    [Fact]
    public void Text_output_groups_by_section_and_has_no_colour_off_a_terminal()
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run("audit", "--root", h.Root, "--profile", "latency");
        run.Stdout.Should()
            .Contain("3.2.2 Processor frequency")
            .And.Contain("FAIL")
            .And.Contain("fix: echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
        run.Stdout.Should().NotContain("\e[");
        run.Stdout.IndexOf("2.1 BIOS").Should().BeLessThan(run.Stdout.IndexOf("3.2.1 NUMA"));
    }

    [Fact]
    public void Prometheus_output_is_written_atomically_to_the_output_file()
    {
        using var h = new SyntheticHost();
        var file = Path.Combine(h.Root, "out", "kvmtune.prom");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var run = KvmtuneRunner.Run("audit", "--root", h.Root, "--format", "prometheus", "--output", file);
        run.ExitCode.Should().Be(1);
        run.Stdout.Should().BeEmpty();
        var text = File.ReadAllText(file);
        text.Should().Contain("kvmtune_check{id=\"host.cpu.governor\",section=\"3.2.2\",status=\"fail\"} 1");
        text.Should()
            .Contain("kvmtune_audit_info{profile=\"balanced\",role=\"host\"} 1")
            .And.Contain("kvmtune_audit_timestamp_seconds ");
        Directory.GetFiles(Path.GetDirectoryName(file)!).Should().ContainSingle();
    }

    [Fact]
    public void Bad_options_are_exit_2()
    {
        KvmtuneRunner.Run("audit", "--profile", "nonesuch").ExitCode.Should().Be(2);
        KvmtuneRunner
            .Run("audit", "--vm-size", "lots")
            .Should()
            .Match<ProcessResult>(r => r.ExitCode == 2 && r.Stderr.Contains("--vm-size"));
        KvmtuneRunner.Run("audit", "--role", "hypervisor").ExitCode.Should().Be(2);
    }
}
