using System.Collections.Frozen;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>Guide 4, Intel Optane persistent memory: kernel options, tools, App Direct regions and devdax
/// namespaces.</summary>
public static class Section4_Pmem
{
    private const string S = "4";

    /// <summary>The guide's kernel configuration list, duplicates folded, with the value it gives.</summary>
    public static readonly IReadOnlyList<(string Option, string Value)> KernelOptions =
    [
        ("CONFIG_ND_PFN", "m"),
        ("CONFIG_NVDIMM_DAX", "y"),
        ("CONFIG_DEV_DAX_PMEM", "m"),
        ("CONFIG_FS_DAX_PMD", "y"),
        ("CONFIG_LIBNVDIMM", "y"),
        ("CONFIG_BLK_DEV_PMEM", "m"),
        ("CONFIG_ND_BLK", "m"),
        ("CONFIG_ND_CLAIM", "y"),
        ("CONFIG_ND_BTT", "m"),
        ("CONFIG_BTT", "y"),
        ("CONFIG_NVDIMM_PFN", "y"),
        ("CONFIG_DAX_DRIVER", "y"),
        ("CONFIG_DAX", "y"),
        ("CONFIG_DEV_DAX", "m"),
        ("CONFIG_NVME", "y"),
        ("CONFIG_FS_DAX", "y"),
    ];

