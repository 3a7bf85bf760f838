using System.Text.RegularExpressions;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// Apply and rollback killed at every system call that changes the file system (strace's fault injection sends
/// SIGKILL at the N-th call), and the journal's file system full at every size: afterwards a plain rollback leaves
/// the tree exactly as it was before the apply (bytes, modes, owners, the set of folders), with no temporary file.
/// </summary>
public sealed partial class InterruptionTests
{
    // The calls through which kvmtune changes anything: opens (it creates with openat and openat2), writes, renames,
    // unlinks, folders and syncs.
    private static readonly string[] Calls =
    [
        "openat",
        "openat2",
        "write",
        "renameat",
        "rename",
        "unlinkat",
        "mkdirat",
        "fsync",
    ];

    private static readonly string[] ApplyArgs = ["apply", "--profile", "latency", "--persist"];

    [GeneratedRegex(@"^\d+\s+(\w+)\((.*)$")]
    private static partial Regex TraceLine();

    private static string Bin => KvmtuneProcess.Binary;

    /// <summary>
    /// The ordinal of each call (per call name) that can change something: what a kill there could break.
    /// </summary>
    private static List<(string Call, int N)> KillPoints(string[] args)
    {
        using var h = new SyntheticHost();
        using var t = new TestTree();
        var log = t.Physical("/trace");
        var run = Processes.Run(
            "strace",
            ["-f", "-qq", "-o", log, "-e", "trace=" + string.Join(',', Calls), Bin, .. args, "--root", h.Root]
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        if (args[0] == "rollback")
            throw new InvalidOperationException("rollback points are counted after an apply");
        return Points(File.ReadAllLines(log));
    }

    private static List<(string Call, int N)> Points(IEnumerable<string> lines)
    {
        var counts = new Dictionary<string, int>();
        var points = new List<(string, int)>();
        foreach (var line in lines)
        {
            var m = TraceLine().Match(line);
            if (!m.Success)
                continue;
            var call = m.Groups[1].Value;
            var n = counts[call] = counts.GetValueOrDefault(call) + 1;
            var rest = m.Groups[2].Value;
            // Read-only opens of the machine's files cannot leave anything behind; every other call can.
            var readOnlyOpen =
                call is "openat" or "openat2"
                && !rest.Contains("O_WRONLY")
                && !rest.Contains("O_RDWR")
                && !rest.Contains("O_CREAT");
            if (!readOnlyOpen)
                points.Add((call, n));
        }
        return points;
    }

    [Fact]
    public void Apply_killed_at_any_point_then_rolled_back_leaves_the_tree_as_before()
    {
        Processes.OnPath("strace").Should().BeTrue("test.sh installs strace");
        var points = KillPoints(ApplyArgs);
        points.Count.Should().BeGreaterThan(20);
        var failures = new List<string>();
        foreach (var (call, n) in points)
        {
            using var h = new SyntheticHost();
            var before = TreeState.Of(h.Root);
            Processes.Run(
                "strace",
                [
                    "-f",
                    "-qq",
                    "-o",
                    "/dev/null",
                    "-e",
                    $"trace={call}",
                    "-e",
                    $"inject={call}:signal=KILL:when={n}",
                    Bin,
                    .. ApplyArgs,
                    "--root",
                    h.Root,
                ]
            );
            var rollback = KvmtuneProcess.Run("rollback", "--root", h.Root);
            var ok = rollback.ExitCode == 0 || (rollback.ExitCode == 2 && rollback.Stderr.Contains("journal is empty"));
            var diff = before.Diff(TreeState.Of(h.Root));
            var temps = Temporaries(h.Root);
            if (!ok || diff.Count > 0 || temps.Count > 0)
                failures.Add(
                    $"{call} #{n}: rollback {rollback.ExitCode} {rollback.Stderr.Trim()} "
                        + $"{string.Join("; ", diff.Concat(temps))}"
                );
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"apply: {points.Count} kill points, {failures.Count} not restored"
        );
        failures.Should().BeEmpty($"of {points.Count} kill points");
    }

    [Fact]
    public void Rollback_killed_at_any_point_and_run_again_leaves_the_tree_as_before()
    {
        Processes.OnPath("strace").Should().BeTrue("test.sh installs strace");
        List<(string Call, int N)> points;
        using (var probe = new SyntheticHost())
        {
            KvmtuneProcess.Run([.. ApplyArgs, "--root", probe.Root]).ExitCode.Should().Be(0);
            using var t = new TestTree();
            var log = t.Physical("/trace");
            Processes
                .Run(
                    "strace",
                    [
                        "-f",
                        "-qq",
                        "-o",
                        log,
                        "-e",
                        "trace=" + string.Join(',', Calls),
                        Bin,
                        "rollback",
                        "--root",
                        probe.Root,
                    ]
                )
                .ExitCode.Should()
                .Be(0);
            points = Points(File.ReadAllLines(log));
        }
        points.Count.Should().BeGreaterThan(10);
        var failures = new List<string>();
        foreach (var (call, n) in points)
        {
            using var h = new SyntheticHost();
            var before = TreeState.Of(h.Root);
            KvmtuneProcess.Run([.. ApplyArgs, "--root", h.Root]).ExitCode.Should().Be(0);
            Processes.Run(
                "strace",
                [
                    "-f",
                    "-qq",
                    "-o",
                    "/dev/null",
                    "-e",
                    $"trace={call}",
                    "-e",
                    $"inject={call}:signal=KILL:when={n}",
                    Bin,
                    "rollback",
                    "--root",
                    h.Root,
                ]
            );
            var again = KvmtuneProcess.Run("rollback", "--root", h.Root);
            var diff = before.Diff(TreeState.Of(h.Root));
            var temps = Temporaries(h.Root);
            if (again.ExitCode != 0 || diff.Count > 0 || temps.Count > 0)
                failures.Add(
                    $"{call} #{n}: rollback {again.ExitCode} {again.Stderr.Trim()} "
                        + $"{string.Join("; ", diff.Concat(temps))}"
                );
            var history = KvmtuneProcess.Run("history", "--root", h.Root);
            if (!history.Stdout.Contains("rolled-back"))
                failures.Add($"{call} #{n}: the journal does not say rolled-back");
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"rollback: {points.Count} kill points, {failures.Count} not restored"
        );
        failures.Should().BeEmpty($"of {points.Count} kill points");
    }

    [Fact]
    public void A_killed_apply_whose_rollback_is_killed_too_is_restored_by_the_next_rollback()
    {
        Processes.OnPath("strace").Should().BeTrue("test.sh installs strace");
        var failures = new List<string>();
        // In a tree every change and every journal record is a rename: killed at an even one, the apply has made a
        // change it has not recorded.
        foreach (var crashAt in new[] { 2, 4, 6 })
        {
            foreach (var rename in new[] { 2, 3, 5 })
            {
                using var h = new SyntheticHost();
                var before = TreeState.Of(h.Root);
                Processes.Run(
                    "strace",
                    [
                        "-f",
                        "-qq",
                        "-o",
                        "/dev/null",
                        "-e",
                        "trace=renameat,rename",
                        "-e",
                        $"inject=renameat,rename:signal=KILL:when={crashAt}",
                        Bin,
                        .. ApplyArgs,
                        "--root",
                        h.Root,
                    ]
                );
                // The rollback dies after it has recorded "rolling-back" and undone part of the unfinished apply.
                Processes.Run(
                    "strace",
                    [
                        "-f",
                        "-qq",
                        "-o",
                        "/dev/null",
                        "-e",
                        "trace=renameat,rename",
                        "-e",
                        $"inject=renameat,rename:signal=KILL:when={rename}",
                        Bin,
                        "rollback",
                        "--root",
                        h.Root,
                    ]
                );
                var again = KvmtuneProcess.Run("rollback", "--root", h.Root);
                var diff = before.Diff(TreeState.Of(h.Root));
                if (again.ExitCode != 0 || diff.Count > 0)
                    failures.Add(
                        $"apply kill {crashAt}, rollback kill {rename}: {again.Stderr.Trim()} "
                            + string.Join("; ", diff)
                    );
            }
        }
        failures.Should().BeEmpty();
    }

    [Fact]
    public void A_full_journal_file_system_at_any_size_leaves_everything_applied_and_recorded_or_nothing_changed()
    {
        Environment.UserName.Should().Be("root", "mounting a small tmpfs needs root; CI runs as root");
        const int size = 96 << 10;
        var outcomes = new List<string>();
        for (var free = 0; free <= size - 8192; free += 4096)
        {
            using var h = new SyntheticHost();
            using var t = new TestTree();
            var mnt = t.Physical("/mnt");
            Directory.CreateDirectory(mnt);
            Processes.Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", mnt).ExitCode.Should().Be(0);
            try
            {
                // Fill the file system to leave about `free` bytes.
                using (var filler = File.Create(Path.Combine(mnt, "filler")))
                {
                    var block = new byte[4096];
                    try
                    {
                        for (var written = 0; written < size - free; written += block.Length)
                        {
                            filler.Write(block);
                            filler.Flush();
                        }
                    }
                    catch (IOException)
                    { /* full already */
                    }
                }
                var before = TreeState.Of(h.Root);
                var journal = Path.Combine(mnt, "journal");
                var apply = KvmtuneProcess.Run([.. ApplyArgs, "--root", h.Root, "--journal-dir", journal]);
                apply.Stderr.Should().NotContain("internal error", $"{free} bytes free");
                if (apply.ExitCode == 0)
                {
                    outcomes.Add("applied");
                    before.Diff(TreeState.Of(h.Root)).Should().NotBeEmpty();
                    // Make room for the rollback's own records, as a person would, and undo.
                    File.Delete(Path.Combine(mnt, "filler"));
                    KvmtuneProcess.Run("rollback", "--root", h.Root, "--journal-dir", journal).ExitCode.Should().Be(0);
                }
                else
                {
                    outcomes.Add("refused");
                    apply.ExitCode.Should().Be(2, $"{free} bytes free: {apply.Stderr}");
                }
                before.Diff(TreeState.Of(h.Root)).Should().BeEmpty($"{free} bytes free: {apply.Stderr}");
                Temporaries(mnt).Should().BeEmpty($"{free} bytes free: no temporary file keeps the disk full");
                // With room again, nothing blocks a new apply (no unfinished entry, no leftover file).
                File.Delete(Path.Combine(mnt, "filler"));
                var next = KvmtuneProcess.Run([.. ApplyArgs, "--root", h.Root, "--journal-dir", journal]);
                next.ExitCode.Should().Be(0, $"{free} bytes free, then room again: {next.Stderr}");
            }
            finally
            {
                Processes.Run("umount", mnt);
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"journal space sweep: {string.Join(", ", outcomes)}");
        outcomes.Should().Contain("refused").And.Contain("applied");
    }

    private static List<string> Temporaries(string root) =>
        Directory
            .EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(p).Contains(Kvmtune.Facts.IO.SafeTree.TempMarker, StringComparison.Ordinal))
            .Select(p => "temporary " + p[root.Length..])
            .ToList();
}
