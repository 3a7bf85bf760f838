using System.Text.Json;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// Issue #10: every input is hostile; bad input is exit 2 with a sentence, never a hang, a crash or a wrong target.
/// </summary>
public sealed partial class HostileInputTests : IDisposable
{
    private readonly TestTree _t = new();

    public void Dispose() => _t.Dispose();

    /// <summary>A .NET resource key such as IO_FileNotFound_FileName, printed where a sentence belongs.</summary>
    [GeneratedRegex(@"\b[A-Za-z]+_[A-Za-z]+_[A-Za-z_]+\b")]
    private static partial Regex ResourceKey();

    [Fact]
    public void Vm_plan_of_dev_zero_is_bad_input_not_out_of_memory()
    {
        var run = KvmtuneProcess.Run("vm", "plan", "/dev/zero");
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("/dev/zero").And.Contain("not a regular file");
    }

    [Fact]
    public void A_profile_that_is_dev_zero_or_inherits_it_is_bad_input_not_a_hang()
    {
        _t.File("/p/evil.yaml", "inherits: /dev/zero\n");
        using var h = new SyntheticHost();
        var direct = KvmtuneProcess.Run("audit", "--root", h.Root, "--profile", "/dev/zero");
        direct.ExitCode.Should().Be(2, direct.Stderr);
        direct.Stderr.Should().Contain("/dev/zero").And.Contain("not a regular file");
        var inherited = KvmtuneProcess.Run("audit", "--root", h.Root, "--profile", _t.Physical("/p/evil.yaml"));
        inherited.ExitCode.Should().Be(2, inherited.Stderr);
        inherited.Stderr.Should().Contain("evil.yaml:1: inherits:");
    }

    [Fact]
    public void Inheriting_a_foreign_file_never_echoes_its_contents()
    {
        _t.File("/secret.txt", "password: hunter2\n").File("/p/evil.yaml", "inherits: ../secret.txt\n");
        var run = KvmtuneRunner.Run("profiles", "show", _t.Physical("/p/evil.yaml"));
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().NotContain("hunter2").And.NotContain("password").And.Contain("evil.yaml:1: inherits:");
    }

    [Fact]
    public void A_hostile_sysfs_value_in_a_profile_is_exit_2_with_file_line_and_key_and_changes_nothing()
    {
        using var h = new SyntheticHost();
        const string thp = "/sys/kernel/mm/transparent_hugepage/defrag";
        h.Set("/p/evil.yaml", $"inherits: balanced\nsysfs:\n  {thp}: \"never\\nw /etc/shadow - - - - pwned\"\n");
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(
            "apply",
            "--root",
            h.Root,
            "--profile",
            h.Tree.Physical("/p/evil.yaml"),
            "--persist"
        );
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain($"evil.yaml:3: {thp}:").And.NotContain("\nw /etc");
        TreeState.Of(h.Root).Should().BeEquivalentTo(before);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("audit")]
    [InlineData("apply")]
    public void An_empty_root_option_is_bad_input_not_the_live_host(string command)
    {
        var run = KvmtuneRunner.Run(command, "--root", "");
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("--root is empty");
        run.Stdout.Should().BeEmpty();
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("apply")]
    public void An_empty_KVMTUNE_ROOT_is_bad_input_not_the_live_host(string command)
    {
        var run = KvmtuneRunner.Run(new Dictionary<string, string> { ["KVMTUNE_ROOT"] = "" }, command);
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("KVMTUNE_ROOT is empty");
    }

