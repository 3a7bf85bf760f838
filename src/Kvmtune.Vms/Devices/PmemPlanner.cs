using System.Text;
using Kvmtune.Changes;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Vms.Devices;

/// <summary>Guide 4.1 and 4.2 for this machine: the ipmctl and ndctl steps with its real region and namespace
/// names.</summary>
public static class PmemPlanner
{
    public sealed record PmemPlan(IReadOnlyList<Operation> Operations, IReadOnlyList<string> Notes);

    /// <summary>A DAX device onlined as system RAM: drivers/dax/kmem.c registers its dax driver as "kmem".</summary>
    public static bool IsKmem(DaxDevice d) => d.OnlinedAsRam;

    public static string KmemToDevdax(DaxDevice d) => Section4_Pmem.KmemToDevdax(d);

    /// <summary>
    /// The one namespace <c>pmem plan --execute --namespace NAME</c> turns into devdax (guide 4.2), as a journaled
    /// ndctl operation. ndctl create-namespace -e ... -f destroys what the namespace holds ("data from the victim
    /// namespace is not preserved", ndctl-create-namespace(1)), so it must be named, and one that is in use or
    /// holds a file system is refused.
    /// </summary>
    public static PmemPlan DevdaxOperations(HostFacts f, HostReader r, string? only)
    {
        var raw = f
            .Nvdimm.Namespaces.Where(n => n.Mode == "raw" && n.Name.StartsWith("namespace", StringComparison.Ordinal))
            .ToList();
        var names = raw.Count == 0 ? "none" : string.Join(", ", raw.Select(n => n.Name));
        if (only is null)
            throw new InputException(
                null,
                null,
                "--namespace",
                "is required with --execute: reconfiguring a "
                    + $"namespace destroys its data, so name the one to turn into devdax (raw namespaces here: {names})"
            );
        var ns =
            raw.FirstOrDefault(n => n.Name == only)
            ?? throw new InputException(
                null,
                null,
                "--namespace",
                $"{only} is not a raw namespace on this machine (raw namespaces: {names})"
            );
        var folder = DeviceReader.RegionFolders(r).FirstOrDefault(x => x.Name == ns.Region).Path is { } region
            ? $"{region}/{ns.Name}"
            : null;
        var disk = folder is not null && r.List(folder + "/block") is [var d] ? d : DiskName(ns.Name);
        // /sys/block/DISK links to the namespace's own block folder; gathered trees may hold only the latter.
        var block = r.Exists($"/sys/block/{disk}") || folder is null ? $"/sys/block/{disk}" : $"{folder}/block/{disk}";
        if (InUse(r, disk, block) is { } use)
            throw new RefusedException(
                $"{ns.Name} (/dev/{disk}) is in use: {use}; reconfiguring it would destroy "
                    + "that data. Release it first"
            );
        if (Signature(r, $"/dev/{disk}") is { } sig)
            throw new RefusedException(
                $"{ns.Name} (/dev/{disk}) holds {sig}: reconfiguring it destroys that data, "
                    + "and rollback cannot bring it back. If the data is not wanted, clear the signature "
                    + $"(wipefs -a /dev/{disk}) and run again"
            );
        if (r.IsLive && f.Userspace.Tool("ndctl") is null)
            throw new RefusedException("ndctl is not installed (apt-get install ndctl)");
        var align = Alignment(r, ns.Region);
        var notes = new List<string>
        {
            $"{ns.Name} (/dev/{disk}): ndctl create-namespace -f destroys whatever it holds; 'kvmtune rollback' "
                + "restores its mode (raw), not its data",
        };
        return new PmemPlan(
            [
                new NamespaceOperation
                {
                    Seq = 1,
                    Section = "4.2",
                    FindingId = "pmem.devdax",
                    Namespace = ns.Name,
                    OriginalMode = "raw",
                    NewMode = "devdax",
                    Align = align is long a ? Sizes.ToQemu(a) : null,
                },
            ],
            notes
        );
    }

