using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.IO;

namespace Kvmtune.Facts.Host.Virtualization;

/// <summary>Reads DMI, /dev, ACPI tables, IOMMU groups and cgroups into <see cref="VirtualizationFacts"/>.</summary>
public static class VirtualizationReader
{
    private static readonly string[] HypervisorVendors =
    [
        "QEMU",
        "KVM",
        "VMware",
        "Microsoft Corporation",
        "Xen",
        "innotek",
        "VirtualBox",
        "Parallels",
        "Amazon EC2",
        "Google",
        "OpenStack",
        "Bochs",
        "BHYVE",
        "Firecracker",
        "Cloud Hypervisor",
    ];

    public static VirtualizationFacts Read(HostReader r, CpuFacts cpu)
    {
        const string dmi = "/sys/class/dmi/id";
        var dmiFacts = new DmiFacts(
            r.ReadText(dmi + "/sys_vendor"),
            r.ReadText(dmi + "/product_name"),
            r.ReadText(dmi + "/bios_vendor"),
            r.ReadText(dmi + "/board_vendor")
        );
        var evidence = new List<string>();
        string? hypervisor = null;
        if (cpu.HasFlag("hypervisor"))
            evidence.Add("/proc/cpuinfo: hypervisor flag");
        var hvType = r.ReadText("/sys/hypervisor/type");
        if (!string.IsNullOrEmpty(hvType))
        {
            evidence.Add($"/sys/hypervisor/type: {hvType}");
            hypervisor = hvType;
        }
        foreach (
            var (field, value) in new[]
            {
                ("sys_vendor", dmiFacts.SysVendor),
                ("product_name", dmiFacts.ProductName),
                ("bios_vendor", dmiFacts.BiosVendor),
            }
        )
        {
            var match = value is null
                ? null
                : HypervisorVendors.FirstOrDefault(v => value.Contains(v, StringComparison.OrdinalIgnoreCase));
            if (match is null)
                continue;
            evidence.Add($"{dmi}/{field}: {value}");
            hypervisor ??= value;
        }
        if (
            cpu.HasFlag("hypervisor")
            && hypervisor is null
            && r.ReadText("/sys/devices/system/cpu/cpuidle/current_driver") == "haltpoll"
        )
            hypervisor = "KVM";
        // A host is only claimed where the evidence that would show a guest was readable.
        var role =
            evidence.Count > 0 ? MachineRole.Guest
            : cpu.Flags.Count > 0 || dmiFacts.SysVendor is not null ? MachineRole.Host
            : MachineRole.Unknown;

        var groups = r.List("/sys/kernel/iommu_groups");
        var cgroupControllers = r.ReadText("/sys/fs/cgroup/cgroup.controllers");
        return new VirtualizationFacts(
            role,
            evidence,
            hypervisor,
            dmiFacts,
            Node(r, "/dev/kvm"),
            Node(r, "/dev/vhost-net"),
            Node(r, "/dev/net/tun"),
            Node(r, "/dev/vfio/vfio"),
            new IommuFacts(AcpiTable(r, "DMAR"), AcpiTable(r, "IVRS"), groups?.Count, r.List("/sys/class/iommu")),
            cgroupControllers is not null
                ? cgroupControllers.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                : CgroupV1Controllers(r),
            cgroupControllers is not null ? "2"
                : r.Probe("/sys/fs/cgroup/cpu") != EntryKind.Missing ? "1"
                : null
        );
    }

    /// <summary>Whether firmware handed the kernel an ACPI table; unknown when the table folder itself is
    /// absent.</summary>
    private static bool? AcpiTable(HostReader r, string name)
    {
        if (r.Probe("/sys/firmware/acpi/tables") != EntryKind.Directory)
            return null;
        return r.Exists($"/sys/firmware/acpi/tables/{name}");
    }

    private static IReadOnlyList<string>? CgroupV1Controllers(HostReader r)
    {
        var text = r.ReadAll("/proc/cgroups");
        if (text is null)
            return null;
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split('\t', ' '))
            .Where(f => f.Length >= 4 && f[^1] == "1")
            .Select(f => f[0])
            .ToList();
    }

    private static DeviceNode Node(HostReader r, string path)
    {
        var mode = r.Mode(path);
        return new DeviceNode(
            path,
            mode is not null,
            mode is null ? null : Convert.ToString((int)mode.Value, 8).PadLeft(4, '0')
        )
        {
            // A /dev that proves anything is a devtmpfs: it always has /dev/null. hwloc-gather trees carry a /dev
            // holding only a cpuset mount; that says nothing about /dev/kvm.
            FolderPresent =
                mode is not null
                || (
                    r.Probe(path[..path.LastIndexOf('/')]) == EntryKind.Directory
                    && r.Probe("/dev/null") != EntryKind.Missing
                ),
        };
    }
}
