using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Facts.Host.Devices;

/// <summary>Reads /sys/bus/pci, /proc/irq, /sys/block, /sys/class/net, /sys/bus/nd and /sys/bus/dax.</summary>
public static class DeviceReader
{
    public static IReadOnlyList<PciDevice> ReadPci(HostReader r)
    {
        const string bus = "/sys/bus/pci/devices";
        var list = new List<PciDevice>();
        foreach (var addr in r.List(bus) ?? [])
        {
            if (!KernelText.IsPciAddress(addr))
                continue;
            var d = $"{bus}/{addr}";
            // The device folder's listing says which attributes exist: no open is wasted on absent ones.
            var entries = r.List(d);
            bool Has(string name) => entries is null || entries.Contains(name);
            string? Text(string name) => Has(name) ? r.ReadText($"{d}/{name}") : null;
            var node = Has("numa_node") ? r.ReadInt(d + "/numa_node") : null;
            var virtfns = (entries ?? [])
                .Where(n => KernelText.Suffix(n, "virtfn") is not null)
                .OrderBy(n => KernelText.Suffix(n, "virtfn"))
                .Select(n => r.LinkName($"{d}/{n}") ?? n)
                .ToList();
            var overrideText = Text("driver_override");
            list.Add(
                new PciDevice(
                    addr,
                    Text("class"),
                    Text("vendor"),
                    Text("device"),
                    node is null or < 0 ? null : node,
                    CpuReader.ParseList(Text("local_cpulist")) ?? CpuReader.ParseMask(Text("local_cpus")),
                    Has("driver") ? r.LinkName(d + "/driver") : null,
                    overrideText is null or "(null)" ? null : overrideText,
                    Has("iommu_group") && int.TryParse(r.LinkName(d + "/iommu_group"), out var g) ? g : null,
                    Has("sriov_totalvfs") ? r.ReadInt(d + "/sriov_totalvfs") : null,
                    Has("sriov_numvfs") ? r.ReadInt(d + "/sriov_numvfs") : null,
                    Has("physfn") ? r.LinkName(d + "/physfn") : null,
                    virtfns,
                    (Has("msi_irqs") ? r.List(d + "/msi_irqs") ?? [] : [])
                        .Select(n => int.TryParse(n, out var i) ? i : -1)
                        .Where(i => i >= 0)
                        .Order()
                        .ToList()
                )
            );
        }
        return list;
    }

    public static IReadOnlyList<IrqFacts> ReadIrqs(HostReader r)
    {
        // Read with the first name asked for (IrqFacts.Name), for every IRQ at once.
        var names = new Lazy<Dictionary<int, string>>(() => IrqNames(r.ReadBytes("/proc/interrupts")));
        var list = new List<IrqFacts>();
        foreach (var n in r.List("/proc/irq") ?? [])
        {
            // The kernel names each folder by its number in plain decimal (kernel/irq/proc.c, register_irq_proc:
            // sprintf "%d", "%u" since 2025): "01" or "+1" beside "1" would be a second IRQ 1.
            if (
                !int.TryParse(n, System.Globalization.NumberStyles.None, null, out var irq)
                || n != irq.ToString(System.Globalization.CultureInfo.InvariantCulture)
            )
                continue;
            var d = $"/proc/irq/{n}";
            list.Add(
                new IrqFacts(
                    irq,
                    () => names.Value.GetValueOrDefault(irq),
                    CpuReader.ParseList(r.ReadText(d + "/smp_affinity_list")),
                    CpuReader.ParseList(r.ReadText(d + "/effective_affinity_list")),
                    r.ReadInt(d + "/node") is int node and >= 0 ? node : null,
                    Managed(r.ReadAll($"/sys/kernel/debug/irq/irqs/{n}"))
                )
            );
        }
        return list.OrderBy(i => i.Irq).ToList();
    }

    /// <summary>
    /// Whether debugfs lists IRQD_AFFINITY_MANAGED under the IRQ's "dstate:" (kernel/irq/debugfs.c prints one
    /// flag name a line); null when the file is unreadable: /proc/irq has no file that says so.
    /// </summary>
    internal static bool? Managed(string? debugfs)
    {
        if (debugfs is null || !debugfs.Contains("dstate:", StringComparison.Ordinal))
            return null;
        return debugfs.Contains("IRQD_AFFINITY_MANAGED", StringComparison.Ordinal);
    }