    [Fact]
    public void An_unset_KVMTUNE_ROOT_still_means_this_machine()
    {
        var run = KvmtuneRunner.Run(new Dictionary<string, string>(), "inspect", "--format", "json");
        run.ExitCode.Should().Be(0, run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        doc.RootElement.GetProperty("cpu").GetProperty("online").GetArrayLength().Should().BePositive();
    }

    [Fact]
    public void A_root_with_neither_proc_nor_sys_is_bad_input_saying_what_is_missing()
    {
        var run = KvmtuneRunner.Run("audit", "--root", _t.Root);
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain(_t.Root).And.Contain("neither a proc nor a sys folder");
        _t.Dir("/sys");
        KvmtuneRunner
            .Run("inspect", "--root", _t.Root)
            .ExitCode.Should()
            .Be(0, "a tree with only /sys is a machine tree");
    }

    [Theory]
    [InlineData("audit", "--only")]
    [InlineData("audit", "--skip")]
    [InlineData("apply", "--only")]
    public void A_check_selector_that_matches_nothing_is_bad_input_listing_the_checks(string command, string option)
    {
        using var h = new SyntheticHost();
        var before = TreeState.Of(h.Root);
        var run = KvmtuneRunner.Run(command, "--root", h.Root, option, "host.cpu.governor,no.such.check");
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain($"{option}: 'no.such.check' matches no check").And.Contain("host.cpu.governor");
        TreeState.Of(h.Root).Should().BeEquivalentTo(before);
    }

    [Fact]
    public void Ids_prefixes_and_sections_still_select()
    {
        using var h = new SyntheticHost();
        foreach (var selector in new[] { "host.cpu.governor", "host.bios", "3.2", "3.2.3", "profile" })
            KvmtuneRunner
                .Run("audit", "--root", h.Root, "--only", selector)
                .ExitCode.Should()
                .BeOneOf([0, 1], selector);
    }

    [Theory]
    [InlineData("stop", "../x")]
    [InlineData("stop", "..")]
    [InlineData("stop", "a/b")]
    [InlineData("stop", "x\n")]
    [InlineData("status", "../x")]
    [InlineData("status", ".")]
    public void Vm_names_outside_the_name_grammar_never_leave_the_run_folder(string verb, string name)
    {
        // A state file beside the run folder, with a "QMP socket" that is someone else's file.
        _t.File("/victim", "keep me\n");
        _t.File(
            "/x.json",
            $"{{\"name\":\"x\",\"pid\":1,\"qmp_socket\":\"{_t.Physical("/victim")}\","
                + "\"console\":\"\",\"accel\":\"kvm\",\"pins\":[]}"
        );
        _t.Dir("/run");
        string[] grace = verb == "stop" ? ["--grace", "0"] : [];
        var run = KvmtuneRunner.Run(["vm", verb, name, "--run-dir", _t.Physical("/run"), .. grace]);
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("is not a VM name");
        File.Exists(_t.Physical("/x.json")).Should().BeTrue();
        File.Exists(_t.Physical("/victim")).Should().BeTrue();
    }

    [Fact]
    public void Escape_sequences_from_a_hostile_tree_are_shown_not_obeyed_and_json_is_unchanged()
    {
        using var h = new SyntheticHost();
        var cpuinfo = File.ReadAllText(h.Tree.Physical("/proc/cpuinfo"))
            .Replace("Intel(R) Xeon(R) Gold 6348", "Evil\u001b[2J\u009b31m\u0007CPU");
        h.Set("/proc/cpuinfo", cpuinfo)
            .ForEachCpu(
                c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor",
                "powersave\u001b]0;owned\u0007"
            );
        var inspect = KvmtuneRunner.Run("inspect", "--root", h.Root);
        inspect.ExitCode.Should().Be(0, inspect.Stderr);
        inspect.Stdout.Should().Contain("Evil\\x1b[2J\\x9b31m\\x07CPU").And.Contain("powersave\\x1b]0;owned\\x07");
        inspect.Stdout.Should().NotContain("\u001b").And.NotContain("\u009b").And.NotContain("\u0007");
        var audit = KvmtuneRunner.Run("audit", "--root", h.Root, "--details");
        audit.Stdout.Should().Contain("powersave\\x1b]0;owned\\x07").And.NotContain("\u001b").And.NotContain("\u0007");
        var json = KvmtuneRunner.Run("inspect", "--root", h.Root, "--format", "json");
        using var doc = JsonDocument.Parse(json.Stdout);
        doc.RootElement.GetProperty("cpu")
            .GetProperty("model")
            .GetString()
            .Should()
            .Contain("Evil\u001b[2J\u009b31m\u0007CPU", "JSON escapes it itself");
    }

    [Fact]
    public void Apply_refuses_a_tree_value_it_could_not_journal_and_shows_it_escaped()
    {
        using var h = new SyntheticHost();
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", "powersave\u001b[2J");
        var run = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--dry-run");
        // An original outside the value grammar could not be written back exactly: the plan is refused (exit 2).
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain("scaling_governor").And.Contain("\\x1b[2J").And.NotContain("\u001b");
    }

    [Fact]
    public void On_a_terminal_kvmtune_keeps_its_own_colours_and_escapes_the_trees()
    {
        using var h = new SyntheticHost();
        h.ForEachCpu(c => $"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", "powersave\u001b[2J");
        var stdout = new StringWriter();
        var ctx = new Kvmtune.Cli.CliContext(stdout, new StringWriter(), _ => null, stdoutIsTerminal: true);
        Kvmtune.Cli.KvmtuneCli.Run(["audit", "--root", h.Root], ctx);
        stdout.ToString().Should().Contain("\e[31mFAIL").And.Contain("powersave\\x1b[2J").And.NotContain("\e[2J");
    }

    [Fact]
    public void Fleet_refuses_a_device_or_a_fifo_named_like_an_audit_instead_of_hanging()
    {
        _t.Link("/fleet/a/zero.json", "/dev/zero");
        var zero = KvmtuneProcess.Run("fleet", _t.Physical("/fleet"));
        zero.ExitCode.Should().Be(2, zero.Stderr);
        zero.Stderr.Should().Contain("zero.json").And.Contain("not a regular file");
        _t.Delete("/fleet/a/zero.json");
        Processes.Run("mkfifo", [_t.Physical("/fleet/a/pipe.json")]).ExitCode.Should().Be(0);
        var fifo = KvmtuneProcess.Run("fleet", _t.Physical("/fleet"));
        fifo.ExitCode.Should().Be(2, fifo.Stderr);
        fifo.Stderr.Should().Contain("pipe.json").And.Contain("not a regular file");
    }

    [Theory]
    [InlineData("{\"schema\":\"kvmtune.audit/v1\"}")]
    [InlineData("{\"schema\":\"kvmtune.audit/v1\",\"profile\":1,\"role\":\"host\",\"findings\":[]}")]
    [InlineData("{\"schema\":\"kvmtune.audit/v1\",\"profile\":\"p\",\"role\":\"host\",\"findings\":{}}")]
    [InlineData("{\"schema\":\"kvmtune.audit/v1\",\"profile\":\"p\",\"role\":\"host\",\"findings\":[7]}")]
    public void Fleet_calls_a_malformed_audit_bad_input_not_an_internal_error(string json)
    {
        _t.File("/fleet/h1.json", json);
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("h1.json").And.NotContain("internal error");
    }

    [Fact]
    public void Fleet_text_shows_hostile_host_names_and_values_escaped()
    {
        static string Audit(string host, string status) =>
            $"{{\"schema\":\"kvmtune.audit/v1\",\"host\":\"{host}\",\"profile\":\"balanced\",\"role\":\"host\","
            + $"\"findings\":[{{\"id\":\"host.cpu.governor\",\"status\":\"{status}\",\"current\":\"x\\u001b[2J\","
            + "\"title\":\"t\"}]}";
        _t.File("/fleet/a.json", Audit("evil\\u001b]0;owned\\u0007", "fail"))
            .File("/fleet/b.json", Audit("good", "pass"));
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        run.ExitCode.Should().Be(1, run.Stderr);
        run.Stdout.Should().Contain("evil\\x1b]0;owned\\x07").And.Contain("x\\x1b[2J").And.NotContain("\u001b");
    }

    [Fact]
    public void A_missing_spec_file_is_reported_as_a_sentence()
    {
        var run = KvmtuneProcess.Run("vm", "plan", "/nonexistent/spec.yaml");
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("/nonexistent/spec.yaml").And.Contain("no such file");
        ResourceKey().IsMatch(run.Stderr).Should().BeFalse(run.Stderr);
    }

    [Fact]
    public void A_broken_state_file_is_reported_as_a_sentence()
    {
        _t.File("/run/a.json", "{\"name\": ");
        var run = KvmtuneProcess.Run("vm", "status", "a", "--run-dir", _t.Physical("/run"));
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("a.json");
        ResourceKey().IsMatch(run.Stderr).Should().BeFalse(run.Stderr);
        Regex.IsMatch(run.Stderr, @"[a-z]+ [a-z]+ [a-z]+").Should().BeTrue(run.Stderr);
    }
}