    /// <summary>Options the kernel has since dropped or folded into others; their absence is not a fault on those
    /// kernels.</summary>
    private static readonly FrozenDictionary<string, (Version Since, string Note)> Removed = new Dictionary<
        string,
        (Version Since, string Note)
    >
    {
        ["CONFIG_ND_BLK"] = (new Version(5, 18), "BLK-mode namespaces were removed in Linux 5.18"),
        ["CONFIG_DAX_DRIVER"] = (new Version(5, 17), "folded into CONFIG_DAX in Linux 5.17"),
        ["CONFIG_NVME"] = (new Version(3, 0), "the NVMe driver is CONFIG_BLK_DEV_NVME"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        var f = c.Facts;
        var hasPmem = f.Nvdimm.Regions.Count > 0 || f.Nvdimm.Dax.Count > 0;
        var cfg = f.Kernel.Config;
        var version = Section3_3_Qemu.KernelVersion(f.Kernel.Release);
        foreach (var (option, value) in KernelOptions)
        {
            var id = "host.pmem.kconfig." + option["CONFIG_".Length..].ToLowerInvariant();
            var title = $"Kernel option {option}";
            var rationale = "The guide lists this option as needed for App Direct persistent memory in VMs";
            var evidence = new[] { cfg?.Source ?? "/boot/config-<release>", "/proc/config.gz" };
            var expected = value == "m" ? "m (or y)" : "y";
            if (cfg is null)
            {
                yield return Rule.Make(
                    id,
                    S,
                    title,
                    FindingStatus.Unknown,
                    "kernel configuration not found",
                    expected,
                    rationale,
                    evidence
                );
                continue;
            }
            var actual = cfg.Get(option);
            var ok = actual == "y" || (value == "m" && actual == "m");
            if (ok)
            {
                yield return Rule.Make(
                    id,
                    S,
                    title,
                    FindingStatus.Pass,
                    $"{option}={actual}",
                    expected,
                    rationale,
                    evidence
                );
                continue;
            }
            if (
                actual is null
                && Removed.TryGetValue(option, out var gone)
                && (version is null || version >= gone.Since)
            )
            {
                var alt =
                    option == "CONFIG_NVME" ? cfg.Get("CONFIG_BLK_DEV_NVME")
                    : option == "CONFIG_DAX_DRIVER" ? cfg.Get("CONFIG_DAX")
                    : null;
                yield return Rule.Make(
                    id,
                    S,
                    title,
                    option == "CONFIG_ND_BLK" || alt is "y" or "m" ? FindingStatus.Info : FindingStatus.Warn,
                    $"not in this kernel ({gone.Note}{(alt is null ? "" : $"; replacement is {alt}")})",
                    expected,
                    rationale,
                    evidence
                );
                continue;
            }
            yield return Rule.Make(
                id,
                S,
                title,
                hasPmem ? FindingStatus.Fail : FindingStatus.Warn,
                actual is null ? $"{option} absent" : $"{option}={actual}",
                expected,
                rationale,
                evidence,
                new ManualStep(S, $"rebuild or choose a kernel with {option}={value}")
            );
        }
        yield return Tools(c, hasPmem);
        yield return Regions(c);
        yield return Devdax(c);
    }

    private static Finding Tools(AuditContext c, bool hasPmem)
    {
        var u = c.Facts.Userspace;
        const string id = "host.pmem.tools",
            title = "ndctl and ipmctl installed";
        var ndctl = u.Tool("ndctl") is not null;
        var ipmctl = u.Tool("ipmctl") is not null;
        var current = $"ndctl {(ndctl ? "installed" : "missing")}, ipmctl {(ipmctl ? "installed" : "missing")}";
        var evidence = new[] { "/usr/bin/ndctl", "/usr/bin/ipmctl" };
        var rationale = "ipmctl sets the App Direct goal and ndctl creates devdax namespaces (guide 4.1, 4.2)";
        if (ndctl && ipmctl)
            return Rule.Make(id, "4.1", title, FindingStatus.Pass, current, "both installed", rationale, evidence);
        return Rule.Make(
            id,
            "4.1",
            title,
            hasPmem ? FindingStatus.Warn : FindingStatus.Info,
            current,
            "both installed",
            rationale,
            evidence,
            new ManualStep("4.1", "install ndctl and ipmctl (Debian/Ubuntu: apt-get install ndctl ipmctl)")
        );
    }

    private static Finding Regions(AuditContext c)
    {
        var n = c.Facts.Nvdimm;
        const string id = "host.pmem.regions",
            title = "App Direct regions";
        var evidence = new[] { "/sys/bus/nd/devices" };
        var rationale = "App Direct mode exposes persistent memory as regions the OS can carve into namespaces";
        if (n.Regions.Count == 0)
            return Rule.Make(
                id,
                "4.1",
                title,
                FindingStatus.Info,
                "no nvdimm regions",
                "regions if Optane PMem is installed",
                rationale,
                evidence,
                new ManualStep(
                    "4.1",
                    "with Optane PMem installed: ipmctl create -goal PersistentMemoryType=AppDirect, then reboot"
                )
            );
        var current = string.Join(
            ", ",
            n.Regions.Select(r =>
                $"{r.Name} ({(r.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "?")}, node " +
                    $"{r.NumaNode?.ToString() ?? "?"})"
            )
        );
        return Rule.Make(id, "4.1", title, FindingStatus.Pass, current, "App Direct regions", rationale, evidence);
    }

    private static Finding Devdax(AuditContext c)
    {
        var n = c.Facts.Nvdimm;
        const string id = "host.pmem.devdax",
            title = "devdax namespaces for VMs";
        var evidence = new[] { "/sys/bus/dax/devices" };
        var rationale = "QEMU backs a guest nvdimm with a /dev/daxX.Y device (guide 4.2)";
        var devdax = n.Dax.Where(d => d.Driver is null or "device_dax").ToList();
        if (devdax.Count > 0)
            return Rule.Make(
                id,
                "4.2",
                title,
                FindingStatus.Pass,
                string.Join(
                    ", ",
                    devdax.Select(d =>
                        $"{d.DevicePath} ({(d.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "?")}, node " +
                            $"{d.NumaNode?.ToString() ?? "?"})"
                    )
                ),
                "a devdax namespace",
                rationale,
                evidence
            );
        if (n.Regions.Count == 0)
            return Rule.Make(id, "4.2", title, FindingStatus.Info, "no persistent memory", null, rationale, evidence);
        var kmem = n.Dax.Where(d => d.OnlinedAsRam).ToList();
        // A device onlined as system RAM turns back into devdax once its memory is offline (daxctl-reconfigure-
        // device(1)); reformatting another namespace would destroy that namespace's data instead.
        if (kmem.Count > 0)
            return Rule.Make(
                id,
                "4.2",
                title,
                FindingStatus.Warn,
                "DAX devices are onlined as system RAM (kmem): " + string.Join(", ", kmem.Select(d => d.DevicePath)),
                "a devdax namespace",
                rationale,
                evidence,
                kmem.Select(d => new ManualStep("4.2", KmemToDevdax(d)))
            );
        var raw = n.Namespaces.FirstOrDefault(x => x.Mode == "raw")?.Name;
        return Rule.Make(
            id,
            "4.2",
            title,
            FindingStatus.Warn,
            "no devdax namespace",
            "a devdax namespace",
            rationale,
            evidence,
            new ManualStep(
                "4.2",
                raw is null
                    ? "ndctl create-namespace -m devdax -r REGION   # a new namespace in a region's free space"
                    : $"ndctl create-namespace -m devdax -e {raw} -f   # destroys the data on {raw}"
            )
        );
    }

    /// <summary>daxctl-reconfigure-device(1): back to devdax once the memory sections are offline.</summary>
    public static string KmemToDevdax(DaxDevice d) =>
        $"daxctl offline-memory {d.Name} && daxctl reconfigure-device --mode=devdax {d.Name}"
        + $"   # {d.DevicePath} is system RAM (kmem); its memory must be free to go offline";
}
