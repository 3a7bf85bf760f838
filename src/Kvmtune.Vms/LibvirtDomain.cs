using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms;

/// <summary>
/// Renders a <see cref="ResolvedVm"/> as a libvirt domain (libvirt 9): pins, NUMA tuning, huge pages, multi-queue
/// virtio, nvdimm, VFIO. It decides nothing; what libvirt cannot express is carried as custom argv or said.
/// </summary>
public static class LibvirtDomain
{
    public const string QemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0";

    public static string Build(VmSpec s, PlannedVm p, HostFacts host, string accel = "kvm", QemuInstall? qemu = null) =>
        Render(VmResolver.Resolve(s, p, host, accel, qemu));

    /// <summary>Whether the domain needs QEMU arguments libvirt cannot express (libvirt then taints it
    /// "custom-argv").</summary>
    public static bool NeedsCustomArgv(ResolvedVm vm) => vm.CpuPm;

    public static string Render(ResolvedVm vm)
    {
        var p = vm.Plan;
        var custom = NeedsCustomArgv(vm);
        var iothreadOf = p
            .IothreadPins.Select((io, i) => (io.Iothread, Id: i + 1))
            .ToDictionary(x => x.Iothread, x => x.Id);
        var totalKib = vm.MaxMemoryKib ?? vm.MemoryKib;
        var domain = XmlText.El(
            "domain",
            new XA("type", vm.Accel == "kvm" ? "kvm" : "qemu"),
            custom ? new XA("xmlns:qemu", QemuNamespace) : null,
            vm.LostInLibvirt.Select(l => new XmlComment("lost: " + l)),
            custom
                ? new XmlComment(
                    $"-overcommit {vm.Overcommit} is passed as custom QEMU arguments (libvirt has "
                        + "no element for cpu-pm): libvirt marks the domain tainted \"custom-argv\""
                )
                : null,
            XmlText.El("name", vm.Name),
            XmlText.El("uuid", vm.Uuid.ToString()),
            XmlText.El("memory", new XA("unit", "KiB"), totalKib),
            vm.MaxMemoryKib is long max
                ? XmlText.El("maxMemory", new XA("slots", vm.MemorySlots), new XA("unit", "KiB"), max)
                : null,
            XmlText.El("currentMemory", new XA("unit", "KiB"), vm.MemoryKib),
            vm.LockLimitKib is long limit
                ? XmlText.El("memtune", XmlText.El("hard_limit", new XA("unit", "KiB"), limit))
                : null,
            MemoryBacking(vm),
            XmlText.El("vcpu", new XA("placement", "static"), vm.Vcpus),
            p.IothreadPins.Count > 0 ? XmlText.El("iothreads", p.IothreadPins.Count) : null,
            XmlText.El(
                "cputune",
                p.VcpuPins.Select(v =>
                    XmlText.El("vcpupin", new XA("vcpu", v.Vcpu), new XA("cpuset", CpuList.Format(v.Cpus)))
                ),
                XmlText.El("emulatorpin", new XA("cpuset", CpuList.Format(p.EmulatorCpus))),
                p.IothreadPins.Select(io =>
                    XmlText.El(
                        "iothreadpin",
                        new XA("iothread", iothreadOf[io.Iothread]),
                        new XA("cpuset", CpuList.Format(io.Cpus))
                    )
                )
            ),
            XmlText.El(
                "numatune",
                XmlText.El("memory", new XA("mode", "strict"), new XA("nodeset", CpuList.Format(p.Nodes))),
                vm.Memory.Select(g =>
                    XmlText.El(
                        "memnode",
                        new XA("cellid", g.GuestNode),
                        new XA("mode", "strict"),
                        new XA("nodeset", g.HostNode)
                    )
                )
            ),
            XmlText.El(
                "os",
                XmlText.El("type", new XA("arch", "x86_64"), new XA("machine", vm.Machine), "hvm"),
                vm.Boot is { } b ? XmlText.El("kernel", b.Kernel) : null,
                vm.Boot?.Initrd is { } initrd ? XmlText.El("initrd", initrd) : null,
                vm.Boot?.Append is { } append ? XmlText.El("cmdline", append) : null
            ),
            XmlText.El(
                "features",
                XmlText.El("acpi"),
                XmlText.El("apic"),
                vm.HintDedicated ? XmlText.El("kvm", XmlText.El("hint-dedicated", new XA("state", "on"))) : null
            ),
            XmlText.El(
                "cpu",
                new XA("mode", vm.CpuModel == "host" ? "host-passthrough" : "maximum"),
                new XA("check", "none"),
                XmlText.El(
                    "topology",
                    new XA("sockets", vm.Topology.Sockets),
                    new XA("dies", 1),
                    new XA("cores", vm.Topology.Cores),
                    new XA("threads", vm.Topology.Threads)
                ),
                XmlText.El(
                    "numa",
                    vm.Memory.Select(
                        (g, i) =>
                            XmlText.El(
                                "cell",
                                new XA("id", g.GuestNode),
                                new XA("cpus", CpuList.Format(g.Vcpus)),
                                new XA("memory", g.SizeKib),
                                new XA("unit", "KiB"),
                                vm.Distances is { } dist
                                    ? XmlText.El(
                                        "distances",
                                        vm.Memory.Select(
                                            (h, j) =>
                                                XmlText.El(
                                                    "sibling",
                                                    new XA("id", h.GuestNode),
                                                    new XA("value", dist[i][j])
                                                )
                                        )
                                    )
                                    : null
                            )
                    )
                )
            ),
            XmlText.El("on_poweroff", "destroy"),
            XmlText.El("on_reboot", "restart"),
            XmlText.El("on_crash", "destroy"),
            XmlText.El(
                "devices",
                vm.Emulator is string emulator ? XmlText.El("emulator", emulator) : null,
                // -nodefaults: no USB controller (q35's SATA and PS/2 are part of the chipset; libvirt lists them).
                XmlText.El("controller", new XA("type", "usb"), new XA("model", "none")),
                vm.Disks.Select(Disk),
                vm.Nics.Select(Interface),
                vm.Passthrough.Select(Hostdev),
                vm.Pmem.Select(Nvdimm),
                XmlText.El("memballoon", new XA("model", "none"))
            ),
            custom
                ? XmlText.El(
                    "qemu:commandline",
                    XmlText.El("qemu:arg", new XA("value", "-overcommit")),
                    XmlText.El("qemu:arg", new XA("value", vm.Overcommit!))
                )
                : null
        );
        return domain + "\n";
    }

