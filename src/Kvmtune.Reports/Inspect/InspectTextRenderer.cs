using System.Globalization;
using System.Text;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Reports.Inspect;

/// <summary>
/// <c>inspect</c> for people: a <c>numactl -H</c>-style summary, then each node with its cores, threads,
/// huge pages and devices, then memory, power, kernel and virtualization. Unknown facts print as "unknown".
/// </summary>
public sealed class InspectTextRenderer : IReportRenderer<HostFacts>
{
    private const string Unknown = "unknown";

    public string Name => "text";

    public string Description => "for people, node by node";

    public string Render(HostFacts report, RenderContext context) => Render(report, context.Style);

    public static string Render(HostFacts f, TextStyle style)
    {
        var sb = new StringBuilder();
        var c = f.Cpu;
        var v = f.Virtualization;
        sb.Append(style.Bold("Machine")).Append(": role ").Append(InspectDocument.RoleName(v.Role));
        if (v.Hypervisor is not null)
            sb.Append(" (").Append(v.Hypervisor).Append(')');
        sb.AppendLine();
        sb.Append(style.Bold("CPU"))
            .Append(": ")
            .Append(c.Vendor ?? Unknown)
            .Append(' ')
            .Append(c.Model ?? "")
            .Append(c.Model is null ? "" : " ")
            .Append('(')
            .Append(c.Architecture ?? "architecture unknown")
            .Append(")\n");
        sb.Append("  packages ")
            .Append(N(c.Packages))
            .Append(", dies ")
            .Append(N(c.Dies))
            .Append(", cores ")
            .Append(N(c.Cores))
            .Append(", threads ")
            .Append(N(c.Threads))
            .Append(", SMT ")
            .Append(
                c.SmtActive switch
                {
                    true => "active",
                    false => "inactive",
                    _ => Unknown,
                }
            )
            .Append(", virtualization ")
            .Append(c.Virtualization ?? (c.Flags.Count == 0 ? Unknown : "none"))
            .AppendLine();
        sb.Append("  online ")
            .Append(List(c.Online))
            .Append(", offline ")
            .Append(c.Offline.Count == 0 ? "none" : List(c.Offline))
            .AppendLine();

        RenderNumactl(sb, f, style);
        RenderTopology(sb, f, style);
        RenderMemory(sb, f, style);
        RenderPower(sb, f, style);
        RenderKernel(sb, f, style);
        RenderVirtualization(sb, f, style);
        // Every fact is text from the machine (or a tree someone handed us): no control character reaches the terminal.
        return style.Terminal(sb.ToString());
    }

    private static void RenderNumactl(StringBuilder sb, HostFacts f, TextStyle style)
    {
        var nodes = f.Numa.Nodes;
        sb.AppendLine()
            .Append(style.Bold("NUMA"))
            .Append(f.Numa.Synthesized ? " (no NUMA support in the kernel: one node)" : "")
            .AppendLine();
        if (nodes.Count == 0)
        {
            sb.AppendLine("  available: unknown (no node information)");
            return;
        }
        sb.Append("  available: ")
            .Append(nodes.Count)
            .Append(" nodes (")
            .Append(CpuList.Format(nodes.Select(n => n.Id)))
            .AppendLine(")");
        foreach (var n in nodes)
        {
            sb.Append("  node ")
                .Append(n.Id)
                .Append(" cpus:")
                .Append(n.Cpus.Count == 0 ? "" : " " + string.Join(' ', n.Cpus))
                .AppendLine();
            sb.Append("  node ")
                .Append(n.Id)
                .Append(" size: ")
                .Append(n.MemoryTotalKib is long t ? $"{t / 1024} MB" : Unknown)
                .AppendLine();
            sb.Append("  node ")
                .Append(n.Id)
                .Append(" free: ")
                .Append(n.MemoryFreeKib is long fr ? $"{fr / 1024} MB" : Unknown)
                .AppendLine();
        }
        sb.AppendLine("  node distances:");
        sb.Append("  node ")
            .Append(string.Concat(nodes.Select(n => n.Id.ToString(CultureInfo.InvariantCulture).PadLeft(4))))
            .AppendLine();
        foreach (var n in nodes)
        {
            sb.Append("  ").Append(n.Id.ToString(CultureInfo.InvariantCulture).PadLeft(3)).Append(':');
            for (var i = 0; i < nodes.Count; i++)
                sb.Append(
                    (n.Distances is { } d && i < d.Count ? d[i].ToString(CultureInfo.InvariantCulture) : "?").PadLeft(4)
                );
            sb.AppendLine();
        }
        if (f.Numa.NumaBalancing is int nb)
            sb.Append("  automatic NUMA balancing: ").Append(nb == 0 ? "off" : "on").AppendLine();
        else
            sb.AppendLine("  automatic NUMA balancing: unknown");
    }