    /// <summary>nvdimm_namespace_disk_name() (drivers/nvdimm/namespace_devs.c): pmemX for X.0, else pmemX.Y.</summary>
    private static string DiskName(string ns)
    {
        var (region, index) = (ns[9..].Split('.')[0], ns[9..].Split('.')[1]);
        return index == "0" ? $"pmem{region}" : $"pmem{region}.{index}";
    }

    /// <summary>What uses a pmem disk or its partitions: holders (dm, md), mounts, swap.</summary>
    private static string? InUse(HostReader r, string disk, string block)
    {
        var parts = new List<string> { disk };
        parts.AddRange((r.List(block) ?? []).Where(p => p.StartsWith(disk + "p", StringComparison.Ordinal)));
        foreach (var p in parts)
        {
            var dir = p == disk ? block : $"{block}/{p}";
            if (r.List(dir + "/holders") is { Count: > 0 } holders)
                return $"{p} is held by {string.Join(", ", holders)}";
        }
        foreach (var line in (r.ReadAll("/proc/mounts") ?? "").Split('\n'))
            if (line.Split(' ') is [var dev, var at, ..] && parts.Any(p => dev == "/dev/" + p))
                return $"{dev} is mounted at {at}";
        foreach (var line in (r.ReadAll("/proc/swaps") ?? "").Split('\n').Skip(1))
            if (
                line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var dev, ..]
                && parts.Any(p => dev == "/dev/" + p)
            )
                return $"{dev} is swap";
        return null;
    }

    /// <summary>
    /// A file system, swap, LVM or partition table at the start of the device: the magic numbers blkid looks for
    /// (ext2/3/4 s_magic 0xEF53 at 1080, XFS "XFSB" at 0, btrfs "_BHRfS_M" at 65600, swap "SWAPSPACE2" at 4086,
    /// LVM2 "LABELONE" at 512, GPT "EFI PART" at 512, an MBR's 0x55AA at 510).
    /// </summary>
    public static string? Signature(HostReader r, string device)
    {
        var head = ReadHead(r, device, 65_608);
        if (head is null)
            return null;
        bool At(int offset, string magic) =>
            head.Length >= offset + magic.Length && Encoding.ASCII.GetString(head, offset, magic.Length) == magic;
        bool Bytes(int offset, byte a, byte b) =>
            head.Length > offset + 1 && head[offset] == a && head[offset + 1] == b;
        if (Bytes(1080, 0x53, 0xEF))
            return "an ext2/3/4 file system";
        if (At(0, "XFSB"))
            return "an XFS file system";
        if (At(65600, "_BHRfS_M"))
            return "a btrfs file system";
        if (At(4086, "SWAPSPACE2"))
            return "swap space";
        if (At(512, "LABELONE"))
            return "an LVM physical volume";
        if (At(512, "EFI PART"))
            return "a GPT partition table";
        if (Bytes(510, 0x55, 0xAA))
            return "an MBR partition table";
        return null;
    }

    /// <summary>The first bytes of a device (never all of it); a link in a tree is not followed out of it.</summary>
    private static byte[]? ReadHead(HostReader r, string device, int count)
    {
        var physical = r.Physical(device);
        try
        {
            if (!r.IsLive && new FileInfo(physical).LinkTarget is not null)
                return null;
            using var handle = File.OpenHandle(physical, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[count];
            var total = 0;
            while (total < count)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
                if (n == 0)
                    break;
                total += n;
            }
            return buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The devdax alignment to ask ndctl for: what the region's devdax devices use already, else the kernel's default
    /// for a new one (its dax seed's align); null leaves it to ndctl.
    /// </summary>
    private static long? Alignment(HostReader r, string region)
    {
        var folder = DeviceReader.RegionFolders(r).FirstOrDefault(x => x.Name == region).Path;
        if (folder is null)
            return null;
        foreach (var child in (r.List(folder) ?? []).Where(c => c.StartsWith("dax", StringComparison.Ordinal)).Order())
            if (r.ReadLong($"{folder}/{child}/size") is > 0 && r.ReadLong($"{folder}/{child}/align") is long a and > 0)
                return a;
        return r.ReadText(folder + "/dax_seed") is { Length: > 0 } seed ? r.ReadLong($"{folder}/{seed}/align") : null;
    }

    public static IReadOnlyList<string> Steps(HostFacts f)
    {
        var n = f.Nvdimm;
        var steps = new List<string>();
        var ipmctl = f.Userspace.Tool("ipmctl") is not null;
        var ndctl = f.Userspace.Tool("ndctl") is not null;
        if (!ipmctl || !ndctl)
            steps.Add(
                "apt-get install "
                    + string.Join(' ', new[] { ipmctl ? null : "ipmctl", ndctl ? null : "ndctl" }.OfType<string>())
                    + "   # or your distribution's packages (guide 4.1)"
            );
        if (n.Regions.Count == 0)
        {
            steps.Add("ipmctl show -dimm                                   # the Optane modules and their health");
            steps.Add("ipmctl create -goal PersistentMemoryType=AppDirect  # App Direct mode (guide 4.1)");
            steps.Add("reboot                                              # the goal takes effect at boot");
            steps.Add("ipmctl show -memoryresources                        # AppDirect capacity now shown");
            steps.Add(
                "kvmtune pmem plan                                   # again: the namespace steps for the new regions"
            );
            return steps;
        }
        foreach (var region in n.Regions)
        {
            var inRegion = n.Namespaces.Where(x => x.Region == region.Name).ToList();
            var dax = n.Dax.Where(d => d.Region == region.Name).ToList();
            steps.Add(
                $"# {region.Name}: {(region.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "size unknown")}, "
                    + $"node {region.NumaNode?.ToString() ?? "unknown"}"
            );
            foreach (var d in dax)
            {
                if (IsKmem(d))
                {
                    // Its memory belongs to the host's allocator now: a VM given it would corrupt the host.
                    steps.Add(
                        $"#   {d.DevicePath}: system RAM (kmem, node {d.TargetNode?.ToString() ?? "?"}), "
                            + "not for VMs"
                    );
                    steps.Add(KmemToDevdax(d));
                    continue;
                }
                steps.Add(
                    $"#   {d.DevicePath}: devdax, {(d.SizeBytes is long s2 ? Sizes.ToQemu(s2) : "?")} align "
                        + $"{(d.AlignBytes is long al ? Sizes.ToQemu(al) : "?")}; VM spec: {VmSpecLine(d)}"
                );
            }
            var raw = inRegion
                .Where(x => x.Mode == "raw" && x.Name.StartsWith("namespace", StringComparison.Ordinal))
                .ToList();
            foreach (var ns in raw)
                steps.Add(
                    $"ndctl create-namespace -m dax -e {ns.Name} -f          # {ns.Name} to devdax, "
                        + $"destroying its data (guide 4.2; kvmtune pmem plan --execute --namespace {ns.Name})"
                );
            if (raw.Count == 0 && dax.Count == 0)
                steps.Add(
                    $"ndctl create-namespace -m dax -r {region.Name}          # a devdax namespace on {region.Name} " +
                        "(guide 4.2)"
                );
        }
        steps.Add("ls /dev/dax*                                          # the devdax devices to give VMs");
        return steps;
    }

    /// <summary>A pmem entry vm plan accepts: align at least the device's, size a multiple of it.</summary>
    private static string VmSpecLine(DaxDevice d)
    {
        var align = Math.Max(d.AlignBytes ?? 0, 2L << 20);
        var size = d.SizeBytes is long s ? Sizes.ToQemu(s / align * align) : "?";
        return $"pmem: [ {{ path: {d.DevicePath}, size: {size}, align: {Sizes.ToQemu(align)} }} ]";
    }
}
