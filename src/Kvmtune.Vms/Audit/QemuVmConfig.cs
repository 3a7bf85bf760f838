namespace Kvmtune.Vms.Audit;

/// <summary>A memory backend that holds guest RAM (or the implicit RAM of -m with -mem-path).</summary>
public sealed record VmRamBackend(
    string Id,
    string Type,
    long? SizeBytes,
    string? MemPath,
    bool Prealloc,
    bool? Merge,
    string? HostNodes,
    string? Policy,
    bool Hugetlb,
    long? HugetlbSizeBytes,
    string Written
);

/// <summary>
/// A virtio-blk disk as QEMU runs it: cache mode from the -drive or -blockdev graph and the device's write-cache,
/// aio, queues, packed ring, iothread. Defaults are marked, since QEMU's default is what runs.
/// </summary>
public sealed record VmDisk(
    string Id,
    string? File,
    string Cache,
    bool CacheDefault,
    string Aio,
    bool AioDefault,
    int? Queues,
    bool Packed,
    string? Iothread,
    string Written
);

/// <summary>A virtio-net NIC and its backend (tap, user, vhost-user...).</summary>
public sealed record VmNic(
    string Id,
    string Backend,
    string? Ifname,
    bool Vhost,
    int Queues,
    bool Mq,
    int? Vectors,
    bool Packed,
    long? PollUs,
    string? Mac,
    string Written
);

/// <summary>What a QEMU command line asks for, read from <see cref="QemuArgv"/> with QEMU 7.2's defaults.</summary>
public sealed class QemuVmConfig
{
    public required QemuArgv Argv { get; init; }
    public string? Name { get; init; }
    public bool DebugThreads { get; init; }
    public string? Accel { get; init; }
    public string? Machine { get; init; }
    public bool MemMerge { get; init; }
    public bool MemLock { get; init; }
    public bool CpuPm { get; init; }
    public bool OvercommitGiven { get; init; }
    public int Vcpus { get; init; }
    public int Sockets { get; init; }
    public int Cores { get; init; }
    public int Threads { get; init; }
    public long MemoryBytes { get; init; }
    public required IReadOnlyList<VmRamBackend> Ram { get; init; }
    public required IReadOnlyList<VmDisk> Disks { get; init; }

    /// <summary>Disks on other buses (IDE, SCSI, NVMe...): named for the report, not judged by 3.3.4.</summary>
    public required IReadOnlyList<string> OtherDisks { get; init; }
    public required IReadOnlyList<VmNic> Nics { get; init; }
    public required IReadOnlyList<string> OtherNics { get; init; }
    public required IReadOnlyList<string> Passthrough { get; init; }
    public required IReadOnlyList<string> Iothreads { get; init; }

    public static QemuVmConfig From(QemuArgv a)
    {
        var name = a.Last("name")?.Props;
        var machine = a.Last("machine")?.Props ?? a.Last("M")?.Props;
        var accel =
            a.All("accel").FirstOrDefault()?.Props?.Get("accel")
            ?? machine?.Get("accel")?.Split(':')[0]
            ?? (a.HasFlag("enable-kvm") ? "kvm" : null);
        // QEMU keeps the last -overcommit; each sets both flags, off where not named.
        var over = a.Last("overcommit")?.Props;
        var smp = a.Last("smp")?.Props;
        var sockets = Int(smp?.Get("sockets"));
        var dies = Int(smp?.Get("dies")) ?? 1;
        var cores = Int(smp?.Get("cores"));
        var threads = Int(smp?.Get("threads"));
        var vcpus = Int(smp?.Get("cpus")) ?? (sockets ?? 1) * dies * (cores ?? 1) * (threads ?? 1);
        var mem = QemuArgv.Bytes(a.Last("m")?.Props?.Get("size"), bareIsMiB: true) ?? 128L << 20;
        var objects = a.All("object")
            .Where(o => o.Props is not null)
            .Select(o => (Value: o.Value!, Props: o.Props!))
            .ToList();
        var merge = machine?.Bool("mem-merge") ?? true;
        return new QemuVmConfig
        {
            Argv = a,
            Name = name?.Get("guest"),
            DebugThreads = name?.Bool("debug-threads") ?? false,
            Accel = accel,
            Machine = machine?.Get("type"),
            MemMerge = merge,
            OvercommitGiven = over is not null,
            MemLock = over?.Bool("mem-lock") ?? false,
            CpuPm = over?.Bool("cpu-pm") ?? false,
            Vcpus = Math.Max(1, vcpus),
            Sockets = sockets ?? 1,
            Cores = cores ?? 1,
            Threads = threads ?? 1,
            MemoryBytes = mem,
            Ram = RamBackends(a, machine, objects, mem),
            Disks = ReadDisks(a, out var otherDisks),
            OtherDisks = otherDisks,
            Nics = ReadNics(a, out var otherNics),
            OtherNics = otherNics,
            Passthrough = Devices(a)
                .Where(d => d.Props.Get("driver") == "vfio-pci")
                .Select(d => d.Props.Get("host") ?? d.Props.Get("sysfsdev") ?? "?")
                .ToList(),
            Iothreads = objects
                .Where(o => o.Item2.Get("qom-type") == "iothread")
                .Select(o => o.Item2.Get("id") ?? "?")
                .ToList(),
        };
    }