    private static void RenderTopology(StringBuilder sb, HostFacts f, TextStyle style)
    {
        sb.AppendLine().AppendLine(style.Bold("Topology"));
        var byId = f.Cpu.Cpus.ToDictionary(x => x.Id);
        var nodes = f.Numa.Nodes.ToList();
        var placed = nodes.SelectMany(n => n.Cpus).ToHashSet();
        var orphanCpus = f.Cpu.Online.Where(id => !placed.Contains(id)).ToList();
        var groups = nodes.Select(n => (Label: $"node {n.Id}", Node: (NumaNode?)n, Cpus: n.Cpus)).ToList();
        if (orphanCpus.Count > 0)
            groups.Add(("CPUs in no node", null, orphanCpus));
        for (var gi = 0; gi < groups.Count; gi++)
        {
            var (label, node, cpus) = groups[gi];
            var lastGroup = gi == groups.Count - 1 && !f.Pci.Any(p => p.PlacementNode is null && Interesting(p));
            sb.Append(lastGroup ? "└─ " : "├─ ").Append(style.Cyan(label));
            if (node is not null)
                sb.Append(": ")
                    .Append(node.MemoryTotalKib is long t ? Sizes.HumanKib(t) : "memory unknown")
                    .Append(node.MemoryFreeKib is long fr ? $", {Sizes.HumanKib(fr)} free" : "");
            sb.AppendLine();
            var indent = lastGroup ? "   " : "│  ";
            var lines = new List<string>();
            // cores: CPUs that share thread siblings, in order of their first CPU
            foreach (var siblings in f.Cpu.CoresAmong(cpus))
            {
                byId.TryGetValue(siblings[0], out var cpu);
                var package = cpu?.Package is int p ? $"package {p}" : "package ?";
                var core = cpu?.Core is int co ? $"core {co}" : "core ?";
                lines.Add(
                    $"{package} {core}: {(siblings.Count == 1 ? "thread" : "threads")} {string.Join(' ', siblings)}"
                );
            }
            if (cpus.Count == 0)
                lines.Add("no CPUs (memory only)");
            if (node is not null)
            {
                var pools = node.Hugepages.Count == 0 ? Unknown : string.Join(", ", node.Hugepages.Select(Pool));
                lines.Add($"huge pages: {pools}");
            }
            foreach (var d in DeviceLines(f, node?.Id))
                lines.Add(d);
            for (var i = 0; i < lines.Count; i++)
                sb.Append(indent).Append(i == lines.Count - 1 ? "└─ " : "├─ ").AppendLine(lines[i]);
        }
        var homeless = DeviceLines(f, null).ToList();
        if (homeless.Count > 0)
        {
            sb.AppendLine("└─ devices with no NUMA node");
            for (var i = 0; i < homeless.Count; i++)
                sb.Append("   ").Append(i == homeless.Count - 1 ? "└─ " : "├─ ").AppendLine(homeless[i]);
        }
    }

    private static string Pool(HugePagePool p) =>
        $"{Sizes.HumanKib(p.SizeKib)} {N(p.Total)} total, {N(p.Free)} free"
        + (p.Surplus is > 0 ? $", {p.Surplus} surplus" : "");

    /// <summary>Devices worth an administrator's eye on a node: NICs, storage, accelerators, SR-IOV functions,
    /// DAX.</summary>
    private static IEnumerable<string> DeviceLines(HostFacts f, int? node)
    {
        var pci = f.Pci.Where(p => p.PlacementNode == node).ToList();
        foreach (var p in pci.Where(Interesting))
        {
            var names = f
                .Net.Where(n => n.Pci == p.Address)
                .Select(n => n.Name)
                .Concat(f.Block.Where(b => b.Pci == p.Address).Select(b => b.Name))
                .ToList();
            var line = new StringBuilder($"{p.Address} {ClassName(p)} {p.Vendor ?? "?"}:{p.Device ?? "?"}");
            line.Append(" driver ").Append(p.Driver ?? "none");
            if (p.IommuGroup is int g)
                line.Append(", iommu group ").Append(g);
            if (p.SriovTotalvfs is int tv)
                line.Append(", SR-IOV ").Append(N(p.SriovNumvfs)).Append('/').Append(tv).Append(" VFs");
            if (p.Physfn is not null)
                line.Append(", VF of ").Append(p.Physfn);
            if (names.Count > 0)
                line.Append(" (").Append(string.Join(", ", names)).Append(')');
            yield return line.ToString();
        }
        var others = pci.Count(p => !Interesting(p));
        if (others > 0)
            yield return $"{others} other PCI functions (bridges, chipset)";
        foreach (var d in f.Nvdimm.Dax.Where(d => d.NumaNode == node))
            yield return $"{d.DevicePath} DAX {(d.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "size unknown")}, " +
                $"align {(d.AlignBytes is long a ? Sizes.HumanKib(a / 1024) : Unknown)}, driver {d.Driver ?? "none"}";
    }

