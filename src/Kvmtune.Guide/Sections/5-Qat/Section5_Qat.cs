using Kvmtune.Facts.Host.Devices;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 5, Intel QuickAssist: devices, SR-IOV, VFs created and bound to vfio-pci, IOMMU on.</summary>
public static partial class Section5_Qat
{
    private const string S = "5";

    /// <summary>QuickAssist physical functions by device id (Intel vendor 0x8086), each generation.</summary>
    public static readonly IReadOnlyDictionary<string, string> PhysicalFunctions = new Dictionary<string, string>
    {
        ["0x0435"] = "DH895xCC",
        ["0x37c8"] = "C62x",
        ["0x19e2"] = "C3xxx",
        ["0x18ee"] = "200xx",
        ["0x18a0"] = "C4xxx",
        ["0x4940"] = "4xxx",
        ["0x4942"] = "401xx",
        ["0x4944"] = "402xx",
        ["0x4946"] = "420xx",
    };

    public static readonly IReadOnlyDictionary<string, string> VirtualFunctions = new Dictionary<string, string>
    {
        ["0x0443"] = "DH895xCC VF",
        ["0x37c9"] = "C62x VF",
        ["0x19e3"] = "C3xxx VF",
        ["0x18ef"] = "200xx VF",
        ["0x18a1"] = "C4xxx VF",
        ["0x4941"] = "4xxx VF",
        ["0x4943"] = "401xx VF",
        ["0x4945"] = "402xx VF",
        ["0x4947"] = "420xx VF",
    };

    public static bool IsQatPf(PciDevice p) =>
        p.Vendor == "0x8086" && p.Device is not null && PhysicalFunctions.ContainsKey(p.Device);

    public static bool IsQatVf(PciDevice p) =>
        p.Vendor == "0x8086" && p.Device is not null && VirtualFunctions.ContainsKey(p.Device);

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        var pfs = f.Pci.Where(IsQatPf).ToList();
        var vfs = f.Pci.Where(IsQatVf).ToList();
        var evidence = new[] { "/sys/bus/pci/devices" };
        if (pfs.Count == 0 && vfs.Count == 0)
        {
            yield return Rule.Make(
                "host.qat.devices",
                S,
                "Intel QuickAssist devices",
                FindingStatus.Info,
                "no QuickAssist device",
                null,
                "QAT offloads crypto and compression; VMs get it as SR-IOV VFs passed through with vfio-pci",
                evidence
            );
            yield break;
        }
        yield return Rule.Make(
            "host.qat.devices",
            S,
            "Intel QuickAssist devices",
            FindingStatus.Pass,
            string.Join(
                ", ",
                pfs.Select(p =>
                    $"{p.Address} {PhysicalFunctions[p.Device!]} (node {p.NumaNode?.ToString() ?? "?"}, driver " +
                        $"{p.Driver ?? "none"})"
                )
            ),
            null,
            "QAT offloads crypto and compression",
            evidence
        );
        foreach (var pf in pfs)
        {
            var dev = $"/sys/bus/pci/devices/{pf.Address}";
            var pfVfs = vfs.Where(v => v.Physfn == pf.Address).ToList();
            yield return pf.SriovTotalvfs is int total and > 0
                ? Rule.Make(
                    $"host.qat.sriov.{pf.Address}",
                    S,
                    $"{pf.Address} SR-IOV capable",
                    FindingStatus.Pass,
                    $"sriov_totalvfs={total}",
                    "> 0",
                    "VFs are what VMs receive",
                    [dev + "/sriov_totalvfs"]
                )
                : Rule.Make(
                    $"host.qat.sriov.{pf.Address}",
                    S,
                    $"{pf.Address} SR-IOV capable",
                    pf.SriovTotalvfs is null ? FindingStatus.Unknown : FindingStatus.Fail,
                    $"sriov_totalvfs={pf.SriovTotalvfs?.ToString() ?? "unreadable"}",
                    "> 0",
                    "Without SR-IOV the whole device goes to one VM; check that the qat driver and firmware are loaded",
                    [dev + "/sriov_totalvfs"]
                );
            if (pf.SriovNumvfs is int num && num > 0)
                yield return Rule.Make(
                    $"host.qat.vfs.{pf.Address}",
                    "5",
                    $"{pf.Address} VFs created",
                    FindingStatus.Pass,
                    $"sriov_numvfs={num}",
                    "> 0",
                    "Each VF can be given to a VM",
                    [dev + "/sriov_numvfs"]
                );
            else
                yield return Rule.Make(
                    $"host.qat.vfs.{pf.Address}",
                    "5",
                    $"{pf.Address} VFs created",
                    pf.SriovNumvfs is null ? FindingStatus.Unknown : FindingStatus.Warn,
                    $"sriov_numvfs={pf.SriovNumvfs?.ToString() ?? "unreadable"}",
                    $"{pf.SriovTotalvfs ?? 1}",
                    "Each VF can be given to a VM (guide 5, step 1)",
                    [dev + "/sriov_numvfs"],
                    pf.SriovTotalvfs is int t and > 0 ? [new SysfsWrite(S, dev + "/sriov_numvfs", t.ToString())] : []
                );
            // vfio-pci variant drivers (qat_vfio_pci...) serve QEMU just as well as vfio-pci itself.
            var unbound = pfVfs.Where(v => !PciKernel.IsVfioDriver(v.Driver)).ToList();
            if (pfVfs.Count > 0)
                yield return Rule.Make(
                    $"host.qat.vfio.{pf.Address}",
                    S,
                    $"{pf.Address} VFs bound to vfio-pci",
                    unbound.Count == 0 ? FindingStatus.Pass : FindingStatus.Info,
                    $"{pfVfs.Count - unbound.Count} of {pfVfs.Count} VFs on vfio-pci"
                        + (
                            unbound.Count > 0
                                ? " ("
                                     + string.Join(", ", unbound.Take(4)
                                         .Select(v => $"{v.Address}: {v.Driver ?? "none"}"))
                                     + ")"
                                : ""
                        ),
                    "vfio-pci for each VF given to a VM",
                    "A VF reaches a VM only through vfio-pci (guide 5, step 2)",
                    pfVfs.Select(v => $"/sys/bus/pci/devices/{v.Address}/driver"),
                    unbound.Select(v => new ManualStep(S, $"kvmtune vfio bind {v.Address}"))
                );
        }
        var groups = f.Virtualization.Iommu.Groups;
        yield return Rule.Make(
            "host.qat.iommu",
            S,
            "IOMMU on for QAT passthrough",
            groups is null ? FindingStatus.Unknown
                : groups > 0 ? FindingStatus.Pass
                : FindingStatus.Fail,
            $"IOMMU groups {groups?.ToString() ?? "unknown"}",
            "> 0",
            "vfio-pci needs the IOMMU to isolate each VF",
            ["/sys/kernel/iommu_groups"],
            groups is 0 ? [new KernelArgument(S, "intel_iommu", "on")] : []
        );
    }
}
