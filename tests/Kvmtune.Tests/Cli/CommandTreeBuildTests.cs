using System.CommandLine;
using System.CommandLine.Help;
using AwesomeAssertions;
using Kvmtune.Cli;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// A run builds only the part of the command tree its arguments can reach (one command; the help and version options
/// only when an argument could name them). Whatever it leaves out, System.CommandLine must parse the arguments exactly
/// as it parses them against the whole tree: the same command, the same action, the same errors.
/// </summary>
public sealed class CommandTreeBuildTests
{
    public static TheoryData<string> Arguments() =>
        [
            "inspect",
            "inspect --format json --root /x",
            "inspect --root=/x --format=json",
            "inspect --root:/x --format:json",
            "--root /x inspect",
            "inspect --version",
            "inspect --root /x --version",
            "inspect -h",
            "inspect -?",
            "inspect /?",
            "inspect /h",
            "inspect /h:",
            "inspect /?=x",
            "audit -p /h:",
            "inspect -h:",
            "inspect --help=x",
            "inspect --help",
            "inspect --helpx",
            "inspect --format json -- -h",
            "inspect extra",
            "inspect --format",
            "inspect --formatx json",
            "audit -p default -h",
            "audit -ph",
            "audit -pdefault",
            "audit --profile latency --bogus -h",
            "audit -o /tmp/x.json --format json",
            "profiles",
            "profiles show -h",
            "profiles show default",
            "vm",
            "vm plan",
            "vm plan -h",
            "fleet /tmp",
            "history --format json",
            "--version --help",
            "--help --version",
            "-h",
            "/?",
            "help",
            "",
        ];

    [Theory]
    [MemberData(nameof(Arguments))]
    public void A_partial_tree_parses_as_the_whole_tree_does(string line)
    {
        string[] args = line.Length == 0 ? [] : line.Split(' ');
        var ctx = new CliContext(new StringWriter(), new StringWriter(), _ => null, false);
        var partial = KvmtuneCli.Build(ctx, args).Parse(args);
        var whole = KvmtuneCli.Build(ctx).Parse(args);

        Path(partial.CommandResult.Command).Should().Be(Path(whole.CommandResult.Command));
        partial.Action?.GetType().Should().Be(whole.Action?.GetType());
        partial.Errors.Select(e => e.Message).Should().Equal(whole.Errors.Select(e => e.Message));
        partial.Tokens.Select(t => (t.Value, t.Type)).Should().Equal(whole.Tokens.Select(t => (t.Value, t.Type)));
    }

    [Theory]
    [InlineData("inspect -h")]
    [InlineData("inspect -?")]
    [InlineData("inspect /h")]
    public void Help_asked_for_in_any_spelling_is_help(string line)
    {
        var ctx = new CliContext(new StringWriter(), new StringWriter(), _ => null, false);
        var args = line.Split(' ');
        var tree = KvmtuneCli.Build(ctx, args);
        tree.Options.OfType<HelpOption>().Should().ContainSingle();
        KvmtuneCli.Build(ctx, args).Parse(args).Action.Should().BeOfType<HelpAction>();
    }

    [Theory]
    [InlineData("[diagram]")]
    [InlineData("[anything]")]
    public void A_directive_kvmtune_does_not_know_is_refused_not_skipped(string directive)
    {
        // System.CommandLine reads leading [name] arguments as directives, and only a RootCommand acts on them; a
        // plain root would skip the token and run the command after it.
        var run = KvmtuneRunner.Run(directive, "profiles", "list");
        run.ExitCode.Should().Be(2, run.Stdout);
        run.Stderr.Should().Contain(directive);
        run.Stdout.Should().BeEmpty();
    }

    [Fact]
    public void The_suggest_directive_suggests()
    {
        var run = KvmtuneRunner.Run("[suggest]", "insp");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Split('\n').Should().Contain("inspect");
    }

    [Fact]
    public void A_run_that_cannot_ask_for_help_builds_no_help_option()
    {
        var ctx = new CliContext(new StringWriter(), new StringWriter(), _ => null, false);
        string[] args = ["inspect", "--format", "json", "--root", "/x"];
        KvmtuneCli.Build(ctx, args).Options.Should().NotContain(o => o is HelpOption || o is VersionOption);
    }

    private static string Path(Command c) =>
        c.Parents.OfType<Command>().FirstOrDefault() is { } p ? $"{Path(p)} {c.Name}" : c.Name;
}
