using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>Every check libvirt's <c>virt-host-validate qemu</c> makes, so kvmtune's audit is a superset of
/// it.</summary>
public static class VirtHostValidate
{
    private const string S = "3.1";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        var v = f.Virtualization;
        var why = "virt-host-validate qemu checks this";
        if (f.Cpu.Flags.Count == 0)
            yield return Rule.Make(
                "host.vhv.hardware_virtualization",
                S,
                "Hardware virtualization",
                FindingStatus.Unknown,
                "CPU flags unreadable",
                "vmx or svm",
                why,
                ["/proc/cpuinfo"]
            );
        else if (f.Cpu.Virtualization is null && f.Cpu.IsX86)
            yield return Rule.Make(
                "host.vhv.hardware_virtualization",
                S,
                "Hardware virtualization",
                FindingStatus.Fail,
                "no vmx or svm flag",
                "vmx or svm",
                "Without VT-x/AMD-V only emulated CPUs are available; performance is far lower",
                ["/proc/cpuinfo"],
                new ManualStep(S, "BIOS: Advanced/Processor Configuration/Intel(R) Virtualization Technology = Enabled")
            );
        else
            yield return Rule.Make(
                "host.vhv.hardware_virtualization",
                S,
                "Hardware virtualization",
                f.Cpu.IsX86 ? FindingStatus.Pass : FindingStatus.Info,
                f.Cpu.Virtualization ?? f.Cpu.Architecture ?? "?",
                "vmx or svm",
                why,
                ["/proc/cpuinfo"]
            );

        yield return Node(
            "host.vhv.kvm",
            "/dev/kvm exists",
            v.Kvm,
            FindingStatus.Fail,
            "QEMU needs /dev/kvm for KVM acceleration",
            new ModuleLoad(S, f.Cpu.Virtualization == "svm" ? "kvm_amd" : "kvm_intel")
        );
        if (v.Kvm.Exists)
        {
            var uid = f.Userspace.EffectiveUid;
            var mode = Convert.ToInt32(v.Kvm.Mode ?? "0", 8);
            var status =
                uid == 0 || (mode & 0b110) == 0b110 ? FindingStatus.Pass
                : (mode & 0b110_000) == 0b110_000 ? FindingStatus.Info
                : uid is null ? FindingStatus.Unknown
                : FindingStatus.Fail;
            yield return Rule.Make(
                "host.vhv.kvm_access",
                S,
                "/dev/kvm is accessible",
                status,
                $"mode {v.Kvm.Mode}, uid {uid?.ToString() ?? "unknown"}",
                "read and write for the user running QEMU",
                status == FindingStatus.Info ? "Accessible to members of the device's group (kvm)" : why,
                ["/dev/kvm", "/proc/self/status"]
            );
        }
        // virt-host-validate's /dev/vhost-net check is host.qemu.vhost_net (guide 3.3.3): one finding, not two.
        yield return Node(
            "host.vhv.tun",
            "/dev/net/tun exists",
            v.Tun,
            FindingStatus.Fail,
            "tap networking needs /dev/net/tun",
            new ModuleLoad(S, "tun")
        );

        // Neither hierarchy seen: which controllers matter is unknown too, so every one of both lists says unknown.
        var controllers = v.CgroupVersion is null ? null : v.CgroupControllers;
        var wanted = v.CgroupVersion switch
        {
            "2" => new[] { "cpu", "cpuset", "memory", "io" },
            "1" => ["cpu", "cpuacct", "cpuset", "memory", "devices", "blkio"],
            _ => ["cpu", "cpuacct", "cpuset", "memory", "devices", "blkio", "io"],
        };
        foreach (var ctl in wanted)
        {
            var id = $"host.vhv.cgroup.{ctl}";
            var title = $"cgroup '{ctl}' controller";
            var ev = v.CgroupVersion switch
            {
                "2" => new[] { "/sys/fs/cgroup/cgroup.controllers" },
                "1" => ["/proc/cgroups"],
                _ => ["/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/cpu"],
            };
            if (controllers is null)
            {
                yield return Rule.Make(id, S, title, FindingStatus.Unknown, "cgroups unreadable", "available", why, ev);
                continue;
            }
            yield return controllers.Contains(ctl)
                ? Rule.Make(id, S, title, FindingStatus.Pass, "available", "available", why, ev)
                : Rule.Make(
                    id,
                    S,
                    title,
                    FindingStatus.Warn,
                    "missing",
                    "available",
                    "libvirt uses it to confine and account VMs",
                    ev
                );
        }

