using System.Runtime.InteropServices;

namespace Kvmtune.Facts.IO;

/// <summary>
/// execv(3) and the C environment and signal state it passes on, kept apart from <see cref="NativeSys"/> so that the
/// architecture test can name every type that replaces kvmtune's process image, as it names every type that starts
/// a program.
/// </summary>
public static partial class NativeExec
{
    private const int SigPipe = 13,
        SigSetMask = 2;

    /// <summary>Whether the C environment holds <paramref name="name"/>=<paramref name="value"/>. Read with getenv(3)
    /// itself: .NET may keep a copy of a variable it was asked for, where unsetenv(3) cannot reach it.</summary>
    public static bool Holds(string name, string value) =>
        Marshal.PtrToStringUTF8(GetEnv(name)) is { } held && held == value;

    /// <summary>Replaces this process with <paramref name="path"/> (NUL-terminated bytes); argv holds pointers to
    /// pinned NUL-terminated arguments, then 0. Returns errno, only on failure. SIGPIPE, which the runtime ignores,
    /// and the signal mask are set back first: an ignored signal and the mask survive execve(2).</summary>
    public static unsafe int Execv(byte[] path, nint[] argv)
    {
        _ = Signal(SigPipe, 0); // SIG_DFL
        Span<byte> none = stackalloc byte[128]; // sigset_t
        none.Clear();
        fixed (byte* set = none)
            _ = SigProcMask(SigSetMask, set, null);
        _ = ExecvNative(path, argv);
        return Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static partial int ExecvNative(byte[] path, nint[] argv);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnsetEnv(string name);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);

    [LibraryImport("libc", EntryPoint = "sigprocmask")]
    private static unsafe partial int SigProcMask(int how, byte* set, byte* old);
}
