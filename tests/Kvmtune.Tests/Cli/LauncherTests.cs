using System.Globalization;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// The repository's <c>./kvmtune</c> launcher (issue #15: no measurable time once built, yet never a stale binary),
/// run by /bin/sh on a copy of it beside a small source tree, with a stand-in <c>dotnet</c> on PATH that records each
/// build and "builds" a copy of the real binary, which makes the check once built. What counts as changed is
/// POSIX's: a file's modification time moves when it is written, a folder's when a name in it is added, removed or
/// renamed (stat(3p), rename(2)). Arguments are seen as the binary saw them: it names each one it does not know.
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
                    // The launcher's build lock is its own: a descriptor left open here would outlive it in the
                    // build servers dotnet leaves running.
                    + "if [ -e /proc/$$/fd/9 ]; then echo dotnet >> \"$(dirname \"$0\")/lock-inherited\"; fi\n"
                    // As publish does on a first build: the project's bin/ and obj/, in its folder.
                    + "mkdir -p \"$(dirname \"$2\")/bin\" \"$(dirname \"$2\")/obj\"\n"
                    + "mkdir -p \"$6\"\n"
                    + "cp \"$KVMTUNE_REAL\" \"$6/kvmtune\"\n"
            );
        File.SetUnixFileMode(P("/fake/dotnet"), (UnixFileMode)0b111_101_101);
        File.Copy(Path.Combine(Paths.RepoRoot, "kvmtune"), P("/repo/kvmtune"));
        // Not executable, as a checkout with a lost mode bit: `sh kvmtune` runs it, and so does the binary.
        File.SetUnixFileMode(P("/repo/kvmtune"), (UnixFileMode)0b110_100_100);
        return this;
    }

    private string[] Env() =>
        [
            "PATH=" + P("/fake") + ":" + Environment.GetEnvironmentVariable("PATH"),
            "KVMTUNE_REAL=" + KvmtuneProcess.Binary,
        ];

    private ProcessResult Run(params string[] args) => RunAs(P("/repo/kvmtune"), null, args);

    /// <summary>The launcher as <c>sh LAUNCHER ARGS</c> from <paramref name="cwd"/>: its $0 as given.</summary>
    private ProcessResult RunAs(string launcher, string? cwd, params string[] args) =>
        Processes.Run("/usr/bin/env", [.. Env(), "/bin/sh", launcher, .. args], cwd: cwd);

    /// <summary>What the kernel saw the launcher and the binary execute, each with its process id, arguments and
    /// environment (strace -f -v).</summary>
    private (ProcessResult Run, string[] Execs) Traced(params string[] args) => Traced([], args);

    private (ProcessResult Run, string[] Execs) Traced(string[] env, params string[] args)
    {
        var log = P("/trace");
        var run = Processes.Run(
            "strace",
            ["-f", "-qq", "-v", "-s", "4096", "-e", "trace=execve", "-o", log, "/usr/bin/env", .. Env(), .. env,
                "/bin/sh", P("/repo/kvmtune"), .. args]
        );
        var execs = File.ReadAllLines(log).Where(l => l.Contains("execve(", StringComparison.Ordinal)).ToArray();
        File.Delete(log);
        return (run, execs);
    }

    private static string Version => KvmtuneProcess.Run("--version").Stdout;

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
        var first = Run("nosuch", "a b", "");
        first.ExitCode.Should().Be(2, first.Stderr);
        first.Stderr.Should().Contain("building the native binary");
        Unknown(first).Should().Equal("nosuch", "a b", "");
        Builds().Should().Be(1);
        Settle();
        var second = Run("nosuch", "x'y", "*", "$HOME");
        second.ExitCode.Should().Be(2, second.Stderr);
        Unknown(second).Should().Equal("nosuch", "x'y", "*", "$HOME");
        second.Stderr.Should().NotContain("building");
        Builds().Should().Be(1, "nothing changed since the build");
        Run("--version").Stdout.Should().Be(Version);
    }

    [Fact]
    public void A_first_build_in_a_fresh_clone_is_current_at_the_next_run()
    {
        // A fresh clone: every source older than the build, no bin/ or obj/ yet. What the build adds to the project
        // folders must not read as a change.
        Setup();
        Run("--version").Stderr.Should().Contain("building the native binary");
        var next = Run("--version");
        next.Stdout.Should().Be(Version);
        next.Stderr.Should().BeEmpty();
        Builds().Should().Be(1);
    }

    // System.CommandLine's "Unrecognized command or argument 'X'." for each argument it was given.
    private static string[] Unknown(ProcessResult run) =>
        [
            .. run
                .Stderr.Split('\n')
                .Where(l => l.StartsWith("kvmtune: Unrecognized command or argument '", StringComparison.Ordinal))
                .Select(l => l["kvmtune: Unrecognized command or argument '".Length..^2]),
        ];

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
        var run = Run("nosuch", "a b", "");
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("building the native binary");
        Unknown(run).Should().Equal(["nosuch", "a b", ""], "the binary gives the launcher the arguments it was given");
        Builds().Should().Be(2, change);
        Settle();
        Run("--version").ExitCode.Should().Be(0);
        Builds().Should().Be(2, "the new build is newer than the change");
    }

    [Fact]
    public void Once_built_the_binary_checks_and_a_stale_one_gives_way_in_the_same_process()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        var (fresh, execs) = Traced("--version");
        fresh.Stdout.Should().Be(Version);
        execs
            .Should()
            .HaveCount(3, "env, the launcher, the binary: nothing else is run to check\n" + string.Join('\n', execs));
        execs[2].Should().Contain("\"KVMTUNE_LAUNCHED=1\"");

        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        var (stale, again) = Traced("--version");
        stale.Stdout.Should().Be(Version);
        Builds().Should().Be(2);
        var pid = again[0].Split(' ')[0];
        var ours = again.Where(l => l.StartsWith(pid + " ", StringComparison.Ordinal)).ToArray();
        ours.Select(Program)
            .Should()
            .Equal(
                ["/usr/bin/env", "/bin/sh", P("/repo/.build/aot/kvmtune"), "/bin/sh", P("/repo/.build/aot/kvmtune")],
                "one process: a caller's signal or wait reaches whichever binary runs"
            );
        ours[3]
            .Should()
            .Contain($"[\"/bin/sh\", \"{P("/repo/kvmtune")}\", \"--version\"]")
            .And.Contain("\"KVMTUNE_STALE=1\"")
            .And.NotContain("KVMTUNE_LAUNCHED");
        ours[4]
            .Should()
            .NotContain("KVMTUNE_STALE")
            .And.NotContain("KVMTUNE_LAUNCHED", "the new binary is not checked again");
    }

    [Fact]
    public void Programs_the_binary_starts_do_not_inherit_the_launchers_variable()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        // vm libvirt --define starts QEMU (for its machine types) and virsh, with .NET's Process: libvirt's test
        // driver defines the domain in memory only.
        _t.File("/vm.yaml", "name: vm1\nvcpus: 2\nmemory: 1GiB\nhugepages: none\n");
        var (run, execs) = Traced(
            ["LIBVIRT_DEFAULT_URI=test:///default"],
            "vm",
            "libvirt",
            P("/vm.yaml"),
            "--accel",
            "tcg",
            "--define"
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        execs.Select(Program).Should().Contain(P("/repo/.build/aot/kvmtune"));
        execs.Single(l => Program(l) == P("/repo/.build/aot/kvmtune")).Should().Contain("\"KVMTUNE_LAUNCHED=1\"");
        var started = execs.Where(l => Program(l) is "/usr/bin/virsh" || Program(l).Contains("qemu-system")).ToList();
        started.Select(Program).Should().Contain("/usr/bin/virsh");
        started.Should().AllSatisfy(l => l.Should().NotContain("KVMTUNE_LAUNCHED"));
    }

    // strace: "PID execve("/path", ["arg0", ...], [env...]) = 0"
    private static string Program(string execve)
    {
        var start = execve.IndexOf("execve(\"", StringComparison.Ordinal) + "execve(\"".Length;
        return execve[start..execve.IndexOf('"', start)];
    }

    [Fact]
    public void A_source_dated_in_the_future_builds_once_a_run_and_never_loops()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.SetLastWriteTimeUtc(P("/repo/src/Kvmtune.Cli/Program.cs"), DateTime.UtcNow.AddDays(1));
        var run = Run("--version");
        run.Stdout.Should().Be(Version);
        Builds().Should().Be(2);
        Run("--version").Stdout.Should().Be(Version);
        Builds().Should().Be(3, "the source is still newer than the binary: built again, once");
    }

    [Fact]
    public void A_binary_outside_a_repositorys_build_folder_runs_no_launcher_whatever_the_links_say()
    {
        // A folder shaped like a repository whose sources changed, with a launcher that leaves a mark, and its
        // .build/aot/kvmtune a link to a binary that lies elsewhere: the kernel's /proc/self/exe names where the
        // binary really is, so nothing is run from that folder, and the check is said to be impossible.
        Directory.CreateDirectory(P("/elsewhere"));
        File.Copy(KvmtuneProcess.Binary, P("/elsewhere/kvmtune-copy"));
        _t.File("/other/kvmtune", "touch \"$(dirname \"$0\")/ran\"\n")
            .File("/other/.build/aot/sources", "missing.cs\n");
        File.CreateSymbolicLink(P("/other/.build/aot/kvmtune"), P("/elsewhere/kvmtune-copy"));
        var viaLink = Processes.Run(P("/other/.build/aot/kvmtune"), ["--version"], Launched("1"));
        viaLink.ExitCode.Should().Be(0, viaLink.Stderr);
        viaLink.Stdout.Should().Be(Version);
        viaLink.Stderr.Should().Contain("cannot tell whether this binary is older than its sources");
        File.Exists(P("/other/ran")).Should().BeFalse();
        // Any other value is not the launcher's: nothing is checked or said.
        var other = Processes.Run(P("/elsewhere/kvmtune-copy"), ["--version"], Launched(P("/other")));
        other.Stdout.Should().Be(Version);
        other.Stderr.Should().BeEmpty();
    }

    private static Dictionary<string, string> Launched(string value) => new() { ["KVMTUNE_LAUNCHED"] = value };

    [Theory]
    [InlineData("sh kvmtune, in the repository")]
    [InlineData("sh ./kvmtune")]
    [InlineData("sh ../repo/kvmtune, from beside it")]
    public void A_relative_launcher_path_checks_and_builds_the_same(string how)
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        var (launcher, cwd) = how switch
        {
            "sh kvmtune, in the repository" => ("kvmtune", P("/repo")),
            "sh ./kvmtune" => ("./kvmtune", P("/repo")),
            _ => ("../repo/kvmtune", P("/fake")),
        };
        RunAs(launcher, cwd, "--version").Stdout.Should().Be(Version);
        Builds().Should().Be(1);
        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        var run = RunAs(launcher, cwd, "nosuch", "a b", "");
        Unknown(run).Should().Equal("nosuch", "a b", "");
        Builds().Should().Be(2, run.Stderr);
    }

    [Fact]
    public void A_binary_built_by_hand_is_checked_by_the_launcher_on_every_run_until_it_builds()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        // `dotnet publish` run by hand since, from an older tree whose binary checks nothing: it is newer than the
        // list. The shell checks it, and neither hands it the check nor writes a list that would.
        var list = File.GetLastWriteTimeUtc(P("/repo/.build/aot/sources"));
        HandBuilt();
        var run = Run("--version");
        run.Stdout.Should().Be("hand-built, KVMTUNE_LAUNCHED unset\n", run.Stderr);
        Builds().Should().Be(1);
        File.GetLastWriteTimeUtc(P("/repo/.build/aot/sources")).Should().Be(list);
        File.SetLastWriteTimeUtc(P("/repo/src/Kvmtune.Cli/Program.cs"), DateTime.UtcNow.AddMinutes(1));
        Run("--version").Stdout.Should().Be(Version);
        Builds().Should().Be(2);
    }

    /// <summary>A binary that checks nothing and says what it was given, newer than everything.</summary>
    private void HandBuilt()
    {
        var bin = P("/repo/.build/aot/kvmtune");
        File.Delete(bin);
        File.WriteAllText(bin, "#!/bin/sh\necho \"hand-built, KVMTUNE_LAUNCHED ${KVMTUNE_LAUNCHED-unset}\"\n");
        File.SetUnixFileMode(bin, (UnixFileMode)0b111_101_101);
    }

    [Fact]
    public void A_linked_build_folder_is_checked_by_the_launcher()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        // .build kept elsewhere (another disk): the binary's real path is no repository's, so the shell checks.
        Directory.Move(P("/repo/.build"), P("/store"));
        File.CreateSymbolicLink(P("/repo/.build"), P("/store"));
        Settle();
        var run = Run("--version");
        run.Stdout.Should().Be(Version);
        run.Stderr.Should().BeEmpty("the shell checked: the binary was not asked to");
        Builds().Should().Be(1);
        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        Run("--version").Stdout.Should().Be(Version);
        Builds().Should().Be(2);
    }

    [Fact]
    public void A_build_that_fails_after_writing_the_binary_leaves_none_to_run()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        // The stand-in writes the binary, then fails (a later publish step, or a kill half-way).
        var dotnet = P("/fake/dotnet");
        File.AppendAllText(dotnet, "exit 1\n");
        var failed = Run("--version");
        failed.ExitCode.Should().Be(4);
        failed.Stderr.Should().Contain("kvmtune: build failed");
        File.WriteAllText(dotnet, File.ReadAllText(dotnet).Replace("exit 1\n", "", StringComparison.Ordinal));
        var next = Run("--version");
        next.Stdout.Should().Be(Version);
        next.Stderr.Should().Contain("building the native binary", "nothing the failed build left is run");
        Builds().Should().Be(3);
        Directory.GetFiles(P("/repo/.build/aot"), "build-started*").Should().BeEmpty();
    }

    [Fact]
    public void A_build_killed_half_way_is_built_again()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        // What a kill during publish leaves: the binary rewritten (newer than the list) and the build's stamp, whose
        // process is gone. No source is newer than that binary.
        HandBuilt();
        File.WriteAllText(P("/repo/.build/aot/build-started.999999999"), "");
        var run = Run("--version");
        run.Stdout.Should().Be(Version, run.Stderr);
        Builds().Should().Be(2);
        Directory.GetFiles(P("/repo/.build/aot"), "build-started*").Should().BeEmpty();
    }

    [Fact]
    public async Task A_second_build_waits_for_the_first_and_runs_what_it_built()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        // Each stand-in build holds, before it writes anything, until the test says go.
        var dotnet = P("/fake/dotnet");
        File.WriteAllText(
            dotnet,
            File.ReadAllText(dotnet)
                .Replace(
                    "#!/bin/sh\n",
                    "#!/bin/sh\nwhile ! [ -e \"$(dirname \"$0\")/go\" ]; do sleep 0.05; done\n",
                    StringComparison.Ordinal
                )
        );
        var first = Task.Run(() => Run("--version"));
        var second = Task.FromResult<ProcessResult>(null!);
        try
        {
            Until(() => Directory.GetFiles(P("/repo/.build/aot"), "build-started*").Length > 0, "the first build");
            second = Task.Run(() => Run("--version"));
            // The kernel lists a blocked flock(2) request as "->" with the file's "MM:mm:inode", the device numbers
            // in two hex digits (proc(5), /proc/locks; fs/locks.c, lock_get_status).
            var id = Processes.Run("stat", "-c", "%Hd %Ld %i", P("/repo/.build/aot/build.lock")).Stdout.Split(' ');
            var major = int.Parse(id[0], CultureInfo.InvariantCulture);
            var minor = int.Parse(id[1], CultureInfo.InvariantCulture);
            var file = string.Create(CultureInfo.InvariantCulture, $" {major:x2}:{minor:x2}:{id[2].Trim()} ");
            Until(
                () => File.ReadLines("/proc/locks").Any(l => l.Contains("-> FLOCK", StringComparison.Ordinal)
                    && l.Contains(file, StringComparison.Ordinal)),
                "the second run to wait on the build lock"
            );
        }
        finally
        {
            // Never leaves a stand-in build holding, nor a launcher running in a tree about to be removed.
            File.WriteAllText(P("/fake/go"), "");
            await Task.WhenAny(Task.WhenAll(first, second), Task.Delay(60_000, TestContext.Current.CancellationToken));
        }
        var runs = await Task.WhenAll(first, second);
        runs.Should().AllSatisfy(r => r.ExitCode.Should().Be(0, r.Stderr));
        runs.Should().AllSatisfy(r => r.Stdout.Should().Be(Version));
        Builds().Should().Be(2, "the second run finds the binary the first built current\n" + runs[1].Stderr);
        runs[1].Stderr.Should().Contain("waiting for another build");
        runs[1].Stderr.Should().NotContain("building the native binary");
        Directory.GetFiles(P("/repo/.build/aot"), "build-started*").Should().BeEmpty();
        File.Exists(P("/fake/lock-inherited")).Should().BeFalse();
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("folder")]
    public void A_lock_that_is_not_an_ordinary_file_is_refused_without_waiting(string what)
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.AppendAllText(P("/repo/src/Kvmtune.Cli/Program.cs"), "\n");
        var lockFile = P("/repo/.build/aot/build.lock");
        File.Delete(lockFile);
        if (what == "fifo")
            Processes.Run("mkfifo", lockFile).ExitCode.Should().Be(0);
        else
            Directory.CreateDirectory(lockFile);
        // open(2) of a FIFO for writing waits for a reader (fifo(7)).
        var run = Processes.Run(
            "/usr/bin/env",
            [.. Env(), "/bin/sh", P("/repo/kvmtune"), "--version"],
            timeoutMs: 30_000
        );
        run.ExitCode.Should().Be(4, run.Stderr);
        run.Stderr.Should().Contain("cannot open " + lockFile + " as an ordinary file");
        Builds().Should().Be(1, "nothing is built without the lock's file");
    }

    [Fact]
    public void The_binary_run_after_a_build_does_not_hold_the_build_lock()
    {
        Setup();
        // A stand-in binary that says whether it was handed the launcher's lock descriptor.
        _t.File("/fake/binary", "#!/bin/sh\nif [ -e /proc/$$/fd/9 ]; then echo held; else echo free; fi\n");
        File.SetUnixFileMode(P("/fake/binary"), (UnixFileMode)0b111_101_101);
        var run = Processes.Run(
            "/usr/bin/env",
            [.. Env(), "KVMTUNE_REAL=" + P("/fake/binary"), "/bin/sh", P("/repo/kvmtune"), "--version"]
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        Builds().Should().Be(1);
        run.Stdout.Should()
            .Be("free\n", "a long-running command (vm run) would otherwise keep every later build waiting");
        File.Exists(P("/fake/lock-inherited")).Should().BeFalse();
    }

    private static void Until(Func<bool> condition, string what)
    {
        for (var waited = 0; !condition(); waited += 20)
        {
            if (waited > 30_000)
                throw new TimeoutException("waited 30 s for " + what);
            Thread.Sleep(20);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("src/Kvmtune.Cli/Program.cs")]
    public void A_list_that_is_empty_or_cut_short_builds_again(string content)
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.WriteAllText(P("/repo/.build/aot/sources"), content);
        var run = Run("--version");
        run.Stdout.Should().Be(Version);
        Builds().Should().Be(2, "a list without its last newline or without names says nothing\n" + run.Stderr);
    }

    [Fact]
    public void A_fifo_put_in_place_of_the_list_is_not_waited_on_and_builds_again()
    {
        Setup();
        Run("--version").ExitCode.Should().Be(0);
        Settle();
        File.Delete(P("/repo/.build/aot/sources"));
        Processes.Run("mkfifo", P("/repo/.build/aot/sources")).ExitCode.Should().Be(0);
        // The shell's own test (-f) sends a FIFO down its slow path; the binary meets one only if the list is
        // swapped after that test, so it is started here as the launcher would start it. open(2) of a FIFO for
        // reading waits for a writer unless O_NONBLOCK (fifo(7)).
        var run = Processes.Run(
            "/usr/bin/env",
            [.. Env(), "KVMTUNE_LAUNCHED=1", P("/repo/.build/aot/kvmtune"), "--version"],
            timeoutMs: 30_000
        );
        run.Stdout.Should().Be(Version, run.Stderr);
        Builds().Should().Be(2, "a list that is not an ordinary file says nothing\n" + run.Stderr);
        Processes.Run("stat", "-c", "%F", P("/repo/.build/aot/sources")).Stdout.Should().Be("regular file\n");
    }
}
