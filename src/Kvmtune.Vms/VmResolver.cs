using System.Security.Cryptography;
using System.Text;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Vms;

/// <summary>Turns a spec and its placement into the one <see cref="ResolvedVm"/> every rendering starts from.</summary>
public static class VmResolver
{
    /// <summary>libvirt's own allowance for QEMU's memory beyond guest RAM when it computes a lock limit.</summary>
    public const long LockMarginKib = 1L << 20;

    /// <summary>UUIDv5 names live in the RFC 4122 URL namespace, as "kvmtune:vm:NAME".</summary>
    public static readonly Guid UuidNamespace = Guid.Parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8");

    public static ResolvedVm Resolve(VmSpec s, PlannedVm p, HostFacts host, string accel, QemuInstall? qemu = null)
    {
        qemu ??= QemuInstall.FromFacts(host);
        var d = new List<Decision>();
        var kvm = accel == "kvm";
        var version = qemu.Version;
        var packedOk = version is null || version >= Section3_3_Qemu.PackedRingsQemu;
        var uringOk = version is null || version >= Section3_3_Qemu.IoUringQemu;

        string machine;
        if (qemu.Q35Machine is string m)
            d.Add(
                new(
                    "machine",
                    machine = m,
                    $"what q35 stands for in the installed QEMU ({qemu.MachineSource}); "
                        + "a versioned type keeps the guest ABI across QEMU upgrades"
                )
            );
        else if (version is not null)
            d.Add(
                new(
                    "machine",
                    machine = $"pc-q35-{version.Major}.{version.Minor}",
                    $"the versioned q35 of QEMU {version} (package version; the binary was not asked)"
                )
            );
        else
            d.Add(
                new(
                    "machine",
                    machine = "q35",
                    "QEMU's version is unknown: the unversioned alias, whose guest ABI changes with QEMU upgrades",
                    Adjusted: true
                )
            );

        var cpuModel = kvm ? "host" : "max";
        if (!kvm)
            d.Add(new("cpu", "max", "the host CPU model needs KVM", Adjusted: true));
        var hint = p.Dedicated && kvm;
        if (p.Dedicated && !kvm)
            d.Add(new("cpu", "no kvm-hint-dedicated", "under TCG QEMU warns and drops the hint", Adjusted: true));
        else if (hint)
            d.Add(
                new(
                    "cpu",
                    "kvm-hint-dedicated=on",
                    "dedicated vCPUs: the guest's cpuidle-haltpoll registers only with the hint (guide 3.3.1)"
                )
            );
        var cpuPm = s.CpuPm && kvm;
        if (s.CpuPm && !kvm)
            d.Add(
                new(
                    "overcommit",
                    "cpu-pm left out",
                    "it hands the host's idle states to the guest, which only KVM can do",
                    Adjusted: true
                )
            );
        long? lockLimit = null;
        if (s.MemLock)
        {
            lockLimit = s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024) + LockMarginKib;
            d.Add(
                new(
                    "memory",
                    $"locked, limit {Sizes.HumanKib(lockLimit.Value)}",
                    "guest RAM + pmem + 1 GiB for "
                        + "QEMU itself: a lock without a limit lets a guest pin all host memory"
                )
            );
        }

        var nodes = host.Numa.Nodes;
        var memory = new List<GuestMemory>();
        foreach (var g in p.GuestNodes)
        {
            string? path = null;
            if (s.HugepageKib is long page)
            {
                var mount = host.Memory.HugetlbfsMounts.FirstOrDefault(x => x.PageSizeKib == page)?.Path;
                if (mount is null)
                {
                    mount = Section3_2_3_HugePages.MountPointFor(page);
                    if (g.Id == 0)
                        d.Add(
                            new(
                                "memory",
                                $"mem-path {mount}",
                                $"no hugetlbfs of {Sizes.HumanKib(page)} pages is "
                                    + "mounted: mount it there first (kvmtune apply, guide 3.2.3)",
                                Adjusted: true
                            )
                        );
                }
                path = mount;
            }
            memory.Add(new GuestMemory(g.Id, g.HostNode, g.Vcpus, g.MemoryKib, path, Prealloc: path is not null));
        }

