using System.Net;
using System.Text;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.Host.Numa;
using Kvmtune.Facts.Parsing;
using Kvmtune.Vms;

namespace Kvmtune.Reports.Svg;

/// <summary>
/// A picture of the host: each NUMA node with its memory and huge pages, its cores as boxes of hardware threads,
/// the devices attached to it, and (with a plan) the CPUs each VM is pinned to and the housekeeping CPUs.
/// Laid out on a grid so nothing overlaps from a 2-CPU guest to a 448-CPU host.
/// </summary>
public sealed class HostSvgRenderer : IReportRenderer<HostFacts>
{
    private const int Cell = 30,
        CellH = 18,
        CoreGap = 6,
        Pad = 12,
        HeaderH = 46,
        DeviceLine = 15,
        MaxCoresPerRow = 16,
        MaxDevices = 8;
    private static readonly string[] VmColours =
    [
        "#4e79a7",
        "#f28e2b",
        "#59a14f",
        "#e15759",
        "#76b7b2",
        "#edc948",
        "#b07aa1",
        "#ff9da7",
        "#9c755f",
        "#bab0ac",
    ];

    public string Name => "svg";

    public string Description => "the host picture: nodes, cores, huge pages, devices";

    public string Render(HostFacts report, RenderContext context) => Render(report, context.Plan());

