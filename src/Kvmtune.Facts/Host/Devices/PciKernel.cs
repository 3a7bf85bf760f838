using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Devices;

/// <summary>A process that holds a VF open: QEMU with its VFIO group or device file.</summary>
public sealed record VfHolder(string Vf, int Pid, string? Comm, string File);

/// <summary>
/// What the kernel checks before a PCI driver or SR-IOV change, read from sysfs and procfs so kvmtune can refuse
/// before writing (a write the kernel refuses with an errno leaves nothing to read back in a tree).
/// </summary>
public static class PciKernel
{
    /// <summary>
    /// vfio_pci_dev_in_denylist() in drivers/vfio/pci/vfio_pci.c: vfio-pci's probe returns -EINVAL for these
    /// Intel devices (QAT C3xxx, C62x, DH895xCC PFs and VFs; DSA and IAA on Sapphire Rapids) unless the module
    /// is loaded with disable_denylist=1.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Denylist = new Dictionary<string, string>
    {
        ["0x19e2"] = "QAT C3xxx",
        ["0x19e3"] = "QAT C3xxx VF",
        ["0x37c8"] = "QAT C62x",
        ["0x37c9"] = "QAT C62x VF",
        ["0x0435"] = "QAT DH895xCC",
        ["0x0443"] = "QAT DH895xCC VF",
        ["0x0b25"] = "DSA",
        ["0x0cfe"] = "IAA",
    };

    public static bool OnDenylist(string? vendor, string? device) =>
        vendor == "0x8086" && device is not null && Denylist.ContainsKey(device);

    /// <summary>module_param(disable_denylist, bool, 0444): reads Y or N.</summary>
    public static bool DenylistDisabled(HostReader r) =>
        r.ReadText("/sys/module/vfio_pci/parameters/disable_denylist") is "Y" or "1";

    /// <summary>A driver registers /sys/bus/pci/drivers/NAME when its module loads; a bind loads nothing.</summary>
    public static bool DriverLoaded(HostReader r, string driver) => r.Exists($"/sys/bus/pci/drivers/{driver}");

    /// <summary>
    /// Drivers vfio lets stay in a group it opens. Since Linux 5.19 a group is viable only while every bound driver
    /// sets driver_managed_dma (iommu_device_use_default_domain): pcieport (drivers/pci/pcie/portdrv.c), pci-stub
    /// (drivers/pci/pci-stub.c) and the vfio drivers (vfio-pci and its variants, e.g. qat_vfio_pci, mlx5_vfio_pci).
    /// </summary>
    public static bool ManagesDmaForVfio(string driver) =>
        driver is "vfio-pci" or "pcieport" or "pci-stub"
        || driver.EndsWith("_vfio_pci", StringComparison.Ordinal)
        || driver.EndsWith("-vfio-pci", StringComparison.Ordinal);

    public static bool IsVfioDriver(string? driver) =>
        driver is not null and not "pcieport" and not "pci-stub" && ManagesDmaForVfio(driver);

    /// <summary>
    /// The module behind a PCI driver and its reference count: QAT's adf_dev_get() takes a module reference while
    /// the host uses the device (adf_dev_mgr.c), and then adf_sriov_configure() answers -EBUSY.
    /// </summary>
    public static (string Module, int? RefCount)? DriverModule(HostReader r, string driver)
    {
        var module = r.LinkName($"/sys/bus/pci/drivers/{driver}/module");
        return module is null ? null : (module, r.ReadInt($"/sys/module/{module}/refcnt"));
    }

    /// <summary>
    /// Processes holding the VFIO files of these VFs open: the group file /dev/vfio/GROUP, or the device cdev
    /// /dev/vfio/devices/vfioN. pci_disable_sriov() removes each VF, and vfio's remove waits for the user to close
    /// it (vfio_unregister_group_dev in drivers/vfio/vfio_main.c), so a write of 0 blocks while QEMU runs.
    /// </summary>
    public static IReadOnlyList<VfHolder> Holders(HostReader r, IEnumerable<string> vfs)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var vf in vfs)
        {
            var dev = $"/sys/bus/pci/devices/{vf}";
            if (!IsVfioDriver(r.LinkName(dev + "/driver")))
                continue;
            if (r.LinkName(dev + "/iommu_group") is { } g)
                files[$"/dev/vfio/{g}"] = vf;
            foreach (var c in r.List(dev + "/vfio-dev") ?? [])
                files[$"/dev/vfio/devices/{c}"] = vf;
        }
        var holders = new List<VfHolder>();
        if (files.Count == 0)
            return holders;
        foreach (var p in r.List("/proc") ?? [])
        {
            if (!int.TryParse(p, out var pid))
                continue;
            foreach (var fd in r.List($"/proc/{p}/fd") ?? [])
                if (r.ReadLink($"/proc/{p}/fd/{fd}") is { } target && files.TryGetValue(target, out var vf))
                    holders.Add(new VfHolder(vf, pid, r.ReadText($"/proc/{p}/comm"), target));
        }
        return holders;
    }

    public static string Describe(IReadOnlyList<VfHolder> holders) =>
        string.Join(", ", holders.Select(h => $"{h.Vf} ({h.File} open by pid {h.Pid} {h.Comm ?? "?"})").Distinct());

    /// <summary>A PF's VFs now: its virtfnN links (pci_iov_add_virtfn in drivers/pci/iov.c makes one each).</summary>
    public static IReadOnlyList<string> Vfs(HostReader r, string pf)
    {
        var dev = $"/sys/bus/pci/devices/{pf}";
        return (r.List(dev) ?? [])
            .Where(n => KernelText.Suffix(n, "virtfn") is not null)
            .Select(n => r.LinkName($"{dev}/{n}") ?? n)
            .ToList();
    }
}
