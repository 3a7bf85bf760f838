using System.Text.RegularExpressions;

namespace Kvmtune.Tests.Support;

/// <summary>
/// The shipped binary run under a counter that does not depend on the machine's speed: strace's record of the
/// calls the kernel saw, or GNU time's count of minor page faults.
/// </summary>
public static partial class Measured
{
    /// <summary>kvmtune with <paramref name="args"/> under <c>strace -f -e trace=CALLS</c>; the trace's
    /// lines.</summary>
    public static (ProcessResult Run, string[] Calls) Traced(string calls, params string[] args) =>
        Strace(["-e", "trace=" + calls], args);

    /// <summary>
    /// The files kvmtune with <paramref name="args"/> asked to open (open, openat, openat2), each as a whole path: a
    /// name opened from a folder's descriptor is joined to the folder, as strace -y prints it (the kernel's own
    /// path of that descriptor), so a test reads "which file", however the walk was made.
    /// </summary>
    public static (ProcessResult Run, string[] Paths) Opens(params string[] args)
    {
        var (run, lines) = Strace(["-y", "-e", "trace=open,openat,openat2"], args);
        var paths = new List<string>();
        foreach (var line in lines)
        {
            var m = OpenCall().Match(line);
            if (!m.Success)
                continue;
            var name = m.Groups["name"].Value;
            var folder = m.Groups["folder"].Value;
            paths.Add(name.StartsWith('/') || folder.Length == 0 ? name : $"{folder.TrimEnd('/')}/{name}");
        }
        return (run, [.. paths]);
    }

    /// <summary>kvmtune with <paramref name="args"/> under <c>strace -f</c> with <paramref name="options"/> (what to
    /// trace, faults to inject); the trace's lines.</summary>
    public static (ProcessResult Run, string[] Lines) Strace(string[] options, params string[] args)
    {
        var log = Path.Combine(Paths.Scratch, $"kvmtune-trace-{Guid.NewGuid():N}");
        try
        {
            var run = Processes.Run("strace", ["-f", "-qq", "-o", log, .. options, KvmtuneProcess.Binary, .. args]);
            return (run, File.Exists(log) ? File.ReadAllLines(log) : []);
        }
        finally
        {
            File.Delete(log);
        }
    }

    // strace -f -y: "[PID ]openat2(4</tree>, "sys/...", {...}) = 5</tree/sys/...>"; open(2) has no folder.
    [GeneratedRegex(@"^(?:\d+ +)?open(?:at2?)?\((?:(?:AT_FDCWD|\d+)(?:<(?<folder>[^>]*)>)?, )?""(?<name>[^""]*)""")]
    private static partial Regex OpenCall();

    /// <summary>kvmtune with <paramref name="args"/> under <c>/usr/bin/time -f %R</c>: its minor page
    /// faults.</summary>
    public static (ProcessResult Run, int Faults) MinorFaults(params string[] args)
    {
        var run = Processes.Run("/usr/bin/time", ["-f", "minflt=%R", KvmtuneProcess.Binary, .. args]);
        var line = run.Stderr.Split('\n').Last(l => l.StartsWith("minflt=", StringComparison.Ordinal));
        return (run, int.Parse(line["minflt=".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
