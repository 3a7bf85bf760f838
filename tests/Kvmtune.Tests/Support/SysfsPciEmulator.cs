using Kvmtune.Facts.IO;

namespace Kvmtune.Tests.Support;

/// <summary>
/// Test code that makes a tree behave like sysfs where vfio work depends on it. Each behaviour names the kernel
/// source it imitates; a write the kernel would refuse with an errno is answered by putting back what the kernel
/// would show (a file in a tree cannot return an errno). kvmtune calls it after each attribute it writes in the tree,
/// before the write returns, as a sysfs store() runs inside write(2): pass it to <see cref="KvmtuneRunner"/> or to a
/// <see cref="SafeTree"/>. The code under test is kvmtune's.
/// </summary>
public sealed class SysfsPciEmulator(TestTree tree, string vfDevice, string vfDriver, int firstGroup) : ITreeKernel
{
    /// <summary>Every new_id and remove_id written, in order ("vfio-pci new_id 8086 37c9").</summary>
    public List<string> NewIds { get; } = [];

    /// <summary>
    /// The PF is a QAT device: adf_sriov_configure() (drivers/crypto/intel/qat/qat_common/adf_sriov.c) ignores
    /// the count and enables every VF the device supports (pci_enable_sriov(pdev, totalvfs)).
    /// </summary>
    public bool QatPf { get; init; }

    /// <summary>
    /// The most VFs the PF can enable: beyond it sriov_enable() in drivers/pci/iov.c fails with -ENOMEM ("can't
    /// enable %d VFs (bus %02x out of range of %pR)") and the PF keeps none.
    /// </summary>
    public int? EnableLimit { get; init; }

    public static void AddDriver(TestTree t, string driver)
    {
        foreach (var f in new[] { "bind", "unbind", "new_id", "remove_id" })
            t.File($"/sys/bus/pci/drivers/{driver}/{f}", "");
    }

    /// <summary>What the kernel does on the write kvmtune just made, before its write(2) returns.</summary>
    public void Written(string machinePath)
    {
        var physical = tree.Physical(machinePath);
        var value = File.ReadAllText(physical);
        if (value.Length == 0)
            return; // a file put back empty, as it was: nothing asked of the kernel
        var parts = machinePath.Split('/');
        if (machinePath.EndsWith("/sriov_numvfs") && int.TryParse(value.Trim(), out var n))
            SetVfs(Path.GetDirectoryName(machinePath)!, n);
        else if (machinePath.StartsWith("/sys/bus/pci/drivers/") && parts[^1] is "new_id" or "remove_id")
        {
            NewIds.Add($"{parts[^2]} {parts[^1]} {value.Trim()}");
            File.WriteAllText(physical, "");
        }
        else if (machinePath.StartsWith("/sys/bus/pci/drivers/") && parts[^1] is "bind" or "unbind")
        {
            var bdf = value.Trim();
            var dev = tree.Physical($"/sys/bus/pci/devices/{bdf}");
            var link = Path.Combine(dev, "driver");
            if (parts[^1] == "unbind")
            {
                if (new FileInfo(link).LinkTarget is not null)
                    File.Delete(link);
            }
            else if (new FileInfo(link).LinkTarget is null && Matches(dev, parts[^2]) && Probes(dev, parts[^2]))
                File.CreateSymbolicLink(link, $"../../../bus/pci/drivers/{parts[^2]}");
            File.WriteAllText(physical, "");
        }
        // driver_set_override() (drivers/base/driver.c): an empty value (or a lone newline) clears it.
        else if (machinePath.EndsWith("/driver_override") && value.Trim().Length == 0)
            File.WriteAllText(physical, "(null)\n");
    }

    /// <summary>
    /// pci_bus_match() (drivers/pci/pci-driver.c): with driver_override set, only the driver of that name matches;
    /// bind_store() (drivers/base/bus.c) answers -ENODEV otherwise and the device stays as it was.
    /// </summary>
    private static bool Matches(string dev, string driver)
    {
        var file = Path.Combine(dev, "driver_override");
        var text = File.Exists(file) ? File.ReadAllText(file).Trim() : "";
        return text is "" or "(null)" || text == driver;
    }

    /// <summary>
    /// vfio_pci_probe() (drivers/vfio/pci/vfio_pci.c) returns -EINVAL for a device on its denylist unless the
    /// module was loaded with disable_denylist=1: the bind fails and the device keeps no driver.
    /// </summary>
    private bool Probes(string dev, string driver)
    {
        if (driver != "vfio-pci")
            return true;
        var vendor = File.ReadAllText(Path.Combine(dev, "vendor")).Trim();
        var device = File.ReadAllText(Path.Combine(dev, "device")).Trim();
        var disabled = tree.Physical("/sys/module/vfio_pci/parameters/disable_denylist");
        return !Kvmtune.Facts.Host.Devices.PciKernel.OnDenylist(vendor, device)
            || File.Exists(disabled) && File.ReadAllText(disabled).Trim() == "Y";
    }

