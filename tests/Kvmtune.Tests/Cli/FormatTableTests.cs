using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Reports.Audit;
using Kvmtune.Reports.Fleet;
using Kvmtune.Reports.History;
using Kvmtune.Reports.Inspect;
using Kvmtune.Reports.Vm;
using Kvmtune.Reports.VmAudit;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// <c>--format</c> is built from each report's format table: every format a table lists runs and prints, and the
/// help, the accepted values and the refusal of any other name are what the contract (docs/cli.md) lists for the
/// command, so a table and the contract cannot drift apart.
/// </summary>
public sealed class FormatTableTests
{
    private const string Spec = "name: small\nvcpus: 1\nmemory: 64MiB\nhugepages: none\n";

    /// <summary>Each contract row with <c>[--format a\|b]</c> in its command cell: the command and its formats, in
    /// order.</summary>
    private static Dictionary<string, string[]> Contract() =>
        File.ReadAllLines(Path.Combine(Paths.RepoRoot, "docs", "cli.md"))
            .Where(l => l.StartsWith("| `kvmtune ", StringComparison.Ordinal))
            .Select(l =>
                Regex.Match(l.Split(" | ")[0], @"`kvmtune ([a-z][a-z-]*(?: [a-z][a-z-]*)*)[^`]*\[--format ([^\]]+)\]")
            )
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Split("\\|"), StringComparer.Ordinal);

    public static TheoryData<string, string> ContractFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var (command, formats) in Contract().OrderBy(c => c.Key, StringComparer.Ordinal))
            data.Add(command, string.Join('|', formats));
        return data;
    }

    /// <summary>Every format of every table, with the command that takes it.</summary>
    public static TheoryData<string, string> TableFormats()
    {
        var data = new TheoryData<string, string>();
        void Add(string command, IEnumerable<string> names)
        {
            foreach (var n in names)
                data.Add(command, n);
        }
        Add("audit", AuditFormats.All.Names);
        Add("inspect", InspectFormats.All.Names);
        Add("vm audit", VmAuditFormats.All.Names);
        Add("vm plan", PlanFormats.All.Names);
        Add("vm qemu", QemuFormats.All.Names);
        Add("history", HistoryFormats.All.Names);
        Add("fleet", FleetFormats.All.Names);
        return data;
    }

    [Fact]
    public void The_contract_lists_the_formats_of_every_command_that_has_a_format_option()
    {
        var tree = Kvmtune.Cli.KvmtuneCli.Build(
            new Kvmtune.Cli.CliContext(new StringWriter(), new StringWriter(), _ => null, false)
        );
        var withFormat = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(Command c, string path)
        {
            if (c.Options.Any(o => o.Name == "--format"))
                withFormat.Add(path);
            foreach (var sub in c.Subcommands)
                Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}");
        }
        Walk(tree, "");
        withFormat.Should().Contain(["audit", "inspect", "vm audit"], "the walk sees the commands");
        Contract().Keys.Should().BeEquivalentTo(withFormat);
        TableFormats().Select(r => r.Data.Item1).Distinct().Should().BeEquivalentTo(withFormat);
    }

    [Theory]
    [MemberData(nameof(ContractFormats))]
    public void Help_lists_exactly_the_contract_formats_the_first_as_default(string command, string formats)
    {
        var expected = formats.Split('|');
        var run = KvmtuneRunner.Run([.. command.Split(' '), "--help"]);
        run.ExitCode.Should().Be(0, run.Stderr);
        // Help may wrap the description onto indented lines: read it as one run of words.
        var help = Regex.Replace(run.Stdout, @"\s+", " ");
        var option = Regex.Match(help, @"--format <([^>]*)> Output format: (.*?) \[default: ([a-z]+)\]");
        option.Success.Should().BeTrue(run.Stdout);
        option.Groups[1].Value.Split('|').Should().BeEquivalentTo(expected, "the values accepted");
        Regex
            .Matches(option.Groups[2].Value, @"(?:^|, )([a-z]+) \(")
            .Select(m => m.Groups[1].Value)
            .Should()
            .Equal(expected, "each format with its description, in the contract's order");
        option.Groups[3].Value.Should().Be(expected[0]);
    }

    [Theory]
    [MemberData(nameof(ContractFormats))]
    public void An_unknown_format_is_bad_usage_naming_the_known_ones(string command, string formats)
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run([.. Args(command, h), "--format", "xml"]);
        run.ExitCode.Should().Be(2);
        run.Stdout.Should().BeEmpty();
        run.Stderr.Should().Contain("'xml' not recognized");
        foreach (var f in formats.Split('|'))
            run.Stderr.Should().Contain($"'{f}'");
    }

    [Theory]
    [MemberData(nameof(TableFormats))]
    public void Every_format_of_a_table_is_accepted_and_prints(string command, string format)
    {
        using var h = new SyntheticHost();
        var run = KvmtuneRunner.Run([.. Args(command, h), "--format", format]);
        // 1 is a check that fails (the synthetic host has some), never a refusal of the format.
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        run.Stderr.Should().BeEmpty();
        run.Stdout.Should().NotBeNullOrWhiteSpace();
        switch (format)
        {
            case "json":
                var parse = () => JsonDocument.Parse(run.Stdout).Dispose();
                parse.Should().NotThrow("json is one document and nothing else");
                break;
            case "html":
                run.Stdout.Should().StartWith("<!DOCTYPE html>").And.EndWith("</html>\n");
                break;
            case "svg":
                XDocument.Parse(run.Stdout).Root!.Name.LocalName.Should().Be("svg");
                break;
            case "prometheus":
                // The text exposition format: comments, and "name{labels} value" samples.
                run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Should()
                    .AllSatisfy(l => l.Should().MatchRegex(@"^(# (HELP|TYPE) .*|[a-z_]+(\{.*\})? [0-9.]+)$"));
                break;
        }
    }

    /// <summary>The command against the synthetic host: a spec of one VM; for fleet, a folder of its audit.</summary>
    private static string[] Args(string command, SyntheticHost h)
    {
        var spec = h.Tree.Physical("/vm.yaml");
        if (!File.Exists(spec))
            File.WriteAllText(spec, Spec);
        switch (command)
        {
            case "fleet":
                var dir = h.Tree.Physical("/fleet");
                Directory.CreateDirectory(dir);
                var audit = KvmtuneRunner.Run(
                    "audit",
                    "--root",
                    h.Root,
                    "--format",
                    "json",
                    "--output",
                    Path.Combine(dir, "host.json")
                );
                audit.ExitCode.Should().BeOneOf([0, 1], audit.Stderr);
                return ["fleet", dir];
            case "vm plan" or "vm qemu":
                return [.. command.Split(' '), spec, "--accel", "tcg", "--root", h.Root];
            default:
                return [.. command.Split(' '), "--root", h.Root];
        }
    }
}
