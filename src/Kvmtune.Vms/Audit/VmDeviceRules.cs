using Kvmtune.Guide.Audit;

namespace Kvmtune.Vms.Audit;

/// <summary>
/// Guide 3.3.3 (virtio-net, vhost-net) and 3.3.4 (virtio-blk) for a running VM, and the options read.
/// </summary>
public static class VmDeviceRules
{
    public static IEnumerable<Finding> Evaluate(VmView v)
    {
        yield return Vhost(v);
        yield return Multiqueue(v);
        yield return Vectors(v);
        yield return Packed(
            v,
            "vm.net.packed",
            "3.3.3",
            "Packed virtqueues on virtio-net",
            v.Vm.Config.Nics.Select(n => (n.Id, n.Packed)).ToList(),
            "<interface>",
            "<driver packed='on'/>"
        );
        yield return Poll(v);
        yield return Cache(v);
        yield return Aio(v);
        yield return Queues(v);
        yield return Packed(
            v,
            "vm.blk.packed",
            "3.3.4",
            "Packed virtqueues on virtio-blk",
            v.Vm.Config.Disks.Select(d => (d.Id, d.Packed)).ToList(),
            "<disk>",
            "<driver packed='on'/>"
        );
        yield return Iothread(v);
        yield return Options(v);
    }

    private static Finding F(
        string id,
        string section,
        string title,
        FindingStatus s,
        string? current,
        string? expected,
        string why,
        IEnumerable<string> evidence,
        IEnumerable<VmFix> fixes
    ) => new(id, section, title, s, current, expected, evidence.Distinct().ToList(), why, fixes.ToList());

    /// <summary>
    /// One finding over a VM's disks or NICs: the worst device's status, each device's line (or
    /// <paramref name="current"/>) and every device's fix.
    /// </summary>
    private static Finding PerDevice(
        VmView v,
        string id,
        string section,
        string title,
        IReadOnlyList<(string Text, FindingStatus Status, VmFix? Fix)> rows,
        string expected,
        string why,
        string? current = null,
        string suffix = ""
    ) =>
        F(
            id,
            section,
            title,
            Worst(rows.Select(r => r.Status)),
            (current ?? string.Join("; ", rows.Select(r => r.Text))) + suffix,
            expected,
            why,
            v.ArgvEvidence,
            rows.Select(r => r.Fix).OfType<VmFix>()
        );

    private static FindingStatus Worst(IEnumerable<FindingStatus> s)
    {
        var list = s.ToList();
        return list.Contains(FindingStatus.Fail) ? FindingStatus.Fail
            : list.Contains(FindingStatus.Warn) ? FindingStatus.Warn
            : list.Contains(FindingStatus.Unknown) ? FindingStatus.Unknown
            : list.Count > 0 && list.All(x => x == FindingStatus.Info) ? FindingStatus.Info
            : FindingStatus.Pass;
    }

    private static Finding? NoNics(VmView v, string id, string title, string expected, string why) =>
        v.Vm.Config.Nics.Count > 0
            ? null
            : F(
                id,
                "3.3.3",
                title,
                FindingStatus.Info,
                v.Vm.Config.OtherNics.Count == 0
                    ? "no virtio-net NIC"
                    : "no virtio-net NIC (others: " + string.Join("; ", v.Vm.Config.OtherNics) + ")",
                expected,
                why,
                v.ArgvEvidence,
                []
            );

    private static Finding? NoDisks(VmView v, string id, string title, string expected, string why) =>
        v.Vm.Config.Disks.Count > 0
            ? null
            : F(
                id,
                "3.3.4",
                title,
                FindingStatus.Info,
                v.Vm.Config.OtherDisks.Count == 0
                    ? "no virtio-blk disk"
                    : "no virtio-blk disk (others: " + string.Join("; ", v.Vm.Config.OtherDisks) + ")",
                expected,
                why,
                v.ArgvEvidence,
                []
            );