        IReadOnlyList<IReadOnlyList<int>>? distances = null;
        if (p.Nodes.Count > 1)
        {
            int? Dist(int a, int b)
            {
                var ia = nodes.ToList().FindIndex(n => n.Id == a);
                var ib = nodes.ToList().FindIndex(n => n.Id == b);
                return ia >= 0 && ib >= 0 && nodes[ia].Distances is { } row && ib < row.Count ? row[ib] : null;
            }
            var rows = memory
                .Select(a =>
                    memory.Select(b => a.GuestNode == b.GuestNode ? 10 : Dist(a.HostNode, b.HostNode)).ToList()
                )
                .ToList();
            bool Default(int a, int b, int? x) => x == (a == b ? 10 : 20);
            if (rows.Select((r, a) => r.Select((x, b) => Default(a, b, x)).All(ok => ok)).All(ok => ok))
                d.Add(
                    new(
                        "numa",
                        "no distances",
                        "the host's are the defaults, 10 local and 20 remote, which a guest "
                            + "kernel assumes without an ACPI SLIT (and libvirt leaves out too)"
                    )
                );
            else if (rows.All(r => r.All(x => x is >= 10 and <= 255)))
            {
                distances = rows.Select(r => (IReadOnlyList<int>)r.Select(x => x!.Value).ToList()).ToList();
                d.Add(new("numa", "guest node distances", "the host's distances between the nodes that back them"));
            }
            else
                d.Add(new("numa", "no distances", "the host does not report its node distances", Adjusted: true));
        }

        var disks = new List<ResolvedDisk>();
        var iothread = 0;
        for (var i = 0; i < s.Disks.Count; i++)
        {
            var x = s.Disks[i];
            var block = x.Path.StartsWith("/dev/", StringComparison.Ordinal);
            var aio = x.Aio;
            if (aio == "io_uring" && !uringOk)
            {
                aio = x.Cache is "none" or "directsync" ? "native" : "threads";
                d.Add(new($"disk {i}", $"aio={aio}", $"QEMU {version} has no io_uring (5.0)", Adjusted: true));
            }
            var packed = x.Packed && packedOk;
            if (x.Packed && !packedOk)
                d.Add(
                    new($"disk {i}", "split ring", $"QEMU {version} predates packed virtqueues (4.2)", Adjusted: true)
                );
            int queues;
            if (x.Queues is int q)
                queues = q;
            else
            {
                var hw = block ? host.Block.FirstOrDefault(b => b.Name == x.Path[5..])?.HardwareQueues : null;
                queues = hw is int h && h > 0 ? Math.Min(s.Vcpus, h) : s.Vcpus;
                d.Add(
                    new(
                        $"disk {i}",
                        $"num-queues={queues}",
                        hw is int h2 && h2 < s.Vcpus
                            ? $"one per vCPU, capped by {x.Path}'s {h2} hardware queues"
                            : "one per vCPU, so each vCPU submits on its own queue (QEMU's own default since 5.2)"
                    )
                );
            }
            disks.Add(
                new ResolvedDisk(
                    i,
                    x.Path,
                    block,
                    x.Format,
                    x.Cache,
                    aio,
                    queues,
                    packed,
                    x.Iothread ? ++iothread : null,
                    i == 0
                )
            );
        }

        var nics = new List<ResolvedNic>();
        for (var i = 0; i < s.Nics.Count; i++)
        {
            var n = s.Nics[i];
            var vhost = n.Vhost && kvm;
            if (n.Vhost && !kvm)
                d.Add(
                    new(
                        $"nic {i}",
                        "vhost=off",
                        "vhost-net serves KVM guests; libvirt does not use it under TCG",
                        Adjusted: true
                    )
                );
            if (vhost && !host.Virtualization.VhostNet.Exists)
                d.Add(
                    new(
                        $"nic {i}",
                        "vhost=on",
                        "/dev/vhost-net is missing on this host: load vhost_net before starting (guide 3.3.3)",
                        Adjusted: true
                    )
                );
            long? poll = n.PollUs;
            if (poll is not null && !vhost)
            {
                d.Add(
                    new($"nic {i}", "no poll-us", "busy polling is vhost-net's: left out without vhost", Adjusted: true)
                );
                poll = null;
            }
            var packed = n.Packed && packedOk;
            if (n.Packed && !packedOk)
                d.Add(
                    new($"nic {i}", "split ring", $"QEMU {version} predates packed virtqueues (4.2)", Adjusted: true)
                );
            if (n.Queues > 1)
                d.Add(
                    new(
                        $"nic {i}",
                        $"tap {n.Ifname} multi_queue",
                        $"{n.Queues} queues: the tap must be created "
                            + $"with multi_queue (ip tuntap add dev {n.Ifname} mode tap multi_queue) unless QEMU " +
                                "opens it"
                    )
                );
            var mac = n.Mac;
            if (mac is null)
            {
                mac = MacFor(s.Name, i);
                d.Add(
                    new(
                        $"nic {i}",
                        $"mac {mac}",
                        "derived from the VM's name: libvirt would pick a random one, "
                            + "QEMU its own, and the guest would see a new NIC"
                    )
                );
            }
            nics.Add(new ResolvedNic(i, n.Ifname, n.Queues, mac, vhost, poll, packed));
        }