    /// <summary>
    /// The action names at the end of each numbered /proc/interrupts line. Scanned as bytes, not split: the file has
    /// a count column per CPU, so on a 1,024-CPU host with 2,000 IRQs it is 22 MB and two million fields.
    /// </summary>
    internal static Dictionary<int, string> IrqNames(byte[]? data)
    {
        var map = new Dictionary<int, string>();
        if (data is null)
            return map;
        ReadOnlySpan<byte> rest = data;
        var cpuColumns = -1;
        while (rest.Length > 0)
        {
            var nl = rest.IndexOf((byte)'\n');
            var line = nl < 0 ? rest : rest[..nl];
            rest = nl < 0 ? [] : rest[(nl + 1)..];
            if (cpuColumns < 0)
            {
                cpuColumns = SkipFields(line, int.MaxValue, out _);
                continue;
            }
            var colon = line.IndexOf((byte)':');
            if (
                colon < 0
                || !int.TryParse(
                    line[..colon],
                    System.Globalization.NumberStyles.Integer,
                    System.Globalization.CultureInfo.InvariantCulture,
                    out var irq
                )
            )
                continue;
            // counts per CPU, then the chip, the hwirq and trigger, then the action names
            var fields = line[(colon + 1)..];
            if (SkipFields(fields, cpuColumns + 1, out var after) <= cpuColumns)
                continue;
            map[irq] = string.Join(
                ' ',
                System.Text.Encoding.UTF8.GetString(fields[after..]).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            );
        }
        return map;
    }

    /// <summary>Skips up to <paramref name="count"/> space-separated fields; returns how many there were.</summary>
    private static int SkipFields(ReadOnlySpan<byte> line, int count, out int end)
    {
        var skipped = 0;
        end = 0;
        // Searches, not a byte at a time: the counts are padded to ten columns, on every CPU of every line.
        while (skipped < count)
        {
            var field = line[end..].IndexOfAnyExcept((byte)' ');
            if (field < 0)
            {
                end = line.Length;
                break;
            }
            end += field;
            var space = line[end..].IndexOf((byte)' ');
            end = space < 0 ? line.Length : end + space;
            skipped++;
        }
        return skipped;
    }

    public static IReadOnlyList<BlockDevice> ReadBlock(HostReader r, IReadOnlyList<PciDevice> pci)
    {
        var list = new List<BlockDevice>();
        foreach (var name in r.List("/sys/block") ?? [])
        {
            var d = $"/sys/block/{name}";
            var target = r.ReadLink(d);
            if (target is not null && target.Contains("/virtual/", StringComparison.Ordinal))
                continue; // loop, ram, dm: no queues of their own to tune
            var addr = KernelText.LastPciAddress(target);
            var mq = r.List(d + "/mq");
            list.Add(
                new BlockDevice(
                    name,
                    addr,
                    pci.FirstOrDefault(p => p.Address == addr)?.PlacementNode,
                    mq?.Count(n => int.TryParse(n, out _)),
                    r.ReadInt(d + "/queue/rq_affinity"),
                    KernelText.Choice(r.ReadText(d + "/queue/scheduler")).Selected,
                    r.ReadText(d + "/queue/rotational") switch
                    {
                        "1" => true,
                        "0" => false,
                        _ => null,
                    },
                    r.LinkName(d + "/device/driver")
                )
            );
        }
        return list;
    }

    public static IReadOnlyList<NetInterface> ReadNet(HostReader r, IReadOnlyList<PciDevice> pci)
    {
        var list = new List<NetInterface>();
        foreach (var name in r.List("/sys/class/net") ?? [])
        {
            var d = $"/sys/class/net/{name}";
            var target = r.ReadLink(d);
            var isVirtual = target?.Contains("/virtual/", StringComparison.Ordinal) ?? false;
            var addr = KernelText.LastPciAddress(target);
            var queues = r.List(d + "/queues");
            list.Add(
                new NetInterface(
                    name,
                    addr,
                    isVirtual,
                    pci.FirstOrDefault(p => p.Address == addr)?.PlacementNode,
                    queues?.Count(q => q.StartsWith("rx-", StringComparison.Ordinal)),
                    queues?.Count(q => q.StartsWith("tx-", StringComparison.Ordinal)),
                    r.LinkName(d + "/device/driver"),
                    r.ReadText(d + "/operstate"),
                    r.ReadText(d + "/address")
                )
            );
        }
        return list;
    }

    /// <summary>Each nvdimm region's name and sysfs folder.</summary>
    public static IReadOnlyList<(string Name, string Path)> RegionFolders(HostReader r)
    {
        // Regions and namespaces live under an ndbus; /sys/bus/nd/devices links to each.
        var ndDevices = r.List("/sys/bus/nd/devices");
        var regionDirs = new List<(string Name, string Path)>();
        if (ndDevices is not null)
        {
            foreach (var n in ndDevices)
                if (KernelText.Suffix(n, "region") is not null)
                    regionDirs.Add((n, $"/sys/bus/nd/devices/{n}"));
            return regionDirs;
        }
        // Trees gathered without /sys/bus/nd still hold the regions under the ACPI NFIT device.
        foreach (var dax in r.List("/sys/bus/dax/devices") ?? [])
        {
            var t = r.ReadLink($"/sys/bus/dax/devices/{dax}");
            var region = t?.Split('/').FirstOrDefault(p => KernelText.Suffix(p, "region") is not null);
            if (region is null || regionDirs.Any(x => x.Name == region))
                continue;
            var abs = ResolveRelative("/sys/bus/dax/devices", t!);
            var end = abs.IndexOf("/" + region + "/", StringComparison.Ordinal) + region.Length + 1;
            regionDirs.Add((region, abs[..end]));
        }
        return regionDirs;
    }

