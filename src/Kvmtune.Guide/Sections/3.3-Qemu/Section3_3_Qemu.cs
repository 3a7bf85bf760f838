using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 3.3, QEMU tuning: what the host must offer for vhost-net, zero-copy, io_uring, packed rings and
/// mem-lock.</summary>
public static partial class Section3_3_Qemu
{
    private const string S = "3.3";
    public static readonly Version PackedRingsQemu = new(4, 2);
    public static readonly Version IoUringQemu = new(5, 0);

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return VhostNet(c);
        yield return ZeroCopy(c);
        yield return IoUring(c);
        yield return QemuVersion(c);
        yield return Memlock(c);
    }

    private static Finding VhostNet(AuditContext c)
    {
        var f = c.Facts;
        const string id = "host.qemu.vhost_net",
            title = "vhost-net available";
        var evidence = new[] { "/dev/vhost-net", "/dev", "/proc/modules" };
        var rationale =
            "vhost-net moves the virtio-net data path into the kernel, avoiding a QEMU round trip per "
            + "packet (guide 3.3.3); "
            + "QEMU still works without it, so virt-host-validate only warns";
        var loaded = f.Kernel.IsLoaded("vhost_net");
        var node = f.Virtualization.VhostNet;
        var where = node.Present switch
        {
            true => "present",
            false => "absent",
            _ => "unknown (/dev not in this tree)",
        };
        var current =
            $"/dev/vhost-net {where}, "
            + $"vhost_net {(loaded switch { true => "loaded", false => "not loaded", _ => "unknown" })}";
        if (node.Present == true)
            return Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Pass,
                current,
                "/dev/vhost-net present",
                rationale,
                evidence
            );
        var built = f.Kernel.Config?.Get("CONFIG_VHOST_NET");
        // A module the kernel was built without cannot be loaded: no modules-load.d entry for it.
        if (built is "n")
            return Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Warn,
                current + ", not built into this kernel",
                "/dev/vhost-net present",
                rationale,
                evidence.Append($"/boot/config-{f.Kernel.Release}"),
                new ManualStep("3.3.3", "boot a kernel built with CONFIG_VHOST_NET")
            );
        if (node.Present is null)
            return Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Unknown,
                current,
                "/dev/vhost-net present",
                rationale,
                evidence
            );
        return Rule.Make(
            id,
            "3.3.3",
            title,
            FindingStatus.Warn,
            current,
            "/dev/vhost-net present",
            rationale,
            evidence,
            new ModuleLoad("3.3.3", "vhost_net")
        );
    }

    private static Finding ZeroCopy(AuditContext c)
    {
        const string id = "host.qemu.zerocopy_tx",
            title = "vhost-net zero-copy transmit";
        var want = c.Profile.Get(ProfileSchema.VhostZerocopyTx);
        var evidence = new[] { "/sys/module/vhost_net/parameters/experimental_zcopytx" };
        var rationale = c.Profile.Reason(ProfileSchema.VhostZerocopyTx);
        var v = c.Facts.Kernel.Param("vhost_net", "experimental_zcopytx");
        if (v is null)
            return Rule.Make(
                id,
                "3.3.3",
                title,
                want ? FindingStatus.Unknown : FindingStatus.Info,
                "vhost_net not loaded",
                want ? "1" : "any",
                rationale,
                evidence
            );
        var on = v is "1" or "Y";
        if (!want)
            return Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Info,
                $"experimental_zcopytx={v}" + (on ? " (on: slower for small packets)" : ""),
                "0 (the kernel default)",
                rationale,
                evidence,
                on
                    ?
                    [
                        new ManualStep(
                            "3.3.3",
                            "remove experimental_zcopytx=1 from /etc/modprobe.d and reload vhost_net"
                        ),
                    ]
                    : []
            );
        return on
            ? Rule.Make(id, "3.3.3", title, FindingStatus.Pass, $"experimental_zcopytx={v}", "1", rationale, evidence)
            : Rule.Make(
                id,
                "3.3.3",
                title,
                FindingStatus.Warn,
                $"experimental_zcopytx={v}",
                "1",
                rationale,
                evidence,
                new ModuleOption("3.3.3", "vhost_net", "experimental_zcopytx", "1")
            );
    }

    /// <summary>Kernel release "6.1.0-18-amd64" as a version, or null.</summary>
    public static Version? KernelVersion(string? release)
    {
        if (release is null)
            return null;
        var parts = release.Split('.', '-', '+');
        return parts.Length >= 2 && int.TryParse(parts[0], out var major) && int.TryParse(parts[1], out var minor)
            ? new Version(major, minor)
            : null;
    }

    private static Finding IoUring(AuditContext c)
    {
        var k = c.Facts.Kernel;
        const string id = "host.qemu.io_uring",
            title = "io_uring available for aio=io_uring";
        var evidence = new[] { "/proc/sys/kernel/osrelease", "/proc/sys/kernel/io_uring_disabled" };
        var rationale =
            "aio=io_uring queues more requests than the device takes without blocking QEMU (guide 3.3.4); needs " +
                "Linux 5.1";
        var version = KernelVersion(k.Release);
        var current =
            $"kernel {k.Release ?? "unknown"}, io_uring_disabled={(k.IoUringDisabled?.ToString() ?? "(absent)")}";
        if (version is null)
            return Rule.Make(
                id,
                "3.3.4",
                title,
                FindingStatus.Unknown,
                current,
                "Linux >= 5.1, io_uring_disabled=0",
                rationale,
                evidence
            );
        if (version < new Version(5, 1))
            return Rule.Make(
                id,
                "3.3.4",
                title,
                FindingStatus.Warn,
                current,
                "Linux >= 5.1",
                rationale,
                evidence,
                new ManualStep("3.3.4", "use aio=native, or boot Linux 5.1 or later")
            );
        if (k.Config?.Get("CONFIG_IO_URING") == "n")
            return Rule.Make(
                id,
                "3.3.4",
                title,
                FindingStatus.Warn,
                current + ", CONFIG_IO_URING not set",
                "io_uring built in",
                rationale,
                evidence
            );
        if (k.IoUringDisabled is int d && d != 0)
            return Rule.Make(
                id,
                "3.3.4",
                title,
                FindingStatus.Warn,
                current,
                "io_uring_disabled=0",
                rationale,
                evidence,
                new SysfsWrite("3.3.4", "/proc/sys/kernel/io_uring_disabled", "0")
            );
        return Rule.Make(
            id,
            "3.3.4",
            title,
            FindingStatus.Pass,
            current,
            "Linux >= 5.1, io_uring_disabled=0",
            rationale,
            evidence
        );
    }

    private static Finding QemuVersion(AuditContext c)
    {
        var u = c.Facts.Userspace;
        const string id = "host.qemu.version",
            title = "QEMU installed and recent enough";
        var evidence = new[] { u.QemuPath ?? "/usr/bin/qemu-system-x86_64", "/var/lib/dpkg/status" };
        var rationale = "Packed virtqueues need QEMU 4.2 and aio=io_uring QEMU 5.0; the guide assumes 6.0";
        if (u.QemuPath is null && !u.ProgramFoldersPresent)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                "no program folders (/usr/bin, /usr/sbin...) in this tree",
                ">= 5.0",
                rationale,
                evidence
            );
        if (u.QemuPath is null)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Warn,
                "qemu-system-x86_64 not found",
                ">= 5.0",
                rationale,
                evidence,
                new ManualStep(
                    S,
                    "install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86; RHEL: dnf install qemu-kvm)"
                )
            );
        if (u.QemuVersion is not Version v)
            return Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"{u.QemuPath}, version unknown (not from a Debian package)",
                ">= 5.0",
                rationale,
                evidence
            );
        var current = $"{u.QemuPath} {v} (package {u.QemuPackageVersion})";
        if (v >= IoUringQemu)
            return Rule.Make(id, S, title, FindingStatus.Pass, current, ">= 5.0", rationale, evidence);
        return Rule.Make(
            id,
            S,
            title,
            v >= PackedRingsQemu ? FindingStatus.Warn : FindingStatus.Fail,
            current,
            ">= 5.0",
            rationale,
            evidence,
            new ManualStep(S, "upgrade QEMU to 5.0 or later")
        );
    }

    private static Finding Memlock(AuditContext c)
    {
        var k = c.Facts.Kernel;
        const string id = "host.qemu.memlock",
            title = "Memory lock limit for -overcommit mem-lock=on";
        var want = c.Profile.Get(ProfileSchema.QemuMemLock);
        var evidence = new[] { "/proc/self/limits" };
        var rationale =
            "mem-lock=on locks all guest memory; QEMU fails to start when RLIMIT_MEMLOCK is below the guest's size";
        var current = k.MemlockLimitKib switch
        {
            null => "unknown",
            long.MaxValue => "unlimited",
            long v => Sizes.HumanKib(v),
        };
        if (!want)
            return Rule.Make(
                id,
                "3.3.1",
                title,
                FindingStatus.Info,
                current,
                "any (mem-lock not used)",
                rationale,
                evidence
            );
        if (k.MemlockLimitKib is null)
            return Rule.Make(id, "3.3.1", title, FindingStatus.Unknown, current, "unlimited", rationale, evidence);
        // mlock is not limited for a process with CAP_IPC_LOCK (mm/mlock.c can_do_mlock), and libvirt raises
        // RLIMIT_MEMLOCK itself for domains with <memoryBacking><locked/>.
        if (c.Facts.Userspace.EffectiveUid == 0)
            return Rule.Make(
                id,
                "3.3.1",
                title,
                FindingStatus.Info,
                current + " (root: CAP_IPC_LOCK)",
                "unlimited, or QEMU run with CAP_IPC_LOCK",
                rationale
                    + "; root holds CAP_IPC_LOCK, which RLIMIT_MEMLOCK does not bind, and libvirt sets the "
                    + "limit per domain with <locked/>",
                evidence.Append("/proc/self/status")
            );
        if (k.MemlockLimitKib == long.MaxValue)
            return Rule.Make(id, "3.3.1", title, FindingStatus.Pass, current, "unlimited", rationale, evidence);
        return Rule.Make(
            id,
            "3.3.1",
            title,
            FindingStatus.Warn,
            current,
            "unlimited",
            rationale,
            evidence,
            new ManualStep(
                "3.3.1",
                "LimitMEMLOCK=infinity for the service that starts QEMU (libvirt: max_core/memlock in qemu.conf is " +
                    "set per domain), or '* hard memlock unlimited' in /etc/security/limits.d/kvmtune.conf"
            )
        );
    }
}