        var pmem = new List<ResolvedPmem>();
        for (var i = 0; i < s.Pmem.Count; i++)
        {
            var x = s.Pmem[i];
            var dax = x.Path.StartsWith("/dev/dax", StringComparison.Ordinal);
            var hostNode = p.Devices.FirstOrDefault(v => v.Kind == "pmem" && v.Id == x.Path)?.Node;
            var guest = p.GuestNodes.FirstOrDefault(g => g.HostNode == hostNode)?.Id ?? 0;
            if (dax)
                d.Add(
                    new(
                        $"pmem {i}",
                        "pmem=on",
                        "a DAX device is persistent memory: QEMU flushes it as "
                            + "such, and libvirt does not preallocate the whole device at every start"
                    )
                );
            pmem.Add(new ResolvedPmem(i, x.Path, x.SizeBytes, x.AlignBytes, dax, guest));
        }

        // Guide 5: QEMU opens a passthrough device through vfio, so it must be bound to vfio-pci (or a vfio-pci
        // variant driver) before the VM starts; libvirt's managed hostdev rebinds it itself.
        foreach (var pt in s.Passthrough)
        {
            var driver = host.Pci.FirstOrDefault(x => x.Address == pt.Pci)?.Driver;
            if (driver is "vfio-pci" || driver?.EndsWith("_vfio_pci", StringComparison.Ordinal) == true)
                d.Add(new($"passthrough {pt.Pci}", $"bound to {driver}", "QEMU opens it through vfio"));
            else
                d.Add(
                    new(
                        $"passthrough {pt.Pci}",
                        $"bound to {driver ?? "no driver"}, not vfio-pci",
                        $"QEMU cannot open it: run 'kvmtune vfio bind {pt.Pci}' first (libvirt's managed hostdev "
                            + "rebinds it at start)",
                        Adjusted: true
                    )
                );
        }

        long? maxMemory = s.Pmem.Count > 0 ? s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024) : null;
        var slots = s.Pmem.Count > 0 ? Math.Max(2, s.Pmem.Count + 1) : 0;
        if (host.Userspace.QemuPath is null)
            d.Add(
                new(
                    "emulator",
                    "not named",
                    "QEMU was not found on this host: libvirt picks its default",
                    Adjusted: true
                )
            );
        if (p.Topology.Sockets > 1)
            d.Add(new("topology", $"{p.Topology.Sockets} sockets", "mirrors the host packages the vCPUs run on"));
        return new ResolvedVm(
            s.Name,
            UuidFor(s.Name),
            accel,
            machine,
            cpuModel,
            hint,
            s.MemMerge,
            s.MemLock,
            cpuPm,
            lockLimit,
            s.Vcpus,
            p.Topology,
            s.MemoryKib,
            maxMemory,
            slots,
            s.HugepageKib,
            memory,
            distances,
            disks,
            nics,
            pmem,
            s.Passthrough.Select(x => x.Pci).ToList(),
            s.Boot,
            host.Userspace.QemuPath,
            p,
            d
        );
    }

    /// <summary>52:54:00 (QEMU's prefix) and three bytes of SHA-1 of the VM's name and the NIC's index.</summary>
    public static string MacFor(string name, int nic)
    {
        var h = SHA1.HashData(Encoding.UTF8.GetBytes($"kvmtune:vm:{name}:nic{nic}"));
        return $"52:54:00:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}";
    }

    /// <summary>A stable UUID from the VM's name (RFC 4122 version 5): the same VM defined twice is one
    /// domain.</summary>
    public static Guid UuidFor(string name)
    {
        var ns = UuidNamespace.ToByteArray(bigEndian: true);
        var hash = SHA1.HashData([.. ns, .. Encoding.UTF8.GetBytes("kvmtune:vm:" + name)]);
        var b = hash[..16];
        b[6] = (byte)((b[6] & 0x0F) | 0x50);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b, bigEndian: true);
    }
}
