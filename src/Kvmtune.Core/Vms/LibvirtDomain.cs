using Kvmtune.Core.Output;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Vms;

/// <summary>The same tuned VM as a libvirt domain: pins, NUMA tuning, huge pages, multi-queue virtio, nvdimm, VFIO.</summary>
public static class LibvirtDomain
{
    public static string Build(VmSpec s, PlannedVm p, Host.HostFacts host, string accel = "kvm")
    {
        var iothreadIds = p.IothreadPins.Select((io, i) => (io, Id: i + 1)).ToDictionary(x => x.io.Iothread, x => x.Id);
        var domain = XmlText.El("domain", new XA("type", accel == "kvm" ? "kvm" : "qemu"),
            XmlText.El("name", s.Name),
            XmlText.El("memory", new XA("unit", "KiB"), s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024)),
            s.Pmem.Count > 0 ? XmlText.El("maxMemory", new XA("slots", Math.Max(2, s.Pmem.Count + 1)), new XA("unit", "KiB"), s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024)) : null,
            XmlText.El("currentMemory", new XA("unit", "KiB"), s.MemoryKib),
            MemoryBacking(s),
            XmlText.El("vcpu", new XA("placement", "static"), s.Vcpus),
            p.IothreadPins.Count > 0 ? XmlText.El("iothreads", p.IothreadPins.Count) : null,
            XmlText.El("cputune",
                p.VcpuPins.Select(v => XmlText.El("vcpupin", new XA("vcpu", v.Vcpu), new XA("cpuset", CpuList.Format(v.Cpus)))),
                XmlText.El("emulatorpin", new XA("cpuset", CpuList.Format(p.EmulatorCpus))),
                p.IothreadPins.Select(io => XmlText.El("iothreadpin", new XA("iothread", iothreadIds[io.Iothread]), new XA("cpuset", CpuList.Format(io.Cpus))))),
            XmlText.El("numatune",
                XmlText.El("memory", new XA("mode", "strict"), new XA("nodeset", CpuList.Format(p.Nodes))),
                p.GuestNodes.Select(g => XmlText.El("memnode", new XA("cellid", g.Id), new XA("mode", "strict"), new XA("nodeset", g.HostNode)))),
            XmlText.El("os",
                XmlText.El("type", new XA("arch", "x86_64"), new XA("machine", "q35"), "hvm"),
                s.Boot is { } b ? XmlText.El("kernel", b.Kernel) : null,
                s.Boot?.Initrd is { } initrd ? XmlText.El("initrd", initrd) : null,
                s.Boot?.Append is { } append ? XmlText.El("cmdline", append) : null),
            XmlText.El("features", XmlText.El("acpi"), XmlText.El("apic"),
                s.CpuPm ? XmlText.El("kvm", XmlText.El("hint-dedicated", new XA("state", "on"))) : null),
            XmlText.El("cpu", new XA("mode", accel == "kvm" ? "host-passthrough" : "maximum"), new XA("check", "none"),
                XmlText.El("topology", new XA("sockets", p.Topology.Sockets), new XA("dies", 1), new XA("cores", p.Topology.Cores), new XA("threads", p.Topology.Threads)),
                XmlText.El("numa", p.GuestNodes.Select(g => XmlText.El("cell",
                    new XA("id", g.Id), new XA("cpus", CpuList.Format(g.Vcpus)), new XA("memory", g.MemoryKib), new XA("unit", "KiB"))))),
            XmlText.El("on_poweroff", "destroy"),
            XmlText.El("on_reboot", "restart"),
            XmlText.El("on_crash", "destroy"),
            XmlText.El("devices",
                XmlText.El("emulator", host.Userspace.QemuPath ?? "/usr/bin/qemu-system-x86_64"),
                s.Disks.Select((d, i) => Disk(d, i, iothreadIds)),
                s.Nics.Select(Interface),
                s.Passthrough.Select(Hostdev),
                s.Pmem.Select((m, i) => Nvdimm(m, p)),
                XmlText.El("memballoon", new XA("model", "none"))));
        return domain + "\n";
    }

    private static XmlText MemoryBacking(VmSpec s) => XmlText.El("memoryBacking",
        s.HugepageKib is long page ? XmlText.El("hugepages", XmlText.El("page", new XA("size", page), new XA("unit", "KiB"))) : null,
        s.MemMerge ? null : XmlText.El("nosharepages"),
        s.MemLock ? XmlText.El("locked") : null);

    private static XmlText Disk(DiskSpec d, int i, IReadOnlyDictionary<string, int> iothreads)
    {
        var block = d.Path.StartsWith("/dev/", StringComparison.Ordinal);
        var driver = XmlText.El("driver", new XA("name", "qemu"), new XA("type", d.Format), new XA("cache", d.Cache), new XA("io", d.Aio),
            new XA("queues", d.Queues));
        if (d.Packed) driver.Add(new XA("packed", "on"));
        if (d.Iothread) driver.Add(new XA("iothread", iothreads[$"io{i}"]));
        return XmlText.El("disk", new XA("type", block ? "block" : "file"), new XA("device", "disk"),
            driver,
            XmlText.El("source", new XA(block ? "dev" : "file", d.Path)),
            XmlText.El("target", new XA("dev", DiskName(i)), new XA("bus", "virtio")));
    }

    /// <summary>vda..vdz, then vdaa, vdab, ... as the kernel names virtio disks (bijective base 26).</summary>
    public static string DiskName(int index)
    {
        var letters = "";
        for (var n = index + 1; n > 0; n = (n - 1) / 26) letters = (char)('a' + (n - 1) % 26) + letters;
        return "vd" + letters;
    }

    private static XmlText Interface(NicSpec n)
    {
        var driver = XmlText.El("driver", new XA("name", n.Vhost ? "vhost" : "qemu"), new XA("queues", n.Queues));
        if (n.Packed) driver.Add(new XA("packed", "on"));
        return XmlText.El("interface", new XA("type", "ethernet"),
            n.Mac is not null ? XmlText.El("mac", new XA("address", n.Mac)) : null,
            XmlText.El("target", new XA("dev", n.Ifname), new XA("managed", "no")),
            XmlText.El("model", new XA("type", "virtio")),
            driver);
    }

    private static XmlText Hostdev(PassthroughSpec p)
    {
        var parts = p.Pci.Split(':', '.');
        return XmlText.El("hostdev", new XA("mode", "subsystem"), new XA("type", "pci"), new XA("managed", "yes"),
            XmlText.El("driver", new XA("name", "vfio")),
            XmlText.El("source", XmlText.El("address",
                new XA("domain", "0x" + parts[0]), new XA("bus", "0x" + parts[1]), new XA("slot", "0x" + parts[2]), new XA("function", "0x" + parts[3]))));
    }

    private static XmlText Nvdimm(PmemSpec m, PlannedVm p)
    {
        var guestNode = p.GuestNodes.FirstOrDefault(g => g.HostNode == p.Devices.FirstOrDefault(d => d.Kind == "pmem" && d.Id == m.Path)?.Node)?.Id ?? 0;
        return XmlText.El("memory", new XA("model", "nvdimm"), new XA("access", "shared"),
            XmlText.El("source", XmlText.El("path", m.Path), XmlText.El("alignsize", new XA("unit", "KiB"), m.AlignBytes / 1024)),
            XmlText.El("target",
                XmlText.El("size", new XA("unit", "KiB"), m.SizeBytes / 1024),
                XmlText.El("node", guestNode),
                XmlText.El("label", XmlText.El("size", new XA("unit", "KiB"), 128))));
    }
}