    /// <summary>The devices of interest, and in the text each VF as well (the picture leaves VFs out).</summary>
    private static bool Interesting(PciDevice p) => p.IsOfInterest() || p.Physfn is not null;

    private static string ClassName(PciDevice p) => p.Category ?? p.Class ?? "device";

    private static void RenderMemory(StringBuilder sb, HostFacts f, TextStyle style)
    {
        var m = f.Memory;
        sb.AppendLine().AppendLine(style.Bold("Memory"));
        sb.Append("  total ")
            .Append(m.MemTotalKib is long t ? Sizes.HumanKib(t) : Unknown)
            .Append(", free ")
            .Append(m.MemFreeKib is long fr ? Sizes.HumanKib(fr) : Unknown)
            .AppendLine();
        sb.Append("  transparent huge pages: enabled ")
            .Append(m.Thp.Enabled ?? Unknown)
            .Append(", defrag ")
            .Append(m.Thp.Defrag ?? Unknown)
            .AppendLine();
        sb.Append("  static huge pages: default size ")
            .Append(m.DefaultHugepageKib is long d ? Sizes.HumanKib(d) : Unknown)
            .Append("; ")
            .Append(m.HugepagePools.Count == 0 ? "pools unknown" : string.Join(", ", m.HugepagePools.Select(Pool)))
            .AppendLine();
        sb.Append("  hugetlbfs mounts: ")
            .Append(
                m.HugetlbfsMounts.Count == 0
                    ? "none"
                    : string.Join(
                        ", ",
                        m.HugetlbfsMounts.Select(x =>
                            $"{x.Path} ({(x.PageSizeKib is long s ? Sizes.HumanKib(s) : "size unknown")})"
                        )
                    )
            )
            .AppendLine();
        var k = m.Ksm;
        sb.Append("  KSM: run ")
            .Append(N(k.Run))
            .Append(", pages_to_scan ")
            .Append(N(k.PagesToScan))
            .Append(", sleep_millisecs ")
            .Append(N(k.SleepMillisecs))
            .Append(", max_page_sharing ")
            .Append(N(k.MaxPageSharing))
            .Append(", pages_shared ")
            .Append(N(k.PagesShared))
            .Append(", pages_sharing ")
            .Append(N(k.PagesSharing))
            .AppendLine();
        var n = f.Nvdimm;
        if (n.Regions.Count > 0 || n.Dax.Count > 0)
        {
            sb.Append("  persistent memory: ")
                .Append(n.Regions.Count)
                .Append(" regions, ")
                .Append(n.Namespaces.Count)
                .Append(" namespaces, ")
                .Append(n.Dax.Count)
                .AppendLine(" DAX devices");
            foreach (var ns in n.Namespaces)
                sb.Append("    ")
                    .Append(ns.Region)
                    .Append('/')
                    .Append(ns.Name)
                    .Append(": ")
                    .Append(ns.Mode ?? Unknown)
                    .Append(", ")
                    .Append(ns.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : Unknown)
                    .AppendLine();
        }
    }

