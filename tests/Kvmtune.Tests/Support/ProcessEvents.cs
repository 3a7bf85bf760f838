using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Kvmtune.Tests.Support;

/// <summary>
/// Events about processes the tests did not start as children, awaited rather than polled: a daemon's exit, through
/// a pidfd that becomes readable when the process terminates (pidfd_open(2), Linux 5.3), and a daemon's readiness,
/// through the sd_notify(3) protocol (a datagram "READY=1" on the socket named by NOTIFY_SOCKET), which libvirtd and
/// virtlogd send once they listen.
/// </summary>
public static class ProcessEvents
{
    private const int SysPidfdOpen = 434; // x86_64 and every other architecture since 5.3 (the unified table)
    private const int SysPidfdSendSignal = 424; // Linux 5.1
    private const short PollIn = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern long syscall(long number, int pid, uint flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "syscall")]
    private static extern long syscall_signal(long number, int pidfd, int signal, IntPtr info, uint flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll(ref PollFd fds, ulong count, int timeoutMs);

    [DllImport("libc")]
    private static extern int close(int fd);

    /// <summary>
    /// Waits until the process has terminated (exited, or killed and become a zombie of its own parent); true when
    /// it has, or is already gone.
    /// </summary>
    public static bool WaitForExit(int pid, TimeSpan timeout) => Stop(pid, [(0, timeout)]);

    /// <summary>
    /// Sends each signal in turn through one pidfd (so a pid the kernel gives to another process meanwhile is never
    /// signalled: pidfd_send_signal(2)) and waits up to its time for the exit; signal 0 only waits. True when the
    /// process has terminated or was already gone.
    /// </summary>
    public static bool Stop(int pid, IReadOnlyList<(int Signal, TimeSpan Wait)> steps)
    {
        var fd = (int)syscall(SysPidfdOpen, pid, 0);
        if (fd < 0)
            return Marshal.GetLastPInvokeError() == 3; // ESRCH: no such process
        try
        {
            foreach (var (signal, wait) in steps)
            {
                if (signal != 0 && syscall_signal(SysPidfdSendSignal, fd, signal, IntPtr.Zero, 0) < 0)
                    return Marshal.GetLastPInvokeError() == 3; // ESRCH: it has exited (and is being reaped)
                if (Exited(fd, wait))
                    return true;
            }
            return false;
        }
        finally
        {
            close(fd);
        }
    }

    private static bool Exited(int fd, TimeSpan timeout)
    {
        var p = new PollFd { Fd = fd, Events = PollIn };
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            var left = (int)Math.Max(0, deadline - Environment.TickCount64);
            var n = poll(ref p, 1, left);
            if (n > 0)
                return true;
            if (n == 0)
                return false;
            if (Marshal.GetLastPInvokeError() != 4) // EINTR: poll again for the time left
                throw new InvalidOperationException("poll on a pidfd failed");
        }
    }

    /// <summary>A datagram socket for sd_notify; its path goes into the daemon's NOTIFY_SOCKET.</summary>
    public sealed class NotifySocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

        public NotifySocket(string path)
        {
            Path = path;
            File.Delete(path);
            _socket.Bind(new UnixDomainSocketEndPoint(path));
        }

        public string Path { get; }

        /// <summary>The daemon's "READY=1"; a TimeoutException naming it when none comes in time.</summary>
        public void WaitForReady(string what, TimeSpan timeout, Func<bool>? stillRunning = null)
        {
            var buffer = new byte[4096];
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"{what} sent no READY=1 within {timeout.TotalSeconds} s");
                // Woken by the datagram itself; the 1 s slices only let a daemon that died at start be reported.
                _socket.ReceiveTimeout = (int)Math.Min(1000, Math.Max(1, left.TotalMilliseconds));
                try
                {
                    var n = _socket.Receive(buffer);
                    if (Encoding.UTF8.GetString(buffer, 0, n).Split('\n').Contains("READY=1"))
                        return;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
                {
                    if (stillRunning is not null && !stillRunning())
                        throw new InvalidOperationException($"{what} exited before it was ready");
                }
            }
        }

        public void Dispose()
        {
            _socket.Dispose();
            File.Delete(Path);
        }
    }
}
