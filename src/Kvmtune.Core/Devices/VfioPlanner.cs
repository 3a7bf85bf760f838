using System.Globalization;
using Kvmtune.Core.Changes;
using Kvmtune.Core.Host;
using Kvmtune.Core.Host.Devices;
using Kvmtune.Core.IO;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Devices;

/// <summary>
/// Guide section 5: create SR-IOV virtual functions and hand devices to vfio-pci, as journaled operations that
/// <c>kvmtune rollback</c> undoes. Binding is refused while the IOMMU is off or another device of the same IOMMU
/// group is held by a host driver (vfio would not open the group).
/// </summary>
public static class VfioPlanner
{
    /// <summary>Drivers that may stay in an IOMMU group handed to vfio: PCIe ports and bridges never do DMA for the host.</summary>
    private static readonly string[] Harmless = ["vfio-pci", "pcieport", "shpchp"];

    public static Operation CreateVfs(HostFacts f, string pf, int count)
    {
        var dev = Find(f, pf, "PF");
        if (dev.SriovTotalvfs is not int total || total == 0)
            throw new InputException(null, null, pf, "is not SR-IOV capable (no sriov_totalvfs): check that its PF driver and firmware are loaded");
        if (count < 0 || count > total) throw new InputException(null, null, "--count", $"{count} is outside 0..{total} (sriov_totalvfs of {pf})");
        var path = $"/sys/bus/pci/devices/{pf}/sriov_numvfs";
        return new ValueOperation
        {
            Section = "5", FindingId = "vfio.create-vfs", Path = path,
            Original = dev.SriovNumvfs?.ToString(CultureInfo.InvariantCulture) ?? "0", New = count.ToString(CultureInfo.InvariantCulture),
        };
    }

    public static Operation Bind(HostFacts f, HostReader r, string bdf)
    {
        var dev = Find(f, bdf, "device");
        if (f.Virtualization.Iommu.Groups is not > 0 || dev.IommuGroup is not int group)
            throw new Changes.RefusedException($"{bdf}: the IOMMU is off (no IOMMU groups): enable VT-d in the BIOS and boot with intel_iommu=on (guide 2.1)");
        var blockers = f.Pci.Where(p => p.IommuGroup == group && p.Address != bdf && p.Driver is not null && !Harmless.Contains(p.Driver)).ToList();
        if (blockers.Count > 0)
            throw new Changes.RefusedException($"{bdf}: IOMMU group {group} also holds {string.Join(", ", blockers.Select(b => $"{b.Address} (driver {b.Driver})"))}; bind those to vfio-pci or unbind them first");
        var overrideText = r.ReadText($"/sys/bus/pci/devices/{bdf}/driver_override");
        return new DriverOperation
        {
            Section = "5", FindingId = "vfio.bind", Device = bdf, OriginalDriver = dev.Driver, NewDriver = "vfio-pci",
            OriginalOverride = overrideText is null or "(null)" ? "" : overrideText,
        };
    }

    private static PciDevice Find(HostFacts f, string bdf, string what)
    {
        if (!KernelText.IsPciAddress(bdf)) throw new InputException(null, null, bdf, $"is not a PCI address such as 0000:6b:00.0");
        return f.Pci.FirstOrDefault(p => p.Address == bdf) ?? throw new InputException(null, null, bdf, $"no such {what} on this host");
    }
}
