using System.Diagnostics;
using AwesomeAssertions;
using Kvmtune.Facts;
using Kvmtune.Guide.Profiles;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Audit;

/// <summary>Issue #10: a custom profile is hostile input; its values reach sysfs, sysctl.d and tmpfiles.d.</summary>
public sealed class HostileProfileTests : IDisposable
{
    private readonly TestTree _t = new();

    public void Dispose() => _t.Dispose();

    private InputException Refused(string yaml, string file = "/p/bad.yaml")
    {
        _t.File(file, yaml);
        var act = () => new ProfileCatalog(_t.Physical("/none")).Resolve(_t.Physical(file));
        return act.Should().Throw<InputException>().Which;
    }

    [Fact]
    public void A_profile_file_named_with_control_characters_is_listed_escaped()
    {
        // A file name may hold any byte but '/' and NUL: an escape sequence or a newline in one is shown, not obeyed.
        _t.File("/profiles/evil\u001b[2J\nfake.yaml", "name: evil\ninherits: balanced\n");
        var run = KvmtuneProcess.Run("profiles", "list", "--profile-dir", _t.Physical("/profiles"));
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().NotContain("\u001b").And.Contain("custom: ");
        run.Stdout.Split('\n').Should().NotContain(l => l.StartsWith("fake", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("never\nw /etc/shadow - - - - pwned")]
    [InlineData("never\n")]
    [InlineData("0\nkernel.core_pattern = |/tmp/evil %p")]
    [InlineData("1 2")]
    [InlineData("$(reboot)")]
    [InlineData("`id`")]
    [InlineData("a;b")]
    [InlineData("a|b")]
    [InlineData("a&b")]
    [InlineData("a>b")]
    [InlineData("a<b")]
    [InlineData("'x'")]
    [InlineData("\"x\"")]
    [InlineData("a\\b")]
    [InlineData("a\u001b[2Jb")]
    [InlineData("a\tb")]
    [InlineData("")]
    public void Hostile_sysfs_values_are_refused_with_file_line_and_key(string value)
    {
        const string path = "/sys/kernel/mm/transparent_hugepage/defrag";
        var e = Refused($"inherits: balanced\nsysfs:\n  {path}: {Yaml(value)}\n");
        e.File.Should().EndWith("bad.yaml");
        e.Line.Should().Be(3);
        e.Key.Should().Be(path);
        e.Message.Should().NotContainAny("\n", "\u001b", "\t");
    }

    [Fact]
    public void A_value_over_256_characters_is_refused()
    {
        var e = Refused($"inherits: balanced\nsysfs:\n  /sys/kernel/mm/ksm/pages_to_scan: {new string('1', 257)}\n");
        e.Line.Should().Be(3);
        e.Message.Should().Contain("256");
    }

    /// <summary>Each value with an attribute whose kernel documentation takes it (transhuge.rst,
    /// irq-affinity.rst, cpufreq.rst, hugetlbpage.rst, ABI/stable/sysfs-block).</summary>
    [Theory]
    [InlineData("/sys/kernel/mm/transparent_hugepage/defrag", "never")]
    [InlineData("/sys/kernel/mm/transparent_hugepage/defrag", "defer+madvise")]
    [InlineData("/proc/irq/45/smp_affinity_list", "0-3,8")]
    [InlineData("/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance")]
    [InlineData("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "1024")]
    [InlineData("/sys/block/nvme0n1/queue/scheduler", "mq-deadline")]
    public void Ordinary_kernel_values_are_kept(string path, string value)
    {
        _t.File("/p/ok.yaml", $"inherits: balanced\nsysfs:\n  {path}: \"{value}\"\n");
        var profile = new ProfileCatalog(_t.Physical("/none")).Resolve(_t.Physical("/p/ok.yaml"));
        profile.SysfsWrites[path].Should().Be(value);
    }

    /// <summary>Values of a kernel value's shape that the attribute does not take: refused with file, line and key
    /// (before, any value of the shape was kept and the kernel left to refuse it).</summary>
    [Theory]
    [InlineData("/sys/kernel/mm/transparent_hugepage/defrag", "0-3,8")]
    [InlineData("/sys/kernel/mm/transparent_hugepage/defrag", "performance")]
    [InlineData("/sys/kernel/mm/ksm/pages_to_scan", "0x1f")]
    [InlineData("/sys/kernel/mm/ksm/pages_to_scan", "-1")]
    [InlineData("/proc/irq/45/smp_affinity_list", "ff,ffffffff")]
    [InlineData("/proc/irq/45/smp_affinity_list", "1:2")]
    public void A_value_the_attribute_does_not_take_is_refused_with_file_line_and_key(string path, string value)
    {
        var e = Refused($"inherits: balanced\nsysfs:\n  {path}: \"{value}\"\n");
        e.Line.Should().Be(3);
        e.Key.Should().Be(path);
        e.Message.Should().Contain("is not a value");
    }

    [Theory]
    [InlineData("memory.hugepages.percent", "0\nkernel.core_pattern = |/tmp/evil %p")]
    [InlineData("cpu.governor", "performance\n")]
    [InlineData("kvm.halt_poll_ns", "1-2 ; reboot")]
    [InlineData("qemu.mem_lock", "\"true\"")]
    [InlineData("kvm.halt_poll_ns", "")]
    public void Hostile_setting_values_are_refused_with_file_line_and_key(string key, string value)
    {
        var e = Refused($"inherits: balanced\nsettings:\n  {key}: {Yaml(value)}\n");
        e.Line.Should().Be(3);
        e.Key.Should().Be(key);
        e.Message.Should().NotContain("\n");
    }

    [Fact]
    public void A_control_character_in_a_sysfs_path_is_refused_and_not_echoed()
    {
        var e = Refused("inherits: balanced\nsysfs:\n  \"/sys/kernel/mm/ksm/run\\e[2J\": 1\n");
        e.Line.Should().Be(3);
        e.Message.Should().NotContain("\u001b").And.Contain("\\x1b");
    }

    [Fact]
    public void A_description_with_control_characters_is_refused() =>
        Refused("inherits: balanced\ndescription: \"fine\\e]0;owned\\a\"\n").Key.Should().Be("description");

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/etc/passwd")]
    [InlineData("/proc/self/environ")]
    [InlineData("../../../../../../etc/hostname")]
    public void Inherits_names_only_a_built_in_or_a_profile_yaml_file_and_never_reads_another(string target)
    {
        var watch = Stopwatch.StartNew();
        var e = Refused($"name: x\ninherits: {target}\n");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "nothing was read");
        e.File.Should().EndWith("bad.yaml");
        e.Line.Should().Be(2);
        e.Key.Should().Be("inherits");
        e.Message.Should().Contain("neither a built-in profile").And.NotContain("root:");
    }

    [Fact]
    public void Inherits_a_yaml_link_to_a_device_is_an_error_not_a_hang()
    {
        _t.Link("/p/zero.yaml", "/dev/zero");
        var watch = Stopwatch.StartNew();
        var e = Refused("inherits: zero.yaml\n");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        e.Message.Should().Contain("not a regular file");
    }

    [Fact]
    public void Inherits_a_profile_yaml_file_beside_it_still_works()
    {
        _t.File("/p/base.yaml", "inherits: latency\nsettings:\n  memory.hugepages.percent: 25\n");
        _t.File("/p/child.yml", "inherits: base.yaml\nsettings:\n  cpu.governor: schedutil\n");
        var p = new ProfileCatalog(_t.Physical("/none")).Resolve(_t.Physical("/p/child.yml"));
        p.Get(ProfileSchema.MemoryHugepagesPercent).Should().Be(25);
        p.Get(ProfileSchema.CpuGovernor).Should().Be(Governor.Schedutil);
    }

    [Fact]
    public void A_profile_that_is_dev_zero_is_an_error_not_a_hang()
    {
        var watch = Stopwatch.StartNew();
        var act = () => new ProfileCatalog(_t.Physical("/none")).Resolve("/dev/zero");
        act.Should()
            .Throw<InputException>()
            .Which.Message.Should()
            .Contain("/dev/zero")
            .And.Contain("not a regular file");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }

    /// <summary>A YAML double-quoted scalar holding exactly <paramref name="value"/>.</summary>
    private static string Yaml(string value) =>
        "\""
        + value
            .Replace("\\", "\\\\")
            .Replace("\"", "\\\"")
            .Replace("\n", "\\n")
            .Replace("\t", "\\t")
            .Replace("\u001b", "\\e")
        + "\"";
}