    private static int? Int(string? s) => int.TryParse(s, out var v) && v >= 0 ? v : null;

    private static IEnumerable<(string Value, QemuProps Props)> Devices(QemuArgv a) =>
        a.All("device").Where(o => o.Props is not null).Select(o => (o.Value!, o.Props!));

    /// <summary>Guest RAM: -machine memory-backend=, each -numa node's memdev=, else the implicit -m RAM.</summary>
    private static List<VmRamBackend> RamBackends(
        QemuArgv a,
        QemuProps? machine,
        List<(string Value, QemuProps Props)> objects,
        long mem
    )
    {
        var ids = new List<string>();
        if (machine?.Get("memory-backend") is string mb)
            ids.Add(mb);
        foreach (var n in a.All("numa").Select(o => o.Props).OfType<QemuProps>())
            if (n.Get("type") == "node" && n.Get("memdev") is string md && !ids.Contains(md))
                ids.Add(md);
        var list = new List<VmRamBackend>();
        foreach (var id in ids)
        {
            var o = objects.FirstOrDefault(x => x.Props.Get("id") == id);
            if (o.Props is null)
                continue;
            var p = o.Props;
            list.Add(
                new VmRamBackend(
                    id,
                    p.Get("qom-type") ?? "?",
                    QemuArgv.Bytes(p.Get("size")),
                    p.Get("mem-path"),
                    p.Bool("prealloc") ?? false,
                    p.Bool("merge"),
                    p.Get("host-nodes"),
                    p.Get("policy"),
                    p.Bool("hugetlb") ?? false,
                    QemuArgv.Bytes(p.Get("hugetlbsize")),
                    "-object " + o.Value
                )
            );
        }
        if (list.Count == 0)
        {
            var path = a.Last("mem-path")?.Value;
            list.Add(
                new VmRamBackend(
                    "pc.ram",
                    path is null ? "memory-backend-ram" : "memory-backend-file",
                    mem,
                    path,
                    a.HasFlag("mem-prealloc"),
                    null,
                    null,
                    null,
                    false,
                    null,
                    path is null ? "-m" : "-mem-path " + path
                )
            );
        }
        return list;
    }

