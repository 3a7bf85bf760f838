using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kvmtune.Bench;

/// <summary>One run of a program: wall time from spawn to reaped, and the child's own rusage from wait4(2).</summary>
public readonly record struct RunResult(double WallMs, double CpuMs, long MinorFaults, int ExitCode);

/// <summary>
/// Starts a program with posix_spawnp(3) and reaps it with wait4(2), so one run gives both its wall time and its own
/// counts (minor faults, CPU time) without a /usr/bin/time process in between. Output goes to /dev/null
/// (or a file, to check it), input comes from /dev/null; the environment is the bench's plus the given overrides.
/// </summary>
public static class Spawn
{
    private const int OWronly = 1,
        OCreat = 0x40,
        OTrunc = 0x200;

    [DllImport("libc", SetLastError = true)]
    private static extern int posix_spawnp(
        out int pid,
        string file,
        IntPtr fileActions,
        IntPtr attr,
        IntPtr[] argv,
        IntPtr[] envp
    );

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_init(IntPtr fa);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_destroy(IntPtr fa);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_addopen(IntPtr fa, int fd, string path, int oflag, int mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int wait4(int pid, out int status, int options, IntPtr rusage);

    public static RunResult Run(
        string file,
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? env = null,
        string? stdout = null,
        string? stderr = null
    )
    {
        var argv = new IntPtr[args.Count + 2];
        argv[0] = Marshal.StringToCoTaskMemUTF8(file);
        for (var i = 0; i < args.Count; i++)
            argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
        var vars = Environment
            .GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            vars[k] = v;
        var envp = vars.Select(kv => Marshal.StringToCoTaskMemUTF8($"{kv.Key}={kv.Value}"))
            .Append(IntPtr.Zero)
            .ToArray();
        var fa = Marshal.AllocHGlobal(512); // posix_spawn_file_actions_t is 80 bytes in glibc
        var usage = Marshal.AllocHGlobal(256); // struct rusage is 144 bytes on x86_64
        try
        {
            posix_spawn_file_actions_init(fa);
            posix_spawn_file_actions_addopen(fa, 0, "/dev/null", 0, 0);
            posix_spawn_file_actions_addopen(fa, 1, stdout ?? "/dev/null", OWronly | OCreat | OTrunc, 0x1a4);
            posix_spawn_file_actions_addopen(fa, 2, stderr ?? "/dev/null", OWronly | OCreat | OTrunc, 0x1a4);
            var start = Stopwatch.GetTimestamp();
            var rc = posix_spawnp(out var pid, file, fa, IntPtr.Zero, argv, envp);
            if (rc != 0)
                throw new InvalidOperationException($"cannot start {file}: error {rc}");
            int status;
            while (wait4(pid, out status, 0, usage) < 0)
                if (Marshal.GetLastPInvokeError() != 4)
                    throw new InvalidOperationException("wait4 failed"); // EINTR
            var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            // struct rusage: ru_utime, ru_stime (timeval: two longs each), then longs; ru_minflt at 64. Its
            // ru_maxrss is the bench's own (the child shared its memory until exec): Counts.PeakRss measures that.
            double Tv(int off) => Marshal.ReadInt64(usage, off) * 1e3 + Marshal.ReadInt64(usage, off + 8) / 1e3;
            var exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            return new RunResult(wall, Tv(0) + Tv(16), Marshal.ReadInt64(usage, 64), exit);
        }
        finally
        {
            posix_spawn_file_actions_destroy(fa);
            Marshal.FreeHGlobal(fa);
            Marshal.FreeHGlobal(usage);
            foreach (var p in argv.Concat(envp))
                if (p != IntPtr.Zero)
                    Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>Runs a helper to completion and returns its stdout; throws with its stderr when it fails.</summary>
    public static string Capture(string scratch, string file, params string[] args)
    {
        var o = Path.Combine(scratch, "capture.out");
        var e = Path.Combine(scratch, "capture.err");
        var r = Run(file, args, null, o, e);
        if (r.ExitCode != 0)
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', args)} exited {r.ExitCode}: {File.ReadAllText(e)}"
            );
        return File.ReadAllText(o);
    }
}