        var i = v.Iommu;
        var amd = f.Cpu.Vendor == "AuthenticAMD";
        var table = amd ? i.IvrsTable : i.DmarTable;
        yield return Rule.Make(
            "host.vhv.iommu_firmware",
            S,
            "IOMMU support in firmware",
            table switch
            {
                true => FindingStatus.Pass,
                false => FindingStatus.Warn,
                _ => FindingStatus.Unknown,
            },
            $"ACPI {(amd ? "IVRS" : "DMAR")} table {Rule.YesNo(table)}",
            "present",
            "Device assignment needs VT-d/AMD-Vi enabled in firmware",
            [$"/sys/firmware/acpi/tables/{(amd ? "IVRS" : "DMAR")}"],
            table == false
                ?
                [
                    new ManualStep(
                        S,
                        "BIOS: Advanced/PCI Configuration/Integrated IO Configuration/Intel(R) VT for Directed I/O = " +
                            "Enabled"
                    ),
                ]
                : []
        );
        yield return Rule.Make(
            "host.vhv.iommu_kernel",
            S,
            "IOMMU enabled by the kernel",
            i.Groups switch
            {
                > 0 => FindingStatus.Pass,
                0 => FindingStatus.Warn,
                _ => FindingStatus.Unknown,
            },
            $"{i.Groups?.ToString() ?? "unknown"} IOMMU groups",
            "> 0",
            "The kernel enables the IOMMU with intel_iommu=on (AMD-Vi is on by default; amd_iommu= has no 'on')",
            ["/sys/kernel/iommu_groups"],
            i.Groups != 0 ? []
                : amd
                    ?
                    [
                        new ManualStep(
                            S,
                            "remove amd_iommu=off and iommu=off from the kernel command line; check dmesg for AMD-Vi"
                        ),
                    ]
                : [new KernelArgument(S, "intel_iommu", "on")]
        );

        var sev = f.Kernel.Param("kvm_amd", "sev");
        var tdx = f.Kernel.Param("kvm_intel", "tdx");
        var secure =
            sev is "1" or "Y" ? "AMD SEV"
            : tdx is "1" or "Y" ? "Intel TDX"
            : null;
        yield return Rule.Make(
            "host.vhv.secure_guest",
            S,
            "Secure guest support",
            FindingStatus.Info,
            secure
                ?? (sev is null && tdx is null ? "unknown (no kvm_amd sev or kvm_intel tdx parameter)" : "not enabled"),
            null,
            "Confidential VMs (SEV, TDX) need firmware and kernel support",
            ["/sys/module/kvm_amd/parameters/sev", "/sys/module/kvm_intel/parameters/tdx"]
        );
    }

    private static Finding Node(
        string id,
        string title,
        DeviceNode node,
        FindingStatus missing,
        string rationale,
        PlannedChange fix
    )
    {
        // Absence is read from the folder's listing: the folder is evidence too.
        var folder = node.Path[..node.Path.LastIndexOf('/')];
        string[] evidence = [node.Path, folder];
        return node.Present switch
        {
            true => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Pass,
                $"present, mode {node.Mode}",
                "present",
                rationale,
                evidence
            ),
            false => Rule.Make(id, S, title, missing, "absent", "present", rationale, evidence, fix),
            // No /dev in the tree: nothing says whether the node exists.
            null => Rule.Make(
                id,
                S,
                title,
                FindingStatus.Unknown,
                $"{folder} not in this tree",
                "present",
                rationale,
                evidence
            ),
        };
    }
}
