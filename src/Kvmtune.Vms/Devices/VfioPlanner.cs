using Kvmtune.Changes;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Vms.Devices;

/// <summary>
/// Guide section 5: create SR-IOV virtual functions and hand devices to vfio-pci, as journaled operations that
/// <c>kvmtune rollback</c> undoes. Everything the kernel would refuse with an errno is checked first and refused
/// with what to do instead, so a refusal changes nothing.
/// </summary>
public static class VfioPlanner
{
    /// <summary>What vfio list shows: SR-IOV physical functions, their VFs and QuickAssist functions.</summary>
    public static bool IsListed(PciDevice p) =>
        p.SriovTotalvfs > 0 || Section5_Qat.IsQatPf(p) || Section5_Qat.IsQatVf(p) || p.Physfn is not null;

    /// <summary>The kind vfio list names: "QAT C62x PF", "QAT C62x VF", "VF" or "SR-IOV PF".</summary>
    public static string Kind(PciDevice p) =>
        Section5_Qat.IsQatPf(p) ? $"QAT {Section5_Qat.PhysicalFunctions[p.Device!]} PF"
        : Section5_Qat.IsQatVf(p) ? $"QAT {Section5_Qat.VirtualFunctions[p.Device!]}"
        : p.Physfn is not null ? "VF"
        : "SR-IOV PF";

    /// <summary>The operations, and what the person must know before they run.</summary>
    public sealed record VfioPlan(IReadOnlyList<Operation> Operations, IReadOnlyList<string> Notes);

    public static VfioPlan CreateVfs(HostFacts f, HostReader r, string pf, int count)
    {
        var dev = Find(f, pf, "PF");
        if (dev.Physfn is not null)
            throw new InputException(null, null, pf, $"is a VF (of {dev.Physfn}), not a PF");
        if (dev.SriovTotalvfs is not int total || total == 0)
            throw new InputException(
                null,
                null,
                pf,
                "has no SR-IOV capability (no sriov_totalvfs): it cannot have VFs"
            );
        if (count < 0 || count > total)
            throw new InputException(null, null, "--count", $"{count} is outside 0..{total} (sriov_totalvfs of {pf})");
        // sriov_numvfs_store() in drivers/pci/iov.c: -ENOENT "no driver bound to device; cannot configure SR-IOV".
        if (dev.Driver is null)
            throw new RefusedException(
                $"{pf} has no driver bound, and the kernel refuses SR-IOV without one "
                    + "(ENOENT: no driver bound to device; cannot configure SR-IOV): load and bind its PF driver "
                    + $"first{(Section5_Qat.IsQatPf(dev) ? " (modprobe qat_c62x, qat_c3xxx or qat_dh895xcc)" : "")}"
            );
        var current = dev.SriovNumvfs ?? 0;
        if (count == current)
            return new VfioPlan([], [$"{pf} has {count} VFs already"]);
        var qat = Section5_Qat.IsQatPf(dev);
        // adf_sriov_configure(): "the @numvfs parameter is ignored and all VFs supported by the device are enabled".
        if (qat && count != 0 && count != total)
            throw new InputException(
                null,
                null,
                "--count",
                $"the QAT PF driver enables all {total} VFs whatever "
                    + $"count is written (adf_sriov_configure ignores it): use --count {total}, or 0 to remove them"
            );
        if (qat && PciKernel.DriverModule(r, dev.Driver) is ({ } module, > 0))
            throw new RefusedException(
                $"{pf}: the host is using this QAT device ({module} refcnt > 0), and its "
                    + "driver answers EBUSY (adf_sriov.c: device in use): stop the host's QAT users (qatlib services, "
                    + "kernel crypto users) first"
            );
        var vfs = PciKernel.Vfs(r, pf);
        var holders = PciKernel.Holders(r, vfs);
        if (current > 0 && holders.Count > 0)
            throw new RefusedException(
                $"{pf}: changing its VFs writes 0 first, which blocks until every VF is "
                    + $"released, and these are open: {PciKernel.Describe(holders)}; stop those VMs first"
            );
        var notes = new List<string>();
        if (current > 0)
            notes.Add($"{pf}: SR-IOV changes only through 0: its {current} VFs are removed first");
        if (qat && count > 0)
            notes.Add(
                $"{pf}: with SR-IOV on, the QAT PF driver sets the host's crypto and compression instances "
                    + "to 0 (adf_add_sriov_configuration in adf_sriov.c): the host can no longer use this device itself"
            );
        // With autoprobe on, the VF driver (c6xxvf, iavf...) binds each new VF before vfio-pci can: the operation
        // turns it off while the VFs appear (pci_device_can_probe in drivers/pci/pci-driver.c reads it).
        var probe = r.ReadText($"/sys/bus/pci/devices/{pf}/sriov_drivers_autoprobe") switch
        {
            "0" => "0",
            "1" => "1",
            _ => null,
        };
        if (probe == "1" && count > 0)
            notes.Add(
                $"{pf}: the new VFs come up with no driver (sriov_drivers_autoprobe is 0 while they appear): "
                    + "give each to vfio-pci with 'kvmtune vfio bind VF'"
            );
        return new VfioPlan(
            [
                new SriovOperation
                {
                    Section = "5",
                    FindingId = "vfio.create-vfs",
                    Pf = pf,
                    OriginalVfs = current,
                    NewVfs = count,
                    OriginalAutoprobe = probe,
                },
            ],
            notes
        );
    }