    private static Finding Vhost(VmView v)
    {
        const string id = "vm.net.vhost",
            title = "vhost-net on every virtio-net";
        const string why =
            "vhost-net moves the virtio-net data path into the kernel: no QEMU round trip per packet "
            + "(guide 3.3.3); user networking (slirp) cannot use it";
        if (NoNics(v, id, title, "vhost=on", why) is { } none)
            return none;
        var rows = v
            .Vm.Config.Nics.Select(n =>
            {
                var s =
                    n.Vhost ? FindingStatus.Pass
                    : v.Tcg ? FindingStatus.Info
                    : FindingStatus.Warn;
                var fix =
                    n.Vhost ? null
                    : n.Backend == "user"
                        ? v.Fix.Make(
                            "3.3.3",
                            $"{v.Fix.Device(n.Id)}: type='network' or 'bridge' (a tap) with <driver name='vhost'/>",
                            $"-netdev tap,...,vhost=on instead of user networking for {n.Id}"
                        )
                    : v.Fix.Make(
                        "3.3.3",
                        $"{v.Fix.Device(n.Id)}: <driver name='vhost'/>",
                        $"-netdev {n.Backend},...,vhost=on for {n.Id}"
                    );
                return (Text: $"{n.Id}: {n.Backend}, vhost={(n.Vhost ? "on" : "off")}", Status: s, Fix: fix);
            })
            .ToList();
        var current = string.Join("; ", rows.Select(r => r.Text)) + (v.Tcg ? "; accel tcg (vhost-net needs KVM)" : "");
        return PerDevice(
            v,
            id,
            "3.3.3",
            title,
            rows,
            "vhost=on on a tap backend",
            why,
            current: current
        );
    }

    private static Finding Multiqueue(VmView v)
    {
        const string id = "vm.net.mq",
            title = "Multi-queue virtio-net";
        const string why =
            "With several vCPUs, one queue pair per vCPU spreads packet work; queues on the backend "
            + "without mq=on on the device leave the guest one queue (guide 3.3.3)";
        if (NoNics(v, id, title, "queues = vCPUs, mq=on", why) is { } none)
            return none;
        var vcpus = v.Vm.Config.Vcpus;
        var rows = v
            .Vm.Config.Nics.Select(n =>
            {
                var s =
                    n.Queues > 1 && !n.Mq ? FindingStatus.Fail
                    : n.Queues == 1 && vcpus > 1 ? FindingStatus.Warn
                    : FindingStatus.Pass;
                var q = Math.Min(vcpus, 8);
                var fix =
                    s == FindingStatus.Pass
                        ? null
                        : v.Fix.Make(
                            "3.3.3",
                            $"{v.Fix.Device(n.Id)}: <driver name='vhost' queues='{Math.Max(q, n.Queues)}'/> "
                                + "(libvirt sets mq and vectors)",
                            $"-netdev ...,queues={Math.Max(q, n.Queues)} and -device virtio-net-pci,...,mq=on,"
                                + $"vectors={2 * Math.Max(q, n.Queues) + 2} for {n.Id}"
                                + (n.Backend == "tap" ? " (a tap made with multi_queue)" : "")
                        );
                return (Text: $"{n.Id}: queues={n.Queues}, mq={(n.Mq ? "on" : "off")}", Status: s, Fix: fix);
            })
            .ToList();
        return PerDevice(
            v,
            id,
            "3.3.3",
            title,
            rows,
            "queues > 1 with mq=on where the VM has several vCPUs",
            why,
            suffix: $"; {vcpus} vCPU(s)"
        );
    }

    private static Finding Vectors(VmView v)
    {
        const string id = "vm.net.vectors",
            title = "MSI-X vectors for virtio-net queues";
        const string why =
            "Each queue pair needs two MSI-X vectors, plus one for configuration and one for control "
            + "(vectors = 2*queues+2); fewer and queues share interrupts (guide 3.3.3)";
        if (NoNics(v, id, title, "vectors = 2*queues+2", why) is { } none)
            return none;
        var rows = v
            .Vm.Config.Nics.Select(n =>
            {
                var want = 2 * n.Queues + 2;
                // QEMU (5.2 on) gives virtio-net-pci 2*queues+2 vectors when none are named.
                var have = n.Vectors ?? want;
                var s =
                    n.Queues == 1 ? FindingStatus.Info
                    : have >= want ? FindingStatus.Pass
                    : FindingStatus.Warn;
                var fix =
                    s != FindingStatus.Warn
                        ? null
                        : v.Fix.Make(
                            "3.3.3",
                            $"{v.Fix.Device(n.Id)}: leave vectors to libvirt (it sets 2*queues+2)",
                            $"-device virtio-net-pci,...,vectors={want} for {n.Id}"
                        );
                return (
                    Text: $"{n.Id}: vectors={have}{(n.Vectors is null ? " (default)" : "")}, queues={n.Queues}",
                    Status: s,
                    Fix: fix
                );
            })
            .ToList();
        return PerDevice(
            v,
            id,
            "3.3.3",
            title,
            rows,
            "vectors >= 2*queues+2",
            why
        );
    }

