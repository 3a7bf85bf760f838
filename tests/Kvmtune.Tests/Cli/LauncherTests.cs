using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// The repository's <c>./kvmtune</c> launcher (issue #15: no measurable time once built, yet never a stale binary),
/// run by /bin/sh on a copy of it beside a small source tree, with a stand-in <c>dotnet</c> on PATH that records each
/// build and writes a binary echoing its arguments. What counts as changed is POSIX's: a file's modification time
/// moves when it is written, a folder's when a name in it is added, removed or renamed (stat(3p), rename(2)).
/// </summary>
public sealed class LauncherTests : IDisposable
{
    private readonly TestTree _t = new();
    private readonly DateTime _built = DateTime.UtcNow.AddHours(-1);

    public void Dispose() => _t.Dispose();

    private string P(string path) => _t.Physical(path);

    private LauncherTests Setup()
    {
        _t.File("/repo/src/Kvmtune.Cli/Kvmtune.Cli.csproj", "<Project />\n")
            .File("/repo/src/Kvmtune.Cli/Program.cs", "class P;\n")
            .File("/repo/src/Kvmtune.Cli/Commands/Audit/AuditCommand.cs", "class A;\n")
            .File("/repo/global.json", "{}\n")
            .File("/repo/Directory.Build.props", "<Project />\n")
            .File(
                "/fake/dotnet",
                "#!/bin/sh\n"
                    + "echo \"$*\" >> \"$(dirname \"$0\")/builds\"\n"
                    + "mkdir -p \"$6\"\n"
                    + "printf '#!/bin/sh\\necho ran \"$#\" \"$@\"\\n' > \"$6/kvmtune\"\n"
                    + "chmod +x \"$6/kvmtune\"\n"
            );
        File.SetUnixFileMode(P("/fake/dotnet"), (UnixFileMode)0b111_101_101);
        File.Copy(Path.Combine(Paths.RepoRoot, "kvmtune"), P("/repo/kvmtune"));
        return this;
    }

    private ProcessResult Run(params string[] args)
    {
        var path = P("/fake") + ":" + Environment.GetEnvironmentVariable("PATH");
        return Processes.Run("/usr/bin/env", ["PATH=" + path, "/bin/sh", P("/repo/kvmtune"), .. args]);
    }

    private int Builds() => File.Exists(P("/fake/builds")) ? File.ReadAllLines(P("/fake/builds")).Length : 0;

    /// <summary>Every source name an hour older than the binary, so one change is all that is newer.</summary>
    private void Settle()
    {
        foreach (var e in Directory.EnumerateFileSystemEntries(P("/repo/src"), "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(e, _built.AddHours(-1));
        Directory.SetLastWriteTimeUtc(P("/repo/src"), _built.AddHours(-1));
        File.SetLastWriteTimeUtc(P("/repo/global.json"), _built.AddHours(-1));
        File.SetLastWriteTimeUtc(P("/repo/Directory.Build.props"), _built.AddHours(-1));
        File.SetLastWriteTimeUtc(P("/repo/.build/aot/kvmtune"), _built);
    }

    [Fact]
    public void It_builds_once_then_runs_the_binary_with_the_arguments_as_given()
    {
        Setup();
        var first = Run("audit", "a b", "");
        first.ExitCode.Should().Be(0, first.Stderr);
        first.Stderr.Should().Contain("building the native binary");
        first.Stdout.Should().Be("ran 3 audit a b \n");
        Builds().Should().Be(1);
        Settle();
        var second = Run("--version", "x'y");
        second.ExitCode.Should().Be(0, second.Stderr);
        second.Stdout.Should().Be("ran 2 --version x'y\n");
        second.Stderr.Should().BeEmpty();
        Builds().Should().Be(1, "nothing changed since the build");
    }

    [Theory]
    [InlineData("edited in place")]
    [InlineData("added, with an old time")]
    [InlineData("removed")]
    [InlineData("renamed")]
    [InlineData("build settings")]
    public void A_changed_source_makes_it_build_again(string change)
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        var cs = P("/repo/src/Kvmtune.Cli/Commands/Audit/AuditCommand.cs");
        switch (change)
        {
            case "edited in place":
                using (var f = new FileStream(cs, FileMode.Append))
                    f.WriteByte((byte)'\n');
                break;
            case "added, with an old time":
                var added = P("/repo/src/Kvmtune.Cli/Commands/Audit/AuditOptions.cs");
                File.WriteAllText(added, "class O;\n");
                File.SetLastWriteTimeUtc(added, _built.AddDays(-1));
                break;
            case "removed":
                File.Delete(cs);
                break;
            case "renamed":
                File.Move(cs, cs.Replace("AuditCommand", "AuditVerb"));
                break;
            case "build settings":
                File.SetLastWriteTimeUtc(P("/repo/Directory.Build.props"), DateTime.UtcNow);
                break;
        }
        var run = Run("--version");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stderr.Should().Contain("building the native binary");
        Builds().Should().Be(2, change);
        Settle();
        Run("--version").ExitCode.Should().Be(0);
        Builds().Should().Be(2, "the new build is newer than the change");
    }
}
