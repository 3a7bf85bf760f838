using System.Xml.Linq;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Vms;

/// <summary>The same tuned VM as a libvirt domain: pins, NUMA tuning, huge pages, multi-queue virtio, nvdimm, VFIO.</summary>
public static class LibvirtDomain
{
    public static string Build(VmSpec s, PlannedVm p, Host.HostFacts host, string accel = "kvm")
    {
        var iothreadIds = p.IothreadPins.Select((io, i) => (io, Id: i + 1)).ToDictionary(x => x.io.Iothread, x => x.Id);
        var domain = new XElement("domain", new XAttribute("type", accel == "kvm" ? "kvm" : "qemu"),
            new XElement("name", s.Name),
            new XElement("memory", new XAttribute("unit", "KiB"), s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024)),
            s.Pmem.Count > 0 ? new XElement("maxMemory", new XAttribute("slots", Math.Max(2, s.Pmem.Count + 1)), new XAttribute("unit", "KiB"), s.MemoryKib + s.Pmem.Sum(x => x.SizeBytes / 1024)) : null,
            new XElement("currentMemory", new XAttribute("unit", "KiB"), s.MemoryKib),
            MemoryBacking(s),
            new XElement("vcpu", new XAttribute("placement", "static"), s.Vcpus),
            p.IothreadPins.Count > 0 ? new XElement("iothreads", p.IothreadPins.Count) : null,
            new XElement("cputune",
                p.VcpuPins.Select(v => new XElement("vcpupin", new XAttribute("vcpu", v.Vcpu), new XAttribute("cpuset", CpuList.Format(v.Cpus)))),
                new XElement("emulatorpin", new XAttribute("cpuset", CpuList.Format(p.EmulatorCpus))),
                p.IothreadPins.Select(io => new XElement("iothreadpin", new XAttribute("iothread", iothreadIds[io.Iothread]), new XAttribute("cpuset", CpuList.Format(io.Cpus))))),
            new XElement("numatune",
                new XElement("memory", new XAttribute("mode", "strict"), new XAttribute("nodeset", CpuList.Format(p.Nodes))),
                p.GuestNodes.Select(g => new XElement("memnode", new XAttribute("cellid", g.Id), new XAttribute("mode", "strict"), new XAttribute("nodeset", g.HostNode)))),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "q35"), "hvm"),
                s.Boot is { } b ? new XElement("kernel", b.Kernel) : null,
                s.Boot?.Initrd is { } initrd ? new XElement("initrd", initrd) : null,
                s.Boot?.Append is { } append ? new XElement("cmdline", append) : null),
            new XElement("features", new XElement("acpi"), new XElement("apic"),
                s.CpuPm ? new XElement("kvm", new XElement("hint-dedicated", new XAttribute("state", "on"))) : null),
            new XElement("cpu", new XAttribute("mode", accel == "kvm" ? "host-passthrough" : "maximum"), new XAttribute("check", "none"),
                new XElement("topology", new XAttribute("sockets", p.Topology.Sockets), new XAttribute("dies", 1), new XAttribute("cores", p.Topology.Cores), new XAttribute("threads", p.Topology.Threads)),
                new XElement("numa", p.GuestNodes.Select(g => new XElement("cell",
                    new XAttribute("id", g.Id), new XAttribute("cpus", CpuList.Format(g.Vcpus)), new XAttribute("memory", g.MemoryKib), new XAttribute("unit", "KiB"))))),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            new XElement("devices",
                new XElement("emulator", host.Userspace.QemuPath ?? "/usr/bin/qemu-system-x86_64"),
                s.Disks.Select((d, i) => Disk(d, i, iothreadIds)),
                s.Nics.Select(Interface),
                s.Passthrough.Select(Hostdev),
                s.Pmem.Select((m, i) => Nvdimm(m, p)),
                new XElement("memballoon", new XAttribute("model", "none"))));
        var doc = new XDocument(domain);
        return doc.ToString() + "\n";
    }

    private static XElement MemoryBacking(VmSpec s) => new("memoryBacking",
        s.HugepageKib is long page ? new XElement("hugepages", new XElement("page", new XAttribute("size", page), new XAttribute("unit", "KiB"))) : null,
        s.MemMerge ? null : new XElement("nosharepages"),
        s.MemLock ? new XElement("locked") : null);

    private static XElement Disk(DiskSpec d, int i, IReadOnlyDictionary<string, int> iothreads)
    {
        var block = d.Path.StartsWith("/dev/", StringComparison.Ordinal);
        var driver = new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", d.Format), new XAttribute("cache", d.Cache), new XAttribute("io", d.Aio),
            new XAttribute("queues", d.Queues));
        if (d.Packed) driver.Add(new XAttribute("packed", "on"));
        if (d.Iothread) driver.Add(new XAttribute("iothread", iothreads[$"io{i}"]));
        return new XElement("disk", new XAttribute("type", block ? "block" : "file"), new XAttribute("device", "disk"),
            driver,
            new XElement("source", new XAttribute(block ? "dev" : "file", d.Path)),
            new XElement("target", new XAttribute("dev", "vd" + (char)('a' + i)), new XAttribute("bus", "virtio")));
    }

    private static XElement Interface(NicSpec n)
    {
        var driver = new XElement("driver", new XAttribute("name", n.Vhost ? "vhost" : "qemu"), new XAttribute("queues", n.Queues));
        if (n.Packed) driver.Add(new XAttribute("packed", "on"));
        return new XElement("interface", new XAttribute("type", "ethernet"),
            n.Mac is not null ? new XElement("mac", new XAttribute("address", n.Mac)) : null,
            new XElement("target", new XAttribute("dev", n.Ifname), new XAttribute("managed", "no")),
            new XElement("model", new XAttribute("type", "virtio")),
            driver);
    }

    private static XElement Hostdev(PassthroughSpec p)
    {
        var parts = p.Pci.Split(':', '.');
        return new XElement("hostdev", new XAttribute("mode", "subsystem"), new XAttribute("type", "pci"), new XAttribute("managed", "yes"),
            new XElement("driver", new XAttribute("name", "vfio")),
            new XElement("source", new XElement("address",
                new XAttribute("domain", "0x" + parts[0]), new XAttribute("bus", "0x" + parts[1]), new XAttribute("slot", "0x" + parts[2]), new XAttribute("function", "0x" + parts[3]))));
    }

    private static XElement Nvdimm(PmemSpec m, PlannedVm p)
    {
        var guestNode = p.GuestNodes.FirstOrDefault(g => g.HostNode == p.Devices.FirstOrDefault(d => d.Kind == "pmem" && d.Id == m.Path)?.Node)?.Id ?? 0;
        return new XElement("memory", new XAttribute("model", "nvdimm"), new XAttribute("access", "shared"),
            new XElement("source", new XElement("path", m.Path), new XElement("alignsize", new XAttribute("unit", "KiB"), m.AlignBytes / 1024)),
            new XElement("target",
                new XElement("size", new XAttribute("unit", "KiB"), m.SizeBytes / 1024),
                new XElement("node", guestNode),
                new XElement("label", new XElement("size", new XAttribute("unit", "KiB"), 128))));
    }
}