    public static string Render(HostFacts f, ResolvedPlan? plan = null)
    {
        var byId = f.Cpu.Cpus.ToDictionary(c => c.Id);
        // The housekeeping CPUs and each VM's CPUs are the plan's: the picture draws them, it does not work them out.
        var housekeeping = plan is null ? new HashSet<int>() : plan.Housekeeping.ToHashSet();
        var vmOf = new Dictionary<int, (string Name, string Colour, bool Dedicated)>();
        var vms = plan?.Vms.Select(v => v.Plan).ToList() ?? [];
        for (var i = 0; i < vms.Count; i++)
            foreach (var cpu in vms[i].VcpuPins.SelectMany(p => p.Cpus).Distinct())
                if (vms[i].Dedicated || !vmOf.ContainsKey(cpu))
                    vmOf[cpu] = (vms[i].Name, VmColours[i % VmColours.Length], vms[i].Dedicated);

        // Each node as a block of cores in rows; blocks flow into rows of at most two nodes.
        var blocks = new List<(int Id, string Svg, int W, int H)>();
        var nodes =
            f.Numa.Nodes.Count > 0
                ? f.Numa.Nodes.ToList()
                :
                [
                    new NumaNode(
                        0,
                        f.Cpu.Online,
                        f.Memory.MemTotalKib,
                        f.Memory.MemFreeKib,
                        null,
                        f.Memory.HugepagePools
                    ),
                ];
        foreach (var node in nodes)
        {
            var cores = f.Cpu.CoresAmong(node.Cpus);
            var tpc = Math.Max(1, cores.Select(c => c.Count).DefaultIfEmpty(1).Max());
            var perRow = Math.Max(1, Math.Min(MaxCoresPerRow, cores.Count));
            var coreW = tpc * Cell + CoreGap;
            var rows = (cores.Count + perRow - 1) / perRow;
            var devices = DeviceLabels(f, node.Id).ToList();
            var shown = devices.Take(MaxDevices).ToList();
            if (devices.Count > MaxDevices)
                shown.Add($"+{devices.Count - MaxDevices} more devices");
            var mem = node.MemoryTotalKib is long t
                ? $"{Sizes.HumanKib(t)} memory, {(node.MemoryFreeKib is long fr ? Sizes.HumanKib(fr) : "?")} free"
                : "memory unknown";
            var pools = string.Join(
                ", ",
                node.Hugepages.Where(p => p.Total > 0).Select(p => $"{Sizes.Pages(p.Total, p.SizeKib)} ({p.Free} free)")
            );
            var sub = $"{mem}; huge pages: {(pools.Length == 0 ? "none reserved" : pools)}";
            // Wide enough for the longest text line too (about 7 px a character at 12 px).
            var textW = new[] { sub.Length * 7, 160 + 9 * 14 }.Concat(shown.Select(d => d.Length * 7)).Max() + 2 * Pad;
            var w = Math.Max(Math.Max(360, perRow * coreW + 2 * Pad), textW);
            var h = HeaderH + rows * (CellH + CoreGap) + Pad + shown.Count * DeviceLine + (shown.Count > 0 ? 8 : 0);
            var sb = new StringBuilder();
            sb.Append($"<g id=\"node-{node.Id}\" class=\"numa-node\" data-node=\"{node.Id}\">");
            sb.Append($"<rect class=\"node\" width=\"{w}\" height=\"{h}\" rx=\"6\"/>");
            sb.Append(
                $"<text class=\"title\" x=\"{Pad}\" y=\"18\">NUMA node {node.Id}{Packages(node.Cpus, byId)}</text>"
            );
            sb.Append($"<text class=\"sub\" x=\"{Pad}\" y=\"36\">{Esc(sub)}</text>");
            for (var i = 0; i < cores.Count; i++)
            {
                var x = Pad + i % perRow * coreW;
                var y = HeaderH + i / perRow * (CellH + CoreGap);
                sb.Append(
                    $"<g class=\"core\"><rect class=\"core-box\" x=\"{x - 2}\" y=\"{y - 2}\" " +
                        $"width=\"{cores[i].Count * Cell + 4}\" height=\"{CellH + 4}\" rx=\"3\"/>"
                );
                for (var k = 0; k < cores[i].Count; k++)
                {
                    var cpu = cores[i][k];
                    var cls = housekeeping.Contains(cpu) ? "cpu housekeeping" : "cpu";
                    var fill = vmOf.TryGetValue(cpu, out var vm)
                        ? $" style=\"fill:{vm.Colour}{(vm.Dedicated ? "" : ";fill-opacity:0.45")}\" " +
                            $"data-vm=\"{Esc(vm.Name)}\""
                        : "";
                    sb.Append(
                        $"<rect id=\"cpu-{cpu}\" class=\"{cls}\" data-cpu=\"{cpu}\" x=\"{x + k * Cell}\" y=\"{y}\" " +
                            $"width=\"{Cell - 2}\" height=\"{CellH}\"{fill}><title>CPU " +
                                $"{cpu}{(vm.Name is null ? "" : $": {Esc(vm.Name)}")}"
                                 + $"{(housekeeping.Contains(cpu) ? " (housekeeping)" : "")}</title></rect>"
                    );
                    sb.Append(
                        $"<text class=\"cpu-label\" x=\"{x + k * Cell + (Cell - 2) / 2}\" y=\"{y + 13}\">{cpu}</text>"
                    );
                }
                sb.Append("</g>");
            }
            var dy = HeaderH + rows * (CellH + CoreGap) + 8;
            foreach (var d in shown)
            {
                sb.Append($"<text class=\"device\" x=\"{Pad}\" y=\"{dy + 10}\">{Esc(d)}</text>");
                dy += DeviceLine;
            }
            sb.Append("</g>");
            blocks.Add((node.Id, sb.ToString(), w, h));
        }

        var body = new StringBuilder();
        int cx = 0,
            cy = 0,
            rowH = 0,
            width = 0;
        const int MaxRowW = 1400;
        foreach (var b in blocks)
        {
            if (cx > 0 && cx + b.W > MaxRowW)
            {
                cx = 0;
                cy += rowH + 16;
                rowH = 0;
            }
            body.Append($"<g transform=\"translate({cx},{cy})\">{b.Svg}</g>");
            cx += b.W + 16;
            rowH = Math.Max(rowH, b.H);
            width = Math.Max(width, cx);
        }
        var height = cy + rowH + 16;
        var legend = new StringBuilder();
        var ly = height + 4;
        legend.Append(
            "<text class=\"sub\" x=\"0\" " +
                $"y=\"{ly + 12}\">{Esc($"{f.Cpu.Vendor ?? "CPU"} {f.Cpu.Model ?? ""}".Trim())}: " +
                    $"{f.Cpu.Packages?.ToString() ?? "?"} package(s), {f.Cpu.Cores?.ToString() ?? "?"} cores, " +
                        $"{f.Cpu.Threads?.ToString() ?? "?"} threads</text>"
        );
        ly += 22;
        if (plan is not null)
        {
            legend.Append(
                $"<g class=\"legend\"><rect class=\"cpu housekeeping\" x=\"0\" y=\"{ly}\" width=\"{Cell - 2}\" " +
                    $"height=\"{CellH}\"/><text class=\"sub\" x=\"{Cell + 4}\" y=\"{ly + 13}\">housekeeping CPUs " +
                        "(emulator and I/O threads)</text></g>"
            );
            ly += CellH + 6;
            for (var i = 0; i < vms.Count; i++)
            {
                var v = vms[i];
                // Hovering a VM shows why it sits there and every decision the model made for it.
                var why = string.Join("\n", v.Reasons.Concat(plan.Vms[i].Decisions.Select(d => d.ToString())));
                legend.Append(
                    $"<g class=\"vm\" data-vm=\"{Esc(v.Name)}\"><title>{Esc(why)}</title><rect x=\"0\" y=\"{ly}\" " +
                        $"width=\"{Cell - 2}\" height=\"{CellH}\" " +
                            $"style=\"fill:{VmColours[i % VmColours.Length]}"
                             + $"{(v.Dedicated ? "" : ";fill-opacity:0.45")}\"/>"
                );
                legend.Append(
                    $"<text class=\"sub\" x=\"{Cell + 4}\" y=\"{ly + 13}\">VM {Esc(v.Name)}: node " +
                        $"{string.Join(", ", v.Nodes)}, {(v.Dedicated ? "dedicated" : "shared")} CPUs " +
                            $"{CpuList.Format(v.VcpuPins.SelectMany(p => p.Cpus).Distinct())}</text></g>"
                );
                ly += CellH + 6;
            }
            foreach (var u in plan.Unplaced)
            {
                legend.Append(
                    $"<text class=\"sub unplaced\" data-vm=\"{Esc(u.Name)}\" x=\"0\" y=\"{ly + 13}\">VM " +
                        $"{Esc(u.Name)} not placed: {Esc(u.Reason)}</text>"
                );
                ly += CellH + 6;
                foreach (var fix in u.Fixes ?? [])
                {
                    var command = fix.Command is { } c ? ": " + string.Join(' ', c.Select(QemuCommand.Quote)) : "";
                    legend.Append(
                        $"<text class=\"sub fix\" data-vm=\"{Esc(u.Name)}\" x=\"{Cell + 4}\" y=\"{ly + 13}\">fix: " +
                            $"{Esc(fix.Text + command)}</text>"
                    );
                    ly += CellH + 6;
                }
            }
        }
        var totalH = ly + 8;
        var totalW = Math.Max(width, 480);
        return $"""
            <svg xmlns="http://www.w3.org/2000/svg" class="host-picture" width="{totalW}" height="{totalH}"
              viewBox="0 0 {totalW} {totalH}" font-family="DejaVu Sans, Verdana, sans-serif">
            <style>
            .node {"{"} fill: #f7f7f7; stroke: #555; stroke-width: 1 {"}"}
            .title {"{"} font-size: 14px; font-weight: bold; fill: #222 {"}"}
            .sub, .device {"{"} font-size: 12px; fill: #333 {"}"}
            .core-box {"{"} fill: none; stroke: #999; stroke-width: 1 {"}"}
            .cpu {"{"} fill: #ffffff; stroke: #777; stroke-width: 0.5 {"}"}
            .cpu.housekeeping {"{"} fill: #c8c8c8 {"}"}
            .cpu-label {"{"} font-size: 11px; text-anchor: middle; fill: #111; pointer-events: none {"}"}
            .unplaced {"{"} fill: #b00020 {"}"}
            </style>
            {body}{legend}
            </svg>
            """;
    }

