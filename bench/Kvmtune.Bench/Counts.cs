using System.Globalization;

namespace Kvmtune.Bench;

/// <summary>Counts that do not depend on the machine's speed: minor faults, system calls, files opened.</summary>
public sealed record Counts(long Faults, long Syscalls, int Opens, int OpensOk, double PeakRssMib)
{
    public string Opened => Opens == OpensOk ? $"{Opens}" : $"{Opens} ({OpensOk} ok)";

    /// <summary>
    /// Minor faults from wait4 of one plain run (median of a sample); system calls from <c>strace -f -c</c> (every
    /// thread and child); files opened from <c>strace -f -e trace=open,openat,openat2,creat</c>, each attempt a line,
    /// and how many succeeded. strace runs apart from the timed runs.
    /// </summary>
    public static Counts Of(
        string scratch,
        Sample timed,
        string file,
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? env = null
    )
    {
        var summary = Path.Combine(scratch, "strace-c.txt");
        Spawn.Run("strace", ["-f", "-c", "-o", summary, "--", file, .. args], env);
        var total = File.ReadAllLines(summary).Last(l => l.TrimEnd().EndsWith("total", StringComparison.Ordinal));
        // "100.00    0.000866           3       258        25 total": calls is the fourth column
        var calls = long.Parse(
            total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3],
            CultureInfo.InvariantCulture
        );
        var trace = Path.Combine(scratch, "strace-open.txt");
        Spawn.Run(
            "strace",
            ["-f", "-qq", "-o", trace, "-e", "trace=open,openat,openat2,creat", "--", file, .. args],
            env
        );
        var opens = File.ReadAllLines(trace)
            .Where(l =>
                !l.Contains("resumed>", StringComparison.Ordinal) && !l.Contains("+++", StringComparison.Ordinal)
            )
            .ToList();
        var ok = File.ReadAllLines(trace)
            .Count(l =>
            {
                var eq = l.LastIndexOf(" = ", StringComparison.Ordinal);
                return eq > 0 && char.IsAsciiDigit(l[eq + 3]);
            });
        return new Counts(timed.Faults, calls, opens.Count, ok, PeakRss(scratch, file, args, env));
    }

    /// <summary>
    /// Peak resident set in MiB, from GNU time's %M. Not from wait4: posix_spawn's child shares the bench's memory
    /// until exec, and the kernel carries that high-water mark (the bench's, ~100 MiB) into the child's maxrss.
    /// </summary>
    public static double PeakRss(
        string scratch,
        string file,
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? env = null
    )
    {
        var err = Path.Combine(scratch, "time.txt");
        Spawn.Run("/usr/bin/time", ["-o", err, "-f", "%M", file, .. args], env);
        return long.Parse(File.ReadAllLines(err).Last(), CultureInfo.InvariantCulture) / 1024.0;
    }
}