    public static VfioPlan Bind(HostFacts f, HostReader r, string bdf)
    {
        var dev = Find(f, bdf, "device");
        if (f.Virtualization.Iommu.Groups is not > 0 || dev.IommuGroup is not int group)
            throw new RefusedException(
                $"{bdf}: the IOMMU is off (no IOMMU groups): enable VT-d in the BIOS and "
                    + "boot with intel_iommu=on (guide 2.1)"
            );
        var denied = PciKernel.OnDenylist(dev.Vendor, dev.Device) && !PciKernel.DenylistDisabled(r);
        var modprobe = denied ? "modprobe vfio-pci disable_denylist=1" : "modprobe vfio-pci";
        // Writing driver_override loads no driver (Documentation/ABI/testing/sysfs-bus-pci): bind needs it loaded.
        if (!PciKernel.DriverLoaded(r, "vfio-pci"))
            throw new RefusedException(
                $"{bdf}: vfio-pci is not loaded (no /sys/bus/pci/drivers/vfio-pci), and "
                    + $"binding does not load it: run '{modprobe}' first"
            );
        if (denied)
            throw new RefusedException(
                $"{bdf}: vfio-pci refuses {dev.Vendor![2..]}:{dev.Device![2..]} "
                    + $"({PciKernel.Denylist[dev.Device]}): it is on vfio-pci's device denylist (drivers/vfio/pci/"
                    + "vfio_pci.c), so the bind would fail and leave the device without a driver. Reload vfio-pci with "
                    + "the denylist off: 'modprobe -r vfio-pci && modprobe vfio-pci disable_denylist=1' (the kernel "
                    + "warns of known errata for these devices)"
            );
        // The PF driver's remove disables SR-IOV (QAT: adf_disable_sriov; ice: ice_free_vfs): the VFs would vanish.
        var vfs = PciKernel.Vfs(r, bdf);
        if (vfs.Count > 0 || dev.SriovNumvfs > 0)
            throw new RefusedException(
                $"{bdf} has {Math.Max(vfs.Count, dev.SriovNumvfs ?? 0)} VFs, and unbinding "
                    + $"its driver removes them: remove them first (kvmtune vfio create-vfs {bdf} --count 0) or pass " +
                        "a VF"
            );
        var blockers = f
            .Pci.Where(p =>
                p.IommuGroup == group
                && p.Address != bdf
                && p.Driver is not null
                && !PciKernel.ManagesDmaForVfio(p.Driver)
            )
            .ToList();
        if (blockers.Count > 0)
            throw new RefusedException(
                $"{bdf}: IOMMU group {group} also holds "
                    + $"{string.Join(", ", blockers.Select(b => $"{b.Address} (driver {b.Driver})"))}; bind those to "
                    + "vfio-pci or unbind them first (vfio opens a group only when every driver in it is a vfio " +
                        "driver, "
                    + "pci-stub or pcieport)"
            );
        if (dev.Driver == "vfio-pci")
            return new VfioPlan([], [$"{bdf} is on vfio-pci already"]);
        // An unbind from a vfio driver waits until the device's user lets go (vfio_unregister_group_dev).
        if (PciKernel.Holders(r, [bdf]) is { Count: > 0 } open)
            throw new RefusedException(
                $"{bdf} is in use: {PciKernel.Describe(open)}; moving it would block until that VM stops"
            );
        var overrideText = r.ReadText($"/sys/bus/pci/devices/{bdf}/driver_override");
        var notes = new List<string>();
        if (PciKernel.IsVfioDriver(dev.Driver))
            notes.Add($"{bdf} is on {dev.Driver}, a vfio-pci variant driver QEMU can use as it is");
        return new VfioPlan(
            [
                new DriverOperation
                {
                    Section = "5",
                    FindingId = "vfio.bind",
                    Device = bdf,
                    OriginalDriver = dev.Driver,
                    NewDriver = "vfio-pci",
                    OriginalOverride = overrideText is null or "(null)" ? "" : overrideText,
                },
            ],
            notes
        );
    }

    private static PciDevice Find(HostFacts f, string bdf, string what)
    {
        if (!KernelText.IsPciAddress(bdf))
            throw new InputException(null, null, bdf, "is not a PCI address such as 0000:6b:00.0");
        return f.Pci.FirstOrDefault(p => p.Address == bdf)
            ?? throw new InputException(null, null, bdf, $"no such {what} on this host");
    }
}