    private static Finding Packed(
        VmView v,
        string id,
        string section,
        string title,
        IReadOnlyList<(string Id, bool Packed)> devices,
        string element,
        string xml
    )
    {
        const string why =
            "Packed virtqueues (virtio 1.1) are one ring read and written by both sides: fewer cache "
            + "lines touched per request than split rings (guide 3.3.3, 3.3.4)";
        var none =
            section == "3.3.3" ? NoNics(v, id, title, "packed=on", why) : NoDisks(v, id, title, "packed=on", why);
        if (none is not null)
            return none;
        var current = string.Join("; ", devices.Select(d => $"{d.Id}: packed={(d.Packed ? "on" : "off")}"));
        var fixes = devices
            .Where(d => !d.Packed)
            .Select(d =>
                v.Fix.Make(
                    section,
                    $"{(v.IsLibvirtDevice(d.Id) ? v.Fix.Device(d.Id) : element)}: {xml}",
                    $"-device ...,packed=on for {d.Id}"
                )
            );
        return F(
            id,
            section,
            title,
            devices.All(d => d.Packed) ? FindingStatus.Pass : FindingStatus.Warn,
            current,
            "packed=on",
            why,
            v.ArgvEvidence,
            fixes
        );
    }

    private static Finding Poll(VmView v)
    {
        const string id = "vm.net.poll",
            title = "vhost-net busy polling (poll-us)";
        const string why =
            "poll-us makes vhost-net poll its queues for a while before sleeping: lower latency for a "
            + "CPU's worth of polling; libvirt 9 has no element for it (guide 3.3.3)";
        if (NoNics(v, id, title, "poll-us > 0 for latency-bound VMs", why) is { } none)
            return none;
        var nics = v.Vm.Config.Nics;
        var current = string.Join("; ", nics.Select(n => $"{n.Id}: poll-us={(n.PollUs?.ToString() ?? "0")}"));
        var on = nics.Where(n => n.Vhost).All(n => n.PollUs > 0) && nics.Any(n => n.Vhost);
        return F(
            id,
            "3.3.3",
            title,
            on ? FindingStatus.Pass : FindingStatus.Info,
            current,
            "poll-us > 0 on vhost NICs of latency-bound VMs",
            why,
            v.ArgvEvidence,
            on
                ? []
                :
                [
                    v.Fix.Make(
                        "3.3.3",
                        "none in libvirt 9 (poll-us has no element)",
                        "-netdev tap,...,vhost=on,poll-us=50000"
                    ),
                ]
        );
    }

    private static Finding Cache(VmView v)
    {
        const string id = "vm.blk.cache",
            title = "virtio-blk cache mode";
        const string why =
            "cache=none (O_DIRECT) skips the host page cache and its extra copy; writeback and "
            + "writethrough go through it; unsafe ignores the guest's flushes, so a host crash loses data the guest "
            + "was told is safe (guide 3.3.4)";
        if (NoDisks(v, id, title, "cache=none", why) is { } none)
            return none;
        var rows = v
            .Vm.Config.Disks.Select(d =>
            {
                var s = d.Cache switch
                {
                    "none" or "directsync" => FindingStatus.Pass,
                    "unsafe" => FindingStatus.Fail,
                    "unknown" => FindingStatus.Unknown,
                    _ => FindingStatus.Warn,
                };
                var fix = s is FindingStatus.Pass or FindingStatus.Unknown
                    ? null
                    : v.Fix.Make(
                        "3.3.4",
                        $"{v.Fix.Device(d.Id)}: <driver cache='none'/>",
                        $"cache=none on the -drive of {d.Id} (-blockdev: cache.direct=on, cache.no-flush=off)"
                    );
                return (Text: $"{d.Id}: cache={d.Cache}{(d.CacheDefault ? " (default)" : "")}", Status: s, Fix: fix);
            })
            .ToList();
        return PerDevice(
            v,
            id,
            "3.3.4",
            title,
            rows,
            "cache=none (or directsync)",
            why
        );
    }

    private static Finding Aio(VmView v)
    {
        const string id = "vm.blk.aio",
            title = "virtio-blk I/O mode";
        const string why =
            "aio=io_uring or native submit requests asynchronously; aio=threads hands each to a pool "
            + "thread, better only where the CPU is the bottleneck (guide 3.3.4)";
        if (NoDisks(v, id, title, "aio=io_uring or native", why) is { } none)
            return none;
        var rows = v
            .Vm.Config.Disks.Select(d =>
            {
                var s = d.Aio switch
                {
                    "io_uring" or "native" => FindingStatus.Pass,
                    "unknown" => FindingStatus.Unknown,
                    _ => FindingStatus.Warn,
                };
                var fix = s is FindingStatus.Pass or FindingStatus.Unknown
                    ? null
                    : v.Fix.Make(
                        "3.3.4",
                        $"{v.Fix.Device(d.Id)}: <driver io='io_uring'/>",
                        $"aio=io_uring on the -drive (or the -blockdev file node) of {d.Id}"
                    );
                return (Text: $"{d.Id}: aio={d.Aio}{(d.AioDefault ? " (default)" : "")}", Status: s, Fix: fix);
            })
            .ToList();
        return PerDevice(
            v,
            id,
            "3.3.4",
            title,
            rows,
            "aio=io_uring or native",
            why
        );
    }