    private void SetVfs(string pfDir, int count)
    {
        var pf = Path.GetFileName(pfDir);
        var physicalPf = tree.Physical(pfDir);
        var now = Directory.GetFileSystemEntries(physicalPf, "virtfn*").Length;
        // sriov_numvfs_store() in drivers/pci/iov.c: the same count again changes nothing.
        if (count == now)
            return;
        void Show(int vfs) => File.WriteAllText(Path.Combine(physicalPf, "sriov_numvfs"), $"{vfs}\n");
        // sriov_numvfs_store(): -ENOENT "no driver bound to device; cannot configure SR-IOV"; nothing changes.
        var pfDriver = new FileInfo(Path.Combine(physicalPf, "driver")).LinkTarget;
        if (pfDriver is null)
        {
            Show(now);
            return;
        }
        // adf_do_enable_sriov()/adf_do_disable_sriov() in adf_sriov.c: -EBUSY while the host uses the device, which
        // adf_dev_get() marks with a reference on the driver's module.
        var driverDir = tree.Physical($"/sys/bus/pci/drivers/{Path.GetFileName(pfDriver)}");
        var module = new FileInfo(Path.Combine(driverDir, "module")).LinkTarget;
        var refcnt = module is null ? null : tree.Physical($"/sys/module/{Path.GetFileName(module)}/refcnt");
        if (QatPf && File.Exists(refcnt) && File.ReadAllText(refcnt).Trim() != "0")
        {
            Show(now);
            return;
        }
        foreach (var link in Directory.GetFileSystemEntries(physicalPf, "virtfn*"))
        {
            var vf = Path.GetFileName(new FileInfo(link).LinkTarget!);
            var group = Path.GetFileName(
                new FileInfo(tree.Physical($"/sys/devices/pci0000:30/{vf}/iommu_group")).LinkTarget!
            );
            Directory.Delete(tree.Physical($"/sys/kernel/iommu_groups/{group}"));
            File.Delete(link);
            Directory.Delete(tree.Physical($"/sys/devices/pci0000:30/{vf}"), true);
            File.Delete(tree.Physical($"/sys/bus/pci/devices/{vf}"));
        }
        if (QatPf && count > 0)
            count = int.Parse(File.ReadAllText(Path.Combine(physicalPf, "sriov_totalvfs")).Trim());
        if (EnableLimit is int limit && count > limit)
        {
            Show(0);
            return;
        }
        // pci_device_can_probe() (drivers/pci/pci-driver.c): a new VF is probed only while the PF's
        // sriov_drivers_autoprobe is on.
        var autoprobe = Path.Combine(physicalPf, "sriov_drivers_autoprobe");
        var probe = !File.Exists(autoprobe) || File.ReadAllText(autoprobe).Trim() != "0";
        var bus = pf[..8];
        for (var i = 0; i < count; i++)
        {
            var vf = $"{bus}{1 + i / 8:x2}.{i % 8}";
            var d = $"/sys/devices/pci0000:30/{vf}";
            tree
                .File($"{d}/class", "0x0b4000\n")
                .File($"{d}/vendor", "0x8086\n")
                .File($"{d}/device", vfDevice + "\n")
                .File($"{d}/numa_node", File.ReadAllText(tree.Physical($"{pfDir}/numa_node")))
                .File($"{d}/driver_override", "(null)\n");
            tree.Dir($"/sys/kernel/iommu_groups/{firstGroup + i}");
            tree.Link($"{d}/iommu_group", $"../../../kernel/iommu_groups/{firstGroup + i}");
            tree.Link($"{d}/physfn", $"../{pf}");
            if (probe)
                tree.Link($"{d}/driver", $"../../../bus/pci/drivers/{vfDriver}");
            tree.Link($"/sys/bus/pci/devices/{vf}", $"../../../devices/pci0000:30/{vf}");
            tree.Link($"{pfDir}/virtfn{i}", $"../{vf}");
        }
        // sriov_numvfs_show() reports num_VFs: what was enabled, not what was asked (QAT: all of them).
        if (count.ToString() != File.ReadAllText(Path.Combine(physicalPf, "sriov_numvfs")).Trim())
            Show(count);
    }

}