    private static XmlText MemoryBacking(ResolvedVm vm) =>
        XmlText.El(
            "memoryBacking",
            vm.HugepageKib is long page
                ? XmlText.El("hugepages", XmlText.El("page", new XA("size", page), new XA("unit", "KiB")))
                : null,
            vm.MemMerge ? null : XmlText.El("nosharepages"),
            vm.MemLock ? XmlText.El("locked") : null
        );

    private static XmlText Disk(ResolvedDisk d)
    {
        var driver = XmlText.El(
            "driver",
            new XA("name", "qemu"),
            new XA("type", d.Format),
            new XA("cache", d.Cache),
            new XA("io", d.Aio),
            new XA("queues", d.Queues)
        );
        if (d.Packed)
            driver.Add(new XA("packed", "on"));
        if (d.Iothread is int io)
            driver.Add(new XA("iothread", io));
        return XmlText.El(
            "disk",
            new XA("type", d.Block ? "block" : "file"),
            new XA("device", "disk"),
            driver,
            XmlText.El("source", new XA(d.Block ? "dev" : "file", d.Path)),
            XmlText.El("target", new XA("dev", DiskName(d.Index)), new XA("bus", "virtio")),
            d.Boot ? XmlText.El("boot", new XA("order", 1)) : null
        );
    }

    /// <summary>vda..vdz, then vdaa, vdab, ... as the kernel names virtio disks (bijective base 26).</summary>
    public static string DiskName(int index)
    {
        var letters = "";
        for (var n = index + 1; n > 0; n = (n - 1) / 26)
            letters = (char)('a' + (n - 1) % 26) + letters;
        return "vd" + letters;
    }

    private static XmlText Interface(ResolvedNic n)
    {
        var driver = XmlText.El("driver", new XA("name", n.Vhost ? "vhost" : "qemu"), new XA("queues", n.Queues));
        if (n.Packed)
            driver.Add(new XA("packed", "on"));
        return XmlText.El(
            "interface",
            new XA("type", "ethernet"),
            n.Mac is not null ? XmlText.El("mac", new XA("address", n.Mac)) : null,
            // managed='no': the tap must exist, with multi_queue exactly when queues > 1 (README, nics).
            XmlText.El("target", new XA("dev", n.Ifname), new XA("managed", "no")),
            XmlText.El("model", new XA("type", "virtio")),
            driver
        );
    }

    private static XmlText Hostdev(string pci)
    {
        var parts = pci.Split(':', '.');
        return XmlText.El(
            "hostdev",
            new XA("mode", "subsystem"),
            new XA("type", "pci"),
            new XA("managed", "yes"),
            XmlText.El("driver", new XA("name", "vfio")),
            XmlText.El(
                "source",
                XmlText.El(
                    "address",
                    new XA("domain", "0x" + parts[0]),
                    new XA("bus", "0x" + parts[1]),
                    new XA("slot", "0x" + parts[2]),
                    new XA("function", "0x" + parts[3])
                )
            )
        );
    }

    private static XmlText Nvdimm(ResolvedPmem m) =>
        XmlText.El(
            "memory",
            new XA("model", "nvdimm"),
            new XA("access", "shared"),
            XmlText.El(
                "source",
                XmlText.El("path", m.Path),
                XmlText.El("alignsize", new XA("unit", "KiB"), m.AlignBytes / 1024),
                m.Dax ? XmlText.El("pmem") : null
            ),
            XmlText.El(
                "target",
                XmlText.El("size", new XA("unit", "KiB"), m.SizeBytes / 1024),
                XmlText.El("node", m.GuestNode),
                XmlText.El("label", XmlText.El("size", new XA("unit", "KiB"), 128))
            )
        );
}
