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

    // The runtime's resolver of an interface call site's target (Native AOT's cached interface dispatch): the first
    // call from each site to each type comes here.
    private const string Resolver = "S_P_CoreLib_System_Runtime_CachedInterfaceDispatch__RhpCidResolve_Worker";

    private const string Tracing = "/sys/kernel/tracing";

    /// <summary>
    /// kvmtune with <paramref name="args"/> and how many interface calls its runtime resolved, counted by the kernel:
    /// a uprobe (Documentation/trace/uprobetracer.rst) on the resolver in a private copy of the binary, so that no
    /// other test's run is counted. The resolver's address comes from nm on the symbols beside the binary, its place
    /// in the file from readelf's program headers.
    /// </summary>
    public static (ProcessResult Run, long Resolutions) Resolutions(params string[] args)
    {
        Assert.SkipUnless(Environment.UserName == "root", "needs root to set a uprobe");
        var binary = KvmtuneProcess.Binary;
        var address = ImageSymbols.Read(binary).Single(s => s.Type == "t" && s.Name == Resolver).Address;
        // "LOAD 0x004000 0x0000000000404000 0x0000000000404000 0x567ced 0x567ced R E 0x1000": offset, address, size.
        var offset = Succeeded(Processes.Run("readelf", "-lW", binary))
            .Split('\n')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f is ["LOAD", ..])
            .Select(f => (Offset: Hex(f[1]), Start: Hex(f[2]), Size: Hex(f[4])))
            .Single(s => address >= s.Start && address < s.Start + s.Size);
        var fileOffset = address - offset.Start + offset.Offset;

        if (!File.Exists(Tracing + "/uprobe_events"))
            Succeeded(Processes.Run("mount", "-t", "tracefs", "nodev", Tracing));
        var folder = Path.Combine(Paths.Scratch, $"kvmtune-uprobe-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var copy = Path.Combine(folder, "kvmtune");
        var name = $"resolve_{Guid.NewGuid():N}";
        var enable = $"{Tracing}/events/kvmtune_test/{name}/enable";
        try
        {
            // Copied by cp, not by this process: a descriptor open for writing here could be inherited by a child
            // another test forks meanwhile, and the copy would then not run (ETXTBSY).
            Succeeded(Processes.Run("cp", binary, copy));
            File.AppendAllText(Tracing + "/uprobe_events", $"p:kvmtune_test/{name} {copy}:0x{fileOffset:x}\n");
            try
            {
                File.WriteAllText(enable, "1");
                var run = Processes.Run(copy, args);
                // "  /dev/shm/kvmtune-uprobe-.../kvmtune resolve_...   174": the file, the event, its hits.
                var hits = File.ReadAllLines(Tracing + "/uprobe_profile")
                    .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Single(f => f.Length == 3 && f[1] == name)[2];
                return (run, long.Parse(hits, System.Globalization.CultureInfo.InvariantCulture));
            }
            finally
            {
                try
                {
                    File.WriteAllText(enable, "0");
                }
                finally
                {
                    File.AppendAllText(Tracing + "/uprobe_events", $"-:kvmtune_test/{name}\n");
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Succeeded(ProcessResult run) =>
        run.ExitCode == 0 ? run.Stdout : throw new InvalidOperationException($"exit {run.ExitCode}: {run.Stderr}");

    private static ulong Hex(string text) =>
        ulong.Parse(
            text.StartsWith("0x", StringComparison.Ordinal) ? text[2..] : text,
            System.Globalization.NumberStyles.HexNumber,
            System.Globalization.CultureInfo.InvariantCulture
        );
}
