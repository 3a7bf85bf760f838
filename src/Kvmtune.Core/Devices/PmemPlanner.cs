using Kvmtune.Core.Host;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Devices;

/// <summary>Guide 4.1 and 4.2 for this machine: the ipmctl and ndctl steps with its real region and namespace names.</summary>
public static class PmemPlanner
{
    /// <summary>
    /// The namespaces <c>pmem plan --execute</c> turns into devdax (guide 4.2): every raw namespace that is in use
    /// (non-zero size) and not claimed, as journaled operations run through ndctl.
    /// </summary>
    public static IReadOnlyList<Changes.Operation> DevdaxOperations(HostFacts f, string? only)
    {
        var ndctl = f.Userspace.Tool("ndctl") ?? throw new Changes.RefusedException("ndctl is not installed (apt-get install ndctl)");
        var raw = f.Nvdimm.Namespaces.Where(n => n.Mode == "raw" && n.Name.StartsWith("namespace", StringComparison.Ordinal) && (only is null || n.Name == only)).ToList();
        if (only is not null && raw.Count == 0) throw new InputException(null, null, "--namespace", $"{only} is not a raw namespace on this machine");
        _ = ndctl; // ndctl is run from the system's own folders, never from a path read from input
        return raw.Select((n, i) => (Changes.Operation)new Changes.NamespaceOperation
        {
            Seq = i + 1, Section = "4.2", FindingId = "pmem.devdax", Namespace = n.Name, OriginalMode = "raw", NewMode = "devdax",
        }).ToList();
    }

    public static IReadOnlyList<string> Steps(HostFacts f)
    {
        var n = f.Nvdimm;
        var steps = new List<string>();
        var ipmctl = f.Userspace.Tool("ipmctl") is not null;
        var ndctl = f.Userspace.Tool("ndctl") is not null;
        if (!ipmctl || !ndctl) steps.Add($"apt-get install {string.Join(' ', new[] { ipmctl ? null : "ipmctl", ndctl ? null : "ndctl" }.OfType<string>())}   # or your distribution's packages (guide 4.1)");
        if (n.Regions.Count == 0)
        {
            steps.Add("ipmctl show -dimm                                   # the Optane modules and their health");
            steps.Add("ipmctl create -goal PersistentMemoryType=AppDirect  # App Direct mode (guide 4.1)");
            steps.Add("reboot                                              # the goal takes effect at boot");
            steps.Add("ipmctl show -memoryresources                        # AppDirect capacity now shown");
            steps.Add("kvmtune pmem plan                                   # again: the namespace steps for the new regions");
            return steps;
        }
        foreach (var region in n.Regions)
        {
            var inRegion = n.Namespaces.Where(x => x.Region == region.Name).ToList();
            var devdax = n.Dax.Where(d => d.Region == region.Name).ToList();
            steps.Add($"# {region.Name}: {(region.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "size unknown")}, node {region.NumaNode?.ToString() ?? "unknown"}");
            foreach (var d in devdax)
                steps.Add($"#   {d.DevicePath}: devdax, {(d.SizeBytes is long s2 ? Sizes.ToQemu(s2) : "?")} align {(d.AlignBytes is long al ? Sizes.ToQemu(al) : "?")}; VM spec: pmem: [ {{ path: {d.DevicePath}, size: {(d.SizeBytes is long s3 ? Sizes.ToQemu(s3 / (2L << 20) * (2L << 20)) : "?")}, align: {(d.AlignBytes is long a2 ? Sizes.ToQemu(a2) : "2M")} }} ]");
            var raw = inRegion.Where(x => x.Mode == "raw" && x.Name.StartsWith("namespace", StringComparison.Ordinal)).ToList();
            foreach (var ns in raw)
                steps.Add($"ndctl create-namespace -m dax -e {ns.Name} -f          # {ns.Name} to devdax (guide 4.2)");
            if (raw.Count == 0 && devdax.Count == 0)
                steps.Add($"ndctl create-namespace -m dax -r {region.Name}          # a devdax namespace on {region.Name} (guide 4.2)");
        }
        steps.Add("ls /dev/dax*                                          # the devdax devices to give VMs");
        return steps;
    }
}
