using System.Runtime.InteropServices;
using System.Text;
using Kvmtune.Facts;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Cli;

/// <summary>
/// The staleness check the repository's <c>./kvmtune</c> launcher hands over (issue #15). The launcher execs this
/// binary at once with KVMTUNE_LAUNCHED=1; the binary compares every source file and folder listed after its build
/// (<c>.build/aot/sources</c>, one name a line) with its own modification time, as test(1)'s <c>-nt</c> does. One
/// newer, or gone, and the launcher is run again in this process with KVMTUNE_STALE=1: it builds, then execs the new
/// binary. Tested in the shell, the names took 1.3 ms; here 0.4-0.6 ms (BENCHMARKS.md).
/// <para>The repository is the one this very file lies in (/proc/self/exe, which the kernel resolves): no variable
/// can name another launcher, and a binary installed anywhere but a repository's <c>.build/aot/</c> runs
/// nothing.</para>
/// </summary>
internal static class LauncherCheck
{
    private const string Launched = "KVMTUNE_LAUNCHED";
    private const string Built = "/.build/aot/kvmtune";
    private const string Sources = ".build/aot/sources";
    private const string Deleted = " (deleted)";

    private enum Verdict
    {
        Current,
        Stale,
        Replaced,
        Unknown,
    }

    /// <summary>Null when the binary may run: not started by the launcher, or no source is newer. Otherwise the
    /// launcher takes over this process and this never returns, unless it cannot be run: then the exit code.</summary>
    public static int? RunLauncherIfStale()
    {
        if (!NativeExec.Holds(Launched, "1"))
            return null;
        // Programs kvmtune starts (QEMU, virsh, modprobe) must not inherit it. Removed from the C environment, which
        // .NET copies at its first Process.Start or SetEnvironmentVariable, later.
        _ = NativeExec.UnsetEnv(Launched);
        var verdict = Check(out var repo, out var why);
        if (verdict == Verdict.Current)
            return null;
        if (verdict == Verdict.Unknown)
        {
            // Never taken for current: said, and the binary runs as built.
            Console.Error.WriteLine(
                $"kvmtune: cannot tell whether this binary is older than its sources ({why}); running it as built"
            );
            return null;
        }
        if (Arguments() is not { } args)
        {
            Console.Error.WriteLine(
                "kvmtune: this binary is older than its sources, and its arguments cannot be read again "
                    + "(/proc/self/cmdline) to build first; running it as built"
            );
            return null;
        }
        var launcher = repo + "/kvmtune";
        // A binary rebuilt meanwhile (by another run) is not built again: the launcher runs the new one, which
        // checks itself.
        if (verdict == Verdict.Stale)
            _ = NativeExec.SetEnv("KVMTUNE_STALE", "1", 1);
        var errno = Exec(launcher, args);
        Console.Error.WriteLine(
            $"kvmtune: sources changed since this binary was built, and /bin/sh {SafeText.Visible(launcher)} cannot "
                + $"be run: {Marshal.GetPInvokeErrorMessage(errno)}"
        );
        return ExitCodes.Internal;
    }

    private static Verdict Check(out string repo, out string? why)
    {
        repo = "";
        why = null;
        if (
            NativeFile.ReadLinkBytes("/proc/self/exe") is not { } exe
            || NativeSys.Stat("/proc/self/exe") is not { } self
        )
        {
            why = "/proc/self/exe cannot be read";
            return Verdict.Unknown;
        }
        string path;
        try
        {
            path = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(exe);
        }
        catch (DecoderFallbackException)
        {
            why = "its path is not UTF-8";
            return Verdict.Unknown;
        }
        var replaced = path.EndsWith(Deleted, StringComparison.Ordinal);
        if (replaced)
            path = path[..^Deleted.Length];
        if (!path.EndsWith(Built, StringComparison.Ordinal))
        {
            why = $"{SafeText.Visible(path)} is not a repository's .build/aot/kvmtune";
            return Verdict.Unknown;
        }
        repo = path[..^Built.Length];
        if (replaced)
            return Verdict.Replaced;
        using var dir = NativeFile.OpenDirectory(repo.Length == 0 ? "/" : repo);
        if (dir is null)
        {
            why = $"{SafeText.Visible(repo)} cannot be opened";
            return Verdict.Unknown;
        }
        return IsStale(dir, repo, self) ? Verdict.Stale : Verdict.Current;
    }

    private static bool IsStale(NativeFile.DirHandle dir, string repo, StatInfo self)
    {
        // A list that cannot be read, is not an ordinary file (a FIFO would hold the read), is empty or was cut short
        // says nothing: build, and the launcher lists again.
        byte[] list;
        try
        {
            list = InputFile.ReadBytes(repo + "/" + Sources);
        }
        catch (InputException)
        {
            return true;
        }
        if (list.Length == 0 || list[^1] != (byte)'\n')
            return true;
        // Each line is made a NUL-terminated name in place and stated as it is.
        var start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] != (byte)'\n')
                continue;
            list[i] = 0;
            if (
                i > start
                && (
                    NativeSys.StatAt(dir.Fd, list.AsSpan(start, i - start + 1)) is not { } source
                    || source.ModifiedAfter(self)
                )
            )
                return true;
            start = i + 1;
        }
        return false;
    }

    /// <summary>This process's arguments after argv[0], each ended by its NUL, byte for byte as the kernel holds
    /// them (/proc/self/cmdline: an argument that is not UTF-8 is not re-encoded); null when unreadable.</summary>
    private static byte[]? Arguments()
    {
        var scratch = new byte[16384];
        if (NativeFile.ReadAll("/proc/self/cmdline", singleRead: false, ref scratch) is not { } cmdline)
            return null;
        var first = Array.IndexOf(cmdline, (byte)0);
        return first < 0 ? null : cmdline[(first + 1)..];
    }

    /// <summary>execv(3) of /bin/sh with the launcher and the arguments (the launcher's own #! line, without
    /// needing it to be executable); errno, as it returns only on failure.</summary>
    private static int Exec(string launcher, byte[] args)
    {
        byte[] block = [.. "/bin/sh\0"u8, .. Encoding.UTF8.GetBytes(launcher + "\0"), .. args];
        var starts = new List<int> { 0 };
        for (var i = 0; i < block.Length - 1; i++)
        {
            if (block[i] == 0)
                starts.Add(i + 1);
        }
        var pinned = GCHandle.Alloc(block, GCHandleType.Pinned);
        try
        {
            var at = pinned.AddrOfPinnedObject();
            nint[] argv = [.. starts.Select(s => at + s), 0];
            return NativeExec.Execv(block, argv);
        }
        finally
        {
            pinned.Free();
        }
    }
}
