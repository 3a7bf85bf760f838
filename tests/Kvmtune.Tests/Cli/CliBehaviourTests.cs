using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

public sealed class CliBehaviourTests
{
    [Fact]
    public void A_root_that_does_not_exist_is_bad_input()
    {
        var run = KvmtuneRunner.Run("inspect", "--root", "/no/such/folder");
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("/no/such/folder").And.Contain("--root");
        run.Stdout.Should().BeEmpty();
    }

    [Fact]
    public void KVMTUNE_ROOT_is_used_when_there_is_no_root_option()
    {
        var run = KvmtuneRunner.Run(
            new Dictionary<string, string> { ["KVMTUNE_ROOT"] = "/no/such/env/root" },
            "inspect"
        );
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("KVMTUNE_ROOT").And.Contain("/no/such/env/root");
    }

    [Fact]
    public void A_bare_folder_prints_what_it_can_and_unknown_for_the_rest()
    {
        // An empty /sys is the least that still makes a machine tree (a folder with neither is refused).
        using var t = new TestTree().Dir("/sys");
        var text = KvmtuneRunner.Run("inspect", "--root", t.Root);
        text.ExitCode.Should().Be(0, text.Stderr);
        text.Stdout.Should().Contain("role unknown").And.Contain("packages unknown").And.Contain("available: unknown");
        var json = KvmtuneRunner.Run("inspect", "--root", t.Root, "--format", "json");
        json.ExitCode.Should().Be(0);
        using var doc = JsonDocument.Parse(json.Stdout);
        doc.RootElement.GetProperty("role").GetString().Should().Be("unknown");
        doc.RootElement.GetProperty("cpu").GetProperty("packages").ValueKind.Should().Be(JsonValueKind.Null);
        doc.RootElement.GetProperty("numa").GetProperty("nodes").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public void An_unknown_format_or_option_is_bad_usage()
    {
        KvmtuneRunner.Run("inspect", "--format", "xml").ExitCode.Should().Be(2);
        KvmtuneRunner.Run("inspect", "--no-such-option").ExitCode.Should().Be(2);
        KvmtuneRunner.Run("no-such-command").ExitCode.Should().Be(2);
    }

    /// <summary>Every command the contract (docs/cli.md) names in its tables: "kvmtune vm plan SPEC" gives "vm
    /// plan".</summary>
    public static TheoryData<string> ContractCommands()
    {
        var contract = File.ReadAllLines(Path.Combine(Paths.RepoRoot, "docs", "cli.md"));
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var row in contract.Where(l => l.StartsWith("| `kvmtune ", StringComparison.Ordinal)))
        {
            var cell = row.Split(" | ")[0];
            foreach (
                System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(
                    cell,
                    "`kvmtune ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)"
                )
            )
                names.Add(m.Groups[1].Value);
        }
        var data = new TheoryData<string>();
        foreach (var n in names)
            data.Add(n);
        return data;
    }

    [Fact]
    public void The_contract_names_every_command_family()
    {
        ContractCommands().Select(r => r.Data).Should().Contain(["inspect", "audit", "vm plan", "vfio bind"]);
    }

    [Theory]
    [MemberData(nameof(ContractCommands))]
    public void Every_command_has_help(string command)
    {
        var words = command.Split(' ');
        var run = KvmtuneProcess.Run(null, [.. words, "--help"]);
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Contain("Usage:").And.Contain("kvmtune " + command).And.Contain("--root");
    }

    [Fact]
    public void Version_prints_the_version()
    {
        var run = KvmtuneRunner.Run("--version");
        run.ExitCode.Should().Be(0);
        run.Stdout.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+");
    }

    [Fact]
    public void Colour_only_on_a_terminal_and_never_with_NO_COLOR()
    {
        using var h = new SyntheticHost();
        static string Run(bool tty, string? noColor, string root)
        {
            var stdout = new StringWriter();
            var env = new Dictionary<string, string>();
            if (noColor is not null)
                env["NO_COLOR"] = noColor;
            var ctx = new Kvmtune.Cli.CliContext(
                stdout,
                new StringWriter(),
                n => env.TryGetValue(n, out var v) ? v : null,
                tty
            );
            Kvmtune.Cli.KvmtuneCli.Run(["audit", "--root", root], ctx);
            return stdout.ToString();
        }
        Run(tty: true, noColor: null, h.Root).Should().Contain("\e[31mFAIL");
        Run(tty: true, noColor: "1", h.Root).Should().NotContain("\e[");
        Run(tty: false, noColor: null, h.Root).Should().NotContain("\e[");
    }

    [Fact]
    public void Apply_shows_progress_on_a_terminal_and_nothing_otherwise()
    {
        foreach (var tty in new[] { true, false })
        {
            using var h = new SyntheticHost();
            var stderr = new StringWriter();
            var ctx = new Kvmtune.Cli.CliContext(
                new StringWriter(),
                stderr,
                _ => null,
                stdoutIsTerminal: false,
                stderrIsTerminal: tty
            );
            Kvmtune.Cli.KvmtuneCli.Run(["apply", "--root", h.Root, "--profile", "latency"], ctx).Should().Be(0);
            if (tty)
                stderr.ToString().Should().Contain("[1/").And.Contain("scaling_governor");
            else
                stderr.ToString().Should().NotContain("[1/");
        }
    }

    [Fact]
    public void Json_output_is_one_document_and_nothing_else()
    {
        var run = KvmtuneRunner.Run("inspect", "--format", "json");
        run.ExitCode.Should().Be(0, run.Stderr);
        var act = () => JsonDocument.Parse(run.Stdout);
        act.Should().NotThrow();
    }
}
