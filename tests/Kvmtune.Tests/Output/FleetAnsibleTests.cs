using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>contrib/ansible run for real with ansible-core against localhost, then kvmtune fleet on what it
/// fetched.</summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class FleetAnsibleTests
{
    [Fact]
    public void The_playbook_audits_localhost_and_fleet_merges_the_results()
    {
        Assert.SkipUnless(Processes.OnPath("ansible-playbook"), "ansible-core is not installed (test.sh installs it)");
        var bin = Environment.GetEnvironmentVariable("KVMTUNE_BIN");
        Assert.SkipWhen(
            string.IsNullOrEmpty(bin) || !File.Exists(bin),
            "KVMTUNE_BIN (the native binary test.sh builds) is not set"
        );
        using var t = new TestTree();
        var results = t.Physical("/results");
        t.Dir("/bin");
        var env = new Dictionary<string, string>
        {
            ["ANSIBLE_LOCALHOST_WARNING"] = "false",
            ["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false",
            ["ANSIBLE_NOCOLOR"] = "1",
            ["HOME"] = t.Root,
        };
        string[] Args(params string[] extra) =>
            [
                "-i",
                "localhost,",
                "-c",
                "local",
                Path.Combine(Paths.RepoRoot, "contrib", "ansible", "site.yml"),
                "-e",
                $"kvmtune_binary={bin}",
                "-e",
                $"kvmtune_install_path={t.Physical("/bin/kvmtune")}",
                "-e",
                $"kvmtune_results_dir={results}",
                "-e",
                $"kvmtune_remote_result={t.Physical("/audit.json")}",
                .. extra,
            ];
        var run = Processes.Run("ansible-playbook", Args(), env, timeoutMs: 300_000);
        run.ExitCode.Should().Be(0, run.Stdout + run.Stderr);
        File.Exists(Path.Combine(results, "localhost.json")).Should().BeTrue();
        // A second host's result, as another machine of the same profile would send, to show the differences.
        var other = File.ReadAllText(Path.Combine(results, "localhost.json"))
            .Replace("\"status\": \"pass\"", "\"status\": \"fail\"");
        File.WriteAllText(
            Path.Combine(results, "other.json"),
            System.Text.RegularExpressions.Regex.Replace(other, "\"host\": \"[^\"]*\"", "\"host\": \"other\"")
        );
        var fleet = KvmtuneRunner.Run("fleet", results);
        fleet.ExitCode.Should().Be(1, fleet.Stderr);
        var hostname = File.ReadAllText("/proc/sys/kernel/hostname").Trim();
        fleet.Stdout.Should().Contain("2 host(s)").And.Contain(hostname).And.Contain("other");
        fleet.Stdout.Should().Contain("differences between hosts audited alike").And.Contain("guest.kernel.idle");
        KvmtuneRunner.Run("fleet", results, "--format", "html").Stdout.Should().Contain("<th class=\"host\">other");

        // --check with a profile to apply becomes apply --dry-run and changes nothing.
        var thp = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
        var check = Processes.Run(
            "ansible-playbook",
            Args("--check", "-e", "kvmtune_apply_profile=latency", "-v"),
            env,
            timeoutMs: 300_000
        );
        check.ExitCode.Should().Be(0, check.Stdout + check.Stderr);
        check.Stdout.Should().Contain("dry run: nothing changed");
        File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Should().Be(thp);
    }
}