    private static List<VmDisk> ReadDisks(QemuArgv a, out List<string> other)
    {
        other = [];
        var drives = a.All("drive")
            .Where(o => o.Props is not null)
            .Select(o => (Value: o.Value!, Props: o.Props!))
            .ToList();
        var nodes = a.All("blockdev")
            .Where(o => o.Props?.Get("node-name") is not null)
            .GroupBy(o => o.Props!.Get("node-name")!)
            .ToDictionary(g => g.Key, g => (Value: g.Last().Value!, Props: g.Last().Props!));
        var disks = new List<VmDisk>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (value, dev) in Devices(a))
        {
            var driver = dev.Get("driver") ?? "";
            var drive = dev.Get("drive");
            if (drive is not null)
                used.Add(drive);
            if (!driver.StartsWith("virtio-blk", StringComparison.Ordinal))
            {
                if (drive is not null)
                    other.Add($"{driver} {drive}");
                continue;
            }
            var id = dev.Get("id") ?? drive ?? "virtio-blk";
            var queues = Int(dev.Get("num-queues"));
            var packed = dev.Bool("packed") ?? false;
            var iothread = dev.Get("iothread");
            var wce = dev.Bool("write-cache");
            var d = drives.FirstOrDefault(x => x.Props.Get("id") == drive);
            if (d.Props is not null)
            {
                var (cache, cacheDefault) = DriveCache(d.Props, wce);
                var aio = d.Props.Get("aio");
                disks.Add(
                    new VmDisk(
                        id,
                        d.Props.Get("file"),
                        cache,
                        cacheDefault,
                        aio ?? "threads",
                        aio is null,
                        queues,
                        packed,
                        iothread,
                        $"-drive {d.Value} -device {value}"
                    )
                );
                continue;
            }
            if (drive is not null && nodes.ContainsKey(drive))
            {
                var chain = new List<QemuProps>();
                for (
                    var n = drive;
                    n is not null && nodes.TryGetValue(n, out var node) && chain.Count < 16;
                    n = node.Props.Get("file")
                )
                    chain.Add(node.Props);
                var leaf = chain[^1];
                var direct = chain.Select(c => c.Bool("cache.direct")).LastOrDefault(b => b is not null) ?? false;
                var noFlush = chain.Select(c => c.Bool("cache.no-flush")).LastOrDefault(b => b is not null) ?? false;
                var explicitCache = chain.Any(c => c.Has("cache.direct") || c.Has("cache.no-flush")) || wce is not null;
                var aio = leaf.Get("aio");
                disks.Add(
                    new VmDisk(
                        id,
                        leaf.Get("filename") ?? leaf.Get("path"),
                        CacheMode(direct, wce ?? true, noFlush),
                        !explicitCache,
                        aio ?? "threads",
                        aio is null,
                        queues,
                        packed,
                        iothread,
                        $"-blockdev ({string.Join(" <- ", chain.Select(c => c.Get("node-name")))}) -device {value}"
                    )
                );
                continue;
            }
            disks.Add(
                new VmDisk(
                    id,
                    null,
                    "unknown",
                    false,
                    "unknown",
                    false,
                    queues,
                    packed,
                    iothread,
                    $"-device {value} (drive '{drive}' not found)"
                )
            );
        }
        var index = 0;
        foreach (var (value, p) in drives)
        {
            if (p.Get("id") is string did && used.Contains(did))
                continue;
            var iface = p.Get("if") ?? "ide";
            if (iface != "virtio")
            {
                if (iface != "none")
                    other.Add($"-drive if={iface} {p.Get("file")}");
                continue;
            }
            var (cache, cacheDefault) = DriveCache(p, null);
            var aio = p.Get("aio");
            disks.Add(
                new VmDisk(
                    p.Get("id") ?? $"virtio{index}",
                    p.Get("file"),
                    cache,
                    cacheDefault,
                    aio ?? "threads",
                    aio is null,
                    null,
                    false,
                    null,
                    "-drive " + value
                )
            );
            index++;
        }
        foreach (var o in new[] { "hda", "hdb", "hdc", "hdd", "cdrom" })
            foreach (var x in a.All(o))
                other.Add($"-{o} {x.Value}");
        other.AddRange(a.Positional.Select(p => "-hda " + p));
        return disks;
    }

    /// <summary>
    /// QEMU's cache= table: writeback is the default; cache.direct/cache.no-flush and write-cache override.
    /// </summary>
    private static (string Mode, bool Default) DriveCache(QemuProps drive, bool? deviceWce)
    {
        var mode = drive.Get("cache");
        var (direct, wce, noFlush) = mode switch
        {
            "none" or "off" => (true, true, false),
            "directsync" => (true, false, false),
            "writethrough" => (false, false, false),
            "unsafe" => (false, true, true),
            _ => (false, true, false),
        };
        direct = drive.Bool("cache.direct") ?? direct;
        noFlush = drive.Bool("cache.no-flush") ?? noFlush;
        wce = deviceWce ?? drive.Bool("cache.writeback") ?? wce;
        var given =
            mode is not null || drive.Has("cache.direct") || drive.Has("cache.no-flush") || deviceWce is not null;

        return (CacheMode(direct, wce, noFlush), !given);
    }

    public static string CacheMode(bool direct, bool writeback, bool noFlush) =>
        (direct, writeback, noFlush) switch
        {
            (true, true, false) => "none",
            (true, false, _) => "directsync",
            (false, false, _) => "writethrough",
            (false, true, true) => "unsafe",
            (true, true, true) => "none,no-flush",
            _ => "writeback",
        };

    private static List<VmNic> ReadNics(QemuArgv a, out List<string> other)
    {
        other = [];
        var netdevs = a.All("netdev")
            .Where(o => o.Props?.Get("id") is not null)
            .GroupBy(o => o.Props!.Get("id")!)
            .ToDictionary(g => g.Key, g => g.Last().Props!);
        var nics = new List<VmNic>();
        foreach (var (value, dev) in Devices(a))
        {
            var driver = dev.Get("driver") ?? "";
            if (!driver.StartsWith("virtio-net", StringComparison.Ordinal))
            {
                if (dev.Has("netdev"))
                    other.Add($"{driver} netdev={dev.Get("netdev")}");
                continue;
            }
            var nd = dev.Get("netdev") is string nid && netdevs.TryGetValue(nid, out var n) ? n : null;
            nics.Add(Nic(dev.Get("id") ?? dev.Get("netdev") ?? "virtio-net", dev, nd, "-device " + value));
        }
        var index = 0;
        foreach (var o in a.All("nic").Where(o => o.Props is not null))
        {
            var model = o.Props!.Get("model") ?? "e1000";
            if (o.Props.Get("type") == "none")
                continue;
            if (!model.StartsWith("virtio", StringComparison.Ordinal))
            {
                other.Add($"-nic {o.Value}");
                continue;
            }
            nics.Add(Nic(o.Props.Get("id") ?? $"nic{index++}", o.Props, o.Props, "-nic " + o.Value));
        }
        foreach (var o in a.All("net").Where(o => o.Props?.Get("type") == "nic"))
        {
            var model = o.Props!.Get("model") ?? "e1000";
            if (!model.StartsWith("virtio", StringComparison.Ordinal))
            {
                other.Add($"-net {o.Value}");
                continue;
            }
            var backend = a.All("net").Select(x => x.Props).FirstOrDefault(p => p?.Get("type") is not (null or "nic"));
            nics.Add(Nic(o.Props.Get("name") ?? $"net{index++}", o.Props, backend, "-net " + o.Value));
        }
        return nics;
    }

    private static VmNic Nic(string id, QemuProps dev, QemuProps? nd, string written)
    {
        var backend = nd?.Get("type") ?? "unknown";
        var vhost =
            nd is not null
            && (
                nd.Bool("vhost") == true
                || nd.Has("vhostfd")
                || nd.Has("vhostfds")
                || nd.Bool("vhostforce") == true
                || backend is "vhost-user" or "vhost-vdpa"
            );
        var queues = nd is null
            ? 1
            : Int(nd.Get("queues")) ?? (nd.Get("fds") is string fds ? fds.Split(':').Length : 1);
        return new VmNic(
            id,
            backend,
            nd?.Get("ifname"),
            vhost,
            Math.Max(1, queues),
            dev.Bool("mq") ?? false,
            Int(dev.Get("vectors")),
            dev.Bool("packed") ?? false,
            nd is null ? null
                : long.TryParse(nd.Get("poll-us"), out var poll) ? poll
                : null,
            dev.Get("mac"),
            written + (nd is null ? "" : $" (netdev {backend})")
        );
    }
}