    private static void RenderPower(StringBuilder sb, HostFacts f, TextStyle style)
    {
        var p = f.Power;
        sb.AppendLine().AppendLine(style.Bold("Power"));
        var online = f.Cpu.Cpus.Where(x => x.Online).ToList();
        sb.Append("  cpufreq: ")
            .Append(Summary(online, x => x.CpufreqDriver, "driver"))
            .Append("; ")
            .Append(Summary(online, x => x.Governor, "governor"))
            .AppendLine();
        sb.Append("  intel_pstate ")
            .Append(p.IntelPstateStatus ?? Unknown)
            .Append(", no_turbo ")
            .Append(B(p.NoTurbo))
            .Append(", boost ")
            .Append(B(p.Boost))
            .Append(", EPP ")
            .Append(Summary(online, x => x.EnergyPerformancePreference, null))
            .Append(", EPB ")
            .Append(Summary(online, x => x.EnergyPerfBias?.ToString(CultureInfo.InvariantCulture), null))
            .AppendLine();
        sb.Append("  cpuidle: driver ")
            .Append(p.CpuidleDriver ?? Unknown)
            .Append(", governor ")
            .Append(p.CpuidleGovernor ?? Unknown)
            .AppendLine();
        foreach (var s in p.IdleStates)
            sb.Append("    state")
                .Append(s.Index)
                .Append(' ')
                .Append(s.Name ?? "?")
                .Append(": latency ")
                .Append(s.LatencyUs is long l ? $"{l} us" : Unknown)
                .Append(", disabled on ")
                .Append(s.DisabledOn.Count == 0 ? "none" : List(s.DisabledOn))
                .AppendLine();
    }

    private static void RenderKernel(StringBuilder sb, HostFacts f, TextStyle style)
    {
        var k = f.Kernel;
        sb.AppendLine().AppendLine(style.Bold("Kernel"));
        sb.Append("  release ")
            .Append(k.Release ?? Unknown)
            .Append(", config ")
            .Append(k.Config?.Source ?? "not found")
            .AppendLine();
        sb.Append("  command line: ")
            .Append(
                k.CommandLine?.Arguments is { } a
                    ? string.Join(' ', a.Select(x => x.Value is null ? x.Key : $"{x.Key}={x.Value}"))
                    : Unknown
            )
            .AppendLine();
        foreach (var (module, ps) in k.ModuleParameters)
            if (ps.Count > 0)
                sb.Append("  ")
                    .Append(module)
                    .Append(": ")
                    .Append(string.Join(' ', ps.Select(kv => $"{kv.Key}={kv.Value}")))
                    .AppendLine();
    }

    private static void RenderVirtualization(StringBuilder sb, HostFacts f, TextStyle style)
    {
        var v = f.Virtualization;
        sb.AppendLine().AppendLine(style.Bold("Virtualization"));
        sb.Append("  role ")
            .Append(InspectDocument.RoleName(v.Role))
            .Append(v.RoleEvidence.Count > 0 ? " (" + string.Join("; ", v.RoleEvidence) + ")" : "")
            .AppendLine();
        foreach (var d in new[] { v.Kvm, v.VhostNet, v.Tun, v.Vfio })
            sb.Append("  ")
                .Append(d.Path)
                .Append(": ")
                .Append(d.Exists ? $"present, mode {d.Mode}" : "absent")
                .AppendLine();
        var i = v.Iommu;
        sb.Append("  IOMMU: DMAR table ")
            .Append(B(i.DmarTable))
            .Append(", IVRS table ")
            .Append(B(i.IvrsTable))
            .Append(", groups ")
            .Append(N(i.Groups))
            .Append(", units ")
            .Append(
                i.Units is null ? Unknown
                : i.Units.Count == 0 ? "none"
                : string.Join(' ', i.Units)
            )
            .AppendLine();
        sb.Append("  cgroup v")
            .Append(v.CgroupVersion ?? "?")
            .Append(" controllers: ")
            .Append(v.CgroupControllers is null ? Unknown : string.Join(' ', v.CgroupControllers))
            .AppendLine();
    }

    private static string Summary(IReadOnlyList<LogicalCpu> cpus, Func<LogicalCpu, string?> value, string? noun)
    {
        var groups = cpus.GroupBy(c => value(c) ?? Unknown).ToList();
        var prefix = noun is null ? "" : noun + " ";
        if (groups.Count == 0)
            return prefix + Unknown;
        if (groups.Count == 1)
            return prefix + groups[0].Key;
        return prefix + string.Join(", ", groups.Select(g => $"{g.Key} on {CpuList.Format(g.Select(c => c.Id))}"));
    }

    private static string N(long? v) => v?.ToString(CultureInfo.InvariantCulture) ?? Unknown;

    private static string N(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? Unknown;

    private static string B(bool? v) =>
        v switch
        {
            true => "yes",
            false => "no",
            _ => Unknown,
        };

    private static string List(IReadOnlyList<int> cpus) => cpus.Count == 0 ? "none" : CpuList.Format(cpus);
}
