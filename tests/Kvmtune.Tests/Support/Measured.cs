namespace Kvmtune.Tests.Support;

/// <summary>
/// The shipped binary run under a counter that does not depend on the machine's speed: strace's record of the
/// calls the kernel saw, or GNU time's count of minor page faults.
/// </summary>
public static class Measured
{
    /// <summary>kvmtune with <paramref name="args"/> under <c>strace -f -e trace=CALLS</c>; the trace's
    /// lines.</summary>
    public static (ProcessResult Run, string[] Calls) Traced(string calls, params string[] args)
    {
        var log = Path.Combine(Paths.Scratch, $"kvmtune-trace-{Guid.NewGuid():N}");
        try
        {
            var run = Processes.Run(
                "strace",
                ["-f", "-qq", "-o", log, "-e", "trace=" + calls, KvmtuneProcess.Binary, .. args]
            );
            return (run, File.Exists(log) ? File.ReadAllLines(log) : []);
        }
        finally
        {
            File.Delete(log);
        }
    }

    /// <summary>kvmtune with <paramref name="args"/> under <c>/usr/bin/time -f %R</c>: its minor page
    /// faults.</summary>
    public static (ProcessResult Run, int Faults) MinorFaults(params string[] args)
    {
        var run = Processes.Run("/usr/bin/time", ["-f", "minflt=%R", KvmtuneProcess.Binary, .. args]);
        var line = run.Stderr.Split('\n').Last(l => l.StartsWith("minflt=", StringComparison.Ordinal));
        return (run, int.Parse(line["minflt=".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