    private static Finding Queues(VmView v)
    {
        const string id = "vm.blk.queues",
            title = "virtio-blk queues against vCPUs";
        const string why =
            "Multi-queue virtio-blk lets each vCPU submit on its own queue; one queue serialises a "
            + "multi-vCPU guest's I/O (guide 3.3.4: as many as the hardware queues)";
        if (NoDisks(v, id, title, "num-queues > 1 for a multi-vCPU VM", why) is { } none)
            return none;
        var vcpus = v.Vm.Config.Vcpus;
        var rows = v
            .Vm.Config.Disks.Select(d =>
            {
                // QEMU (5.2 on) gives virtio-blk-pci one queue per vCPU when num-queues is not named.
                var q = d.Queues ?? vcpus;
                var s =
                    q == 1 && vcpus > 1 ? FindingStatus.Warn
                    : q > vcpus ? FindingStatus.Info
                    : FindingStatus.Pass;
                var fix =
                    s != FindingStatus.Warn
                        ? null
                        : v.Fix.Make(
                            "3.3.4",
                            $"{v.Fix.Device(d.Id)}: <driver queues='{vcpus}'/>",
                            $"-device virtio-blk-pci,...,num-queues={vcpus} for {d.Id}"
                        );
                return (
                    Text: $"{d.Id}: num-queues={q}{(d.Queues is null ? " (default: one per vCPU)" : "")}",
                    Status: s,
                    Fix: fix
                );
            })
            .ToList();
        return PerDevice(
            v,
            id,
            "3.3.4",
            title,
            rows,
            "num-queues > 1 where vCPUs > 1",
            why,
            suffix: $"; {vcpus} vCPU(s)"
        );
    }

    private static Finding Iothread(VmView v)
    {
        const string id = "vm.blk.iothread",
            title = "An I/O thread per busy virtio-blk disk";
        const string why =
            "An iothread takes a disk's queues out of QEMU's main loop and its global lock, and can "
            + "be pinned on the disk's node (guide 3.3.4)";
        if (NoDisks(v, id, title, "iothread= on each disk", why) is { } none)
            return none;
        var disks = v.Vm.Config.Disks;
        var current = string.Join("; ", disks.Select(d => $"{d.Id}: iothread={d.Iothread ?? "none"}"));
        var shared = disks
            .Where(d => d.Iothread is not null)
            .GroupBy(d => d.Iothread)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} serves {g.Count()} disks")
            .ToList();
        if (shared.Count > 0)
            current += "; " + string.Join("; ", shared);
        var without = disks.Where(d => d.Iothread is null).ToList();
        var fixes = without.Select(
            (d, i) =>
                v.Fix.Make(
                    "3.3.4",
                    $"<iothreads>N</iothreads> and {v.Fix.Device(d.Id)}: <driver iothread='N'/>",
                    $"-object iothread,id=io{i} and iothread=io{i} on -device virtio-blk-pci of {d.Id}"
                )
        );
        return F(
            id,
            "3.3.4",
            title,
            without.Count == 0 ? FindingStatus.Pass : FindingStatus.Warn,
            current,
            "an iothread on each busy disk",
            why,
            v.ArgvEvidence,
            fixes
        );
    }

    private static Finding Options(VmView v)
    {
        const string id = "vm.qemu.options",
            title = "QEMU options read";
        const string why =
            "Every option was read the way QEMU 7.2 reads it; options it does not know (a newer "
            + "QEMU's) are kept and listed, and values that could not be read make the checks above less certain";
        var a = v.Vm.Config.Argv;
        var current =
            $"{a.Options.Count} options"
            + (
                a.Unknown.Count > 0
                    ? "; not known to kvmtune: "
                        + string.Join(", ", a.Unknown.Select(Kvmtune.Facts.Parsing.SafeText.Visible))
                    : ""
            )
            + (
                a.Problems.Count > 0
                    ? "; unreadable: " + string.Join("; ", a.Problems.Select(Kvmtune.Facts.Parsing.SafeText.Visible))
                    : ""
            );
        var status =
            a.Problems.Count > 0 ? FindingStatus.Warn
            : a.Unknown.Count > 0 ? FindingStatus.Info
            : FindingStatus.Pass;

        return F(id, "3.3", title, status, current, "every option known and readable", why, v.ArgvEvidence, []);
    }
}