    private static string Packages(IReadOnlyList<int> cpus, IReadOnlyDictionary<int, LogicalCpu> byId)
    {
        var packages = cpus.Select(c => byId.TryGetValue(c, out var cpu) ? cpu.Package : null)
            .OfType<int>()
            .Distinct()
            .Order()
            .ToList();
        return packages.Count == 0 ? "" : $" (package {string.Join(", ", packages)})";
    }

    private static IEnumerable<string> DeviceLabels(HostFacts f, int node)
    {
        foreach (
            var p in f.Pci.Where(p => p.PlacementNode == node && p.IsOfInterest())
        )
        {
            var names = f
                .Net.Where(n => n.Pci == p.Address)
                .Select(n => n.Name)
                .Concat(f.Block.Where(b => b.Pci == p.Address).Select(b => b.Name))
                .ToList();
            var named = names.Count > 0 ? " (" + string.Join(", ", names) + ")" : "";
            yield return $"{p.Address} {(p.Category ?? "device")} {p.Driver ?? ""}{named}";
        }
        foreach (var d in f.Nvdimm.Dax.Where(d => d.NumaNode == node))
            yield return $"{d.DevicePath} DAX {(d.SizeBytes is long s ? Sizes.HumanKib(s / 1024) : "")}";
    }

    internal static string Esc(string s) => WebUtility.HtmlEncode(s);
}
