namespace Kvmtune.Tests.Support;

/// <summary>
/// A real libvirt daemon (Debian's libvirtd with its QEMU driver, and virtlogd) for as long as a test class needs it,
/// listening on a private socket so it meets no other libvirt; 2 MiB huge pages are mounted before it starts, as
/// libvirt reads the hugetlbfs mounts once at start-up. Only the processes started here are stopped. A daemon that
/// cannot start fails the tests (test.sh installs libvirt-daemon-system).
/// </summary>
public sealed class LibvirtDaemon : IDisposable
{
    private const string VirtlogdSocket = "/run/libvirt/virtlogd-sock";
    private readonly string _dir = Path.Combine(
        "/tmp",
        $"kvmtune-libvirt-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]
    );
    private readonly int? _libvirtd;
    private readonly int? _virtlogd;

    private readonly string? _kvmMode;

    public LibvirtDaemon()
        : this(null) { }

    /// <summary>
    /// With <paramref name="nodeTree"/>: the daemon runs in a mount namespace of its own (unshare(1)) where that
    /// folder is bind-mounted over /sys/devices/system/node, so libvirt (and libnuma inside it) sees the nodes it
    /// imitates; its state, cache and domain folders are fresh tmpfs there, so it meets no other libvirtd's state.
    /// It needs no virtlogd: it is asked for command lines, it starts no domain.
    /// </summary>
    internal LibvirtDaemon(string? nodeTree)
    {
        Pages = new LiveHugepages();
        // libvirt runs QEMU as libvirt-qemu (group kvm): where /dev/kvm is root's alone, it finds KVM "gone" at every
        // call and probes QEMU again (seconds each). Debian's udev rule makes it root:kvm 0660; restored after.
        if (File.Exists("/dev/kvm"))
        {
            _kvmMode = Processes.Run("stat", ["-c", "%g %a", "/dev/kvm"]).Stdout.Trim();
            Processes.Run("chgrp", ["kvm", "/dev/kvm"]);
            Processes.Run("chmod", ["0660", "/dev/kvm"]);
        }
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory("/var/log/libvirt");
        Uri = $"qemu:///system?socket={_dir}/libvirt-sock";
        try
        {
            // virtlogd's socket is fixed; start one only where none answers.
            if (nodeTree is null && !SocketAnswers(VirtlogdSocket))
            {
                var pid = Path.Combine(_dir, "virtlogd.pid");
                using var notify = new ProcessEvents.NotifySocket(Path.Combine(_dir, "virtlogd.notify"));
                Check(
                    Processes.Run(
                        "virtlogd",
                        ["-d", "-p", pid],
                        new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path }
                    ),
                    "virtlogd"
                );
                notify.WaitForReady("virtlogd", TimeSpan.FromSeconds(30));
                _virtlogd = ReadPid(pid);
            }
            File.WriteAllText(
                Path.Combine(_dir, "libvirtd.conf"),
                $"unix_sock_dir = \"{_dir}\"\nunix_sock_group = \"root\"\nauth_unix_rw = \"none\"\nauth_unix_ro = "
                    + "\"none\"\n"
            );
            var lpid = Path.Combine(_dir, "libvirtd.pid");
            string[] daemon = ["-d", "-f", Path.Combine(_dir, "libvirtd.conf"), "-p", lpid];
            // libvirtd says READY=1 on NOTIFY_SOCKET once its sockets listen (sd_notify(3)): awaited, not polled.
            using var ready = new ProcessEvents.NotifySocket(Path.Combine(_dir, "libvirtd.notify"));
            var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = ready.Path };
            Check(
                nodeTree is null
                    ? Processes.Run("libvirtd", daemon, env)
                    : Processes.Run(
                        "unshare",
                        [
                            "--mount",
                            "--propagation",
                            "private",
                            "bash",
                            "-c",
                            NamespaceScript,
                            "kvmtune-libvirtd",
                            nodeTree,
                            .. daemon,
                        ],
                        env
                    ),
                "libvirtd"
            );
            _libvirtd = ReadPid(lpid);
            var started = _libvirtd.Value;
            ready.WaitForReady(
                "libvirtd (if it exited at start, another libvirtd may be running: see /var/log/libvirt/libvirtd.log)",
                TimeSpan.FromSeconds(30),
                () => Directory.Exists($"/proc/{started}")
            );
            Check(Processes.Run("virsh", ["-c", Uri, "version"]), "libvirtd (virsh version)");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Run by bash inside the new mount namespace: $1 is the node tree, the rest libvirtd's
    /// arguments.</summary>
    private const string NamespaceScript = """
        set -e
        for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt/qemu; do
            mkdir -p "$d"; mount -t tmpfs -o mode=0755 kvmtune "$d"
        done
        mount --bind "$1" /sys/devices/system/node
        shift
        exec libvirtd "$@"
        """;

    public LiveHugepages Pages { get; }

    /// <summary>The connection URI: libvirt's own system driver, through this daemon's private socket.</summary>
    public string Uri { get; }

    public ProcessResult Virsh(params string[] args) => Processes.Run("virsh", ["-c", Uri, .. args]);

    private static void Check(ProcessResult r, string what)
    {
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"{what} did not start (exit {r.ExitCode}): {r.Stderr}");
    }

    /// <summary>The daemon's pid file, written before it forks away from -d and before READY=1.</summary>
    private static int ReadPid(string file) => int.Parse(File.ReadAllText(file).Trim());

    private static bool SocketAnswers(string path)
    {
        if (!File.Exists(path))
            return false;
        using var s = new System.Net.Sockets.Socket(
            System.Net.Sockets.AddressFamily.Unix,
            System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Unspecified
        );
        try
        {
            s.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static void Stop(int? pid)
    {
        if (pid is not int p || !Directory.Exists($"/proc/{p}"))
            return;
        ProcessEvents.Stop(p, [(15, TimeSpan.FromSeconds(15)), (9, TimeSpan.FromSeconds(5))]); // TERM, then KILL
    }

    public void Dispose()
    {
        Stop(_libvirtd);
        Stop(_virtlogd);
        if (_kvmMode?.Split(' ') is [var gid, var mode])
        {
            Processes.Run("chgrp", [gid, "/dev/kvm"]);
            Processes.Run("chmod", [mode, "/dev/kvm"]);
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
        Pages.Dispose();
    }
}