    public static NvdimmFacts ReadNvdimm(HostReader r)
    {
        var regions = new List<NvdimmRegion>();
        var namespaces = new List<NvdimmNamespace>();
        var regionDirs = RegionFolders(r);
        foreach (var (name, path) in regionDirs)
        {
            regions.Add(
                new NvdimmRegion(
                    name,
                    r.ReadLong(path + "/size"),
                    NonNegative(r.ReadInt(path + "/numa_node")),
                    r.ReadText(path + "/devtype"),
                    r.ReadLong(path + "/available_size")
                )
            );
            var children = (r.List(path) ?? [])
                .Where(c =>
                    c.Contains('.')
                    && (
                        c.StartsWith("namespace", StringComparison.Ordinal)
                        || c.StartsWith("dax", StringComparison.Ordinal)
                        || c.StartsWith("pfn", StringComparison.Ordinal)
                        || c.StartsWith("btt", StringComparison.Ordinal)
                    )
                )
                .ToList();
            // A dax, pfn or btt device claims a raw namespace and gives it its mode.
            var claims = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var child in children.Where(c => !c.StartsWith("namespace", StringComparison.Ordinal)))
                if (r.ReadText($"{path}/{child}/namespace") is { Length: > 0 } claimed)
                    claims[claimed] = NamespaceMode(child, r.ReadText($"{path}/{child}/devtype"));
            foreach (var child in children)
            {
                var c = $"{path}/{child}";
                var size = r.ReadLong(c + "/size");
                if (size is null or 0)
                    continue; // an idle seed device, not a namespace in use
                var devtype = r.ReadText(c + "/devtype");
                var mode = child.StartsWith("namespace", StringComparison.Ordinal)
                    ? claims.GetValueOrDefault(child, "raw")
                    : NamespaceMode(child, devtype);
                namespaces.Add(
                    new NvdimmNamespace(
                        child,
                        name,
                        devtype,
                        mode,
                        size,
                        r.ReadLong(c + "/align"),
                        NonNegative(r.ReadInt(c + "/numa_node")),
                        r.LinkName(c + "/driver")
                    )
                );
            }
        }
        var daxList = new List<DaxDevice>();
        foreach (var n in r.List("/sys/bus/dax/devices") ?? [])
        {
            var d = $"/sys/bus/dax/devices/{n}";
            var target = r.ReadLink(d);
            var region = target?.Split('/').FirstOrDefault(p => KernelText.Suffix(p, "region") is not null);
            var parent = target is null ? null : ResolveRelative("/sys/bus/dax/devices", target);
            var parentDir = parent is null ? null : parent[..parent.LastIndexOf('/')];
            var align = r.ReadLong(d + "/align") ?? (parentDir is null ? null : r.ReadLong(parentDir + "/align"));
            var numa =
                NonNegative(r.ReadInt(d + "/numa_node"))
                ?? (parentDir is null ? null : NonNegative(r.ReadInt(parentDir + "/numa_node")));
            daxList.Add(
                new DaxDevice(
                    n,
                    "/dev/" + n,
                    region,
                    r.ReadLong(d + "/size"),
                    align,
                    numa,
                    NonNegative(r.ReadInt(d + "/target_node")),
                    r.LinkName(d + "/driver")
                )
            );
        }
        return new NvdimmFacts(regions, namespaces, daxList);
    }

    private static string NamespaceMode(string name, string? devtype) =>
        devtype switch
        {
            "nd_dax" => "devdax",
            "nd_pfn" => "fsdax",
            "nd_btt" => "sector",
            _ when name.StartsWith("dax", StringComparison.Ordinal) => "devdax",
            _ when name.StartsWith("pfn", StringComparison.Ordinal) => "fsdax",
            _ when name.StartsWith("btt", StringComparison.Ordinal) => "sector",
            _ => "raw",
        };

    private static int? NonNegative(int? v) => v is null or < 0 ? null : v;

    /// <summary>A link target relative to the folder holding the link, as an absolute machine path.</summary>
    internal static string ResolveRelative(string dir, string target)
    {
        var parts = target.StartsWith('/')
            ? new List<string>()
            : dir.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var p in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".")
                continue;
            if (p == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }
}
