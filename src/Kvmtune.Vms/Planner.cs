using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms;

/// <summary>
/// Places VMs on NUMA nodes: device locality first, then free huge pages of the asked size, then free whole
/// cores; a VM too big for any node spans the fewest nodes that hold it. Greedy best fit, in order; where that
/// leaves a VM out and the case is small, an exhaustive search over single-node choices tries again.
/// </summary>
public sealed partial class Planner(HostModel host, DeviceLocator devices)
{
    private const int ExhaustiveVms = 10;
    private const int ExhaustiveNodes = 8;
    private readonly HostModel _host = host;

    public Planner(HostFacts facts)
        : this(HostModel.From(facts), DeviceLocator.From(facts)) { }

    private readonly DeviceLocator _devices = devices;

    /// <summary>What is still free while planning; cloned for the exhaustive search.</summary>
    private sealed class State
    {
        public HashSet<int> Dedicated { get; init; } = [];
        public Dictionary<(int Node, long Size), long> PagesUsed { get; init; } = [];
        public Dictionary<int, long> MemoryUsed { get; init; } = [];

        public State Clone() =>
            new()
            {
                Dedicated = [.. Dedicated],
                PagesUsed = new(PagesUsed),
                MemoryUsed = new(MemoryUsed),
            };
    }

    private sealed record Need(
        VmSpec Spec,
        int CoresNeeded,
        int ThreadsPerVcpuCore,
        int? RequiredNode,
        IReadOnlyList<DevicePlacement> Devices,
        IReadOnlyList<string> Reasons
    );

    public PlacementPlan Plan(IReadOnlyList<VmSpec> specs)
    {
        var needs = specs.Select(ToNeed).ToList();
        var state = new State();
        var placed = new Dictionary<string, (List<(int Node, List<int> Cpus)> Parts, string Why)>();
        var unplaced = new List<UnplacedVm>();
        foreach (var need in needs)
        {
            if (TryPlace(need, state, out var result, out var why))
                placed[need.Spec.Name] = result;
            else
                unplaced.Add(new UnplacedVm(need.Spec.Name, why, Fixes(need, state)));
        }
        if (
            (unplaced.Count > 0 || placed.Values.Any(p => p.Parts.Count > 1))
            && specs.Count <= ExhaustiveVms
            && _host.Nodes.Count <= ExhaustiveNodes
        )
        {
            var assignment = new int[needs.Count];
            if (Search(needs, 0, new State(), assignment))
            {
                state = new State();
                placed.Clear();
                unplaced.Clear();
                for (var i = 0; i < needs.Count; i++)
                {
                    var node = _host.Nodes.First(n => n.Id == assignment[i]);
                    var cpus = Take(needs[i], node, state);
                    placed[needs[i].Spec.Name] = (
                        [(node.Id, cpus)],
                        $"node {node.Id} chosen by an exhaustive search: in the given order a VM found no single node"
                    );
                }
            }
        }
        var vms = needs
            .Where(n => placed.ContainsKey(n.Spec.Name))
            .Select(n => Describe(n, placed[n.Spec.Name], state))
            .ToList();
        return new PlacementPlan(PlacementPlan.SchemaName, vms, unplaced);
    }

    private bool Search(List<Need> needs, int i, State state, int[] assignment)
    {
        if (i == needs.Count)
            return true;
        foreach (var node in Candidates(needs[i]))
        {
            if (!Fits(needs[i], node, state, 1))
                continue;
            var next = state.Clone();
            Take(needs[i], node, next);
            assignment[i] = node.Id;
            if (Search(needs, i + 1, next, assignment))
                return true;
        }
        return false;
    }

    private Need ToNeed(VmSpec s)
    {
        var placements = new List<DevicePlacement>();
        var reasons = new List<string>();
        foreach (var p in s.Passthrough)
            placements.Add(new DevicePlacement("passthrough", p.Pci, _devices.Pci(p.Pci)));
        foreach (var p in s.Pmem)
            placements.Add(new DevicePlacement("pmem", p.Path, _devices.Dax(p.Path)));
        foreach (var n in s.Nics.Where(n => n.Link is not null))
            placements.Add(new DevicePlacement("nic", n.Link!, _devices.Net(n.Link!)));
        foreach (
            var d in s.Disks.Where(d =>
                d.Path.StartsWith("/dev/", StringComparison.Ordinal) && _devices.HasBlock(d.Path[5..])
            )
        )
            placements.Add(new DevicePlacement("disk", d.Path, _devices.Block(d.Path[5..])));
        int? required = s.NumaNode;
        if (required is not null)
            reasons.Add($"numa_node {required} given in the spec");
        // The README's order: passthrough, DAX, the NIC named by link, block placements; the first that knows its node
        // wins.
        var located = placements.Where(d => d.Node is not null).ToList();
        if (required is null && located.Count > 0)
        {
            var first = located[0];
            required = first.Node;
            reasons.Add(
                $"node {required}: where {first.Kind} {first.Id} sits (guide 3.2.1; order: passthrough, DAX, NIC "
                    + "link, block)"
            );
            foreach (var other in located.Skip(1).Where(d => d.Node != required))
                reasons.Add($"{other.Kind} {other.Id} on node {other.Node} will be reached across nodes");
        }
        var tpc = _host.ThreadsPerCore;
        var threads = s.DedicatedCpus && tpc > 1 && s.Vcpus % tpc == 0 ? tpc : 1;
        var cores = s.DedicatedCpus ? s.Vcpus / threads : 0;
        if (s.DedicatedCpus && threads == 1 && tpc > 1)
            reasons.Add($"{s.Vcpus} vCPUs do not fill whole {tpc}-thread cores: one vCPU per core, siblings left idle");
        return new Need(s, cores, threads, required, placements, reasons);
    }

    private IEnumerable<NodeModel> Candidates(Need n) =>
        n.RequiredNode is int r ? _host.Nodes.Where(x => x.Id == r) : _host.Nodes;

    /// <summary>
    /// Free whole cores of a node a VM may take: not housekeeping, not taken, inside its cpuset, with at least the
    /// threads each guest core needs (hybrid hosts, an offline sibling); smallest cores first, so a one-thread
    /// vCPU does not waste a sibling.
    /// </summary>
    private static List<int[]> FreeCores(NodeModel node, State state, VmSpec spec, int threads = 1)
    {
        var free = new List<int[]>();
        foreach (var c in node.Cores)
            if (IsFree(c, node, state, spec, threads))
                free.Add(c);
        // A stable sort, as OrderBy was: equal sizes keep the node's order.
        return [.. free.OrderBy(c => c.Length)];
    }

    /// <summary><see cref="FreeCores"/>'s count without the list, stopping at <paramref name="enough"/>.</summary>
    private static int CountFreeCores(NodeModel node, State state, VmSpec spec, int threads, int enough = int.MaxValue)
    {
        var free = 0;
        foreach (var c in node.Cores)
            if (IsFree(c, node, state, spec, threads) && ++free >= enough)
                break;
        return free;
    }

    private static bool IsFree(int[] core, NodeModel node, State state, VmSpec spec, int threads)
    {
        if (core.Length < threads)
            return false;
        foreach (var t in core)
            if (
                state.Dedicated.Contains(t)
                || Contains(node.Housekeeping, t)
                || spec.Cpuset is { } set && !Contains(set, t)
            )
                return false;
        return true;
    }

    private static bool Contains(IReadOnlyList<int> list, int value)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] == value)
                return true;
        return false;
    }

    /// <summary>
    /// Whether a share of a VM (1/parts of it) fits on a node: <see cref="Shortage"/>'s test without its sentence,
    /// which is only written for a VM that fits nowhere (10,000 VMs on 32 nodes ask this millions of times).
    /// </summary>
    private static bool Fits(Need n, NodeModel node, State state, int parts)
    {
        var s = n.Spec;
        if (s.DedicatedCpus)
        {
            var cores = (n.CoresNeeded + parts - 1) / parts;
            if (CountFreeCores(node, state, s, n.ThreadsPerVcpuCore, cores) < cores)
                return false;
        }
        else if (!AnyShareableCpu(node, state, s))
            return false;
        var memKib = s.MemoryKib / parts;
        if (s.HugepageKib is long page)
            return node.FreeHugepages.GetValueOrDefault(page) - state.PagesUsed.GetValueOrDefault((node.Id, page))
                >= (memKib + page - 1) / page;
        return node.FreeMemoryKib - state.MemoryUsed.GetValueOrDefault(node.Id) >= memKib;
    }

    private static bool AnyShareableCpu(NodeModel node, State state, VmSpec s)
    {
        foreach (var c in node.Cpus)
            if (!state.Dedicated.Contains(c) && (s.Cpuset is null || Contains(s.Cpuset, c)))
                return true;
        return false;
    }

    /// <summary>Why a share of a VM (1/parts of it) does not fit on a node, or null when it does.</summary>
    private string? Shortage(Need n, NodeModel node, State state, int parts)
    {
        var s = n.Spec;
        var cores = (n.CoresNeeded + parts - 1) / parts;
        if (s.DedicatedCpus)
        {
            var free = CountFreeCores(node, state, s, n.ThreadsPerVcpuCore);
            var kind = n.ThreadsPerVcpuCore > 1 ? $"{n.ThreadsPerVcpuCore}-thread cores" : "cores";
            if (free < cores)
                return $"node {node.Id}: {free} free whole {kind} (housekeeping {CpuList.Format(node.Housekeeping)} "
                    + $"excluded), needs {cores}";
        }
        else if (!AnyShareableCpu(node, state, s))
            return $"node {node.Id}: no CPU left that is not dedicated to another VM";
        var memKib = s.MemoryKib / parts;
        if (s.HugepageKib is long page)
        {
            var pages = (memKib + page - 1) / page;
            var free = node.FreeHugepages.GetValueOrDefault(page) - state.PagesUsed.GetValueOrDefault((node.Id, page));
            if (free < pages)
                return $"node {node.Id}: {Math.Max(free, 0)} free {Sizes.HumanKib(page)} pages, needs {pages}";
        }
        else
        {
            var free = node.FreeMemoryKib - state.MemoryUsed.GetValueOrDefault(node.Id);
            if (free < memKib)
                return $"node {node.Id}: {Sizes.HumanKib(Math.Max(free, 0))} free memory, needs "
                    + $"{Sizes.HumanKib(memKib)}";
        }
        return null;
    }

    private bool TryPlace(
        Need n,
        State state,
        out (List<(int Node, List<int> Cpus)> Parts, string Why) result,
        out string why
    )
    {
        result = default;
        var candidates = Candidates(n).ToList();
        var fitting = candidates.Where(node => Fits(n, node, state, 1)).ToList();
        if (fitting.Count > 0)
        {
            // Best fit: the node left with the fewest free cores (dedicated) or the most free memory (shared).
            var node = n.Spec.DedicatedCpus
                ? fitting
                    .OrderBy(x => CountFreeCores(x, state, n.Spec, n.ThreadsPerVcpuCore) - n.CoresNeeded)
                    .ThenBy(x => x.Id)
                    .First()
                : fitting
                    .OrderByDescending(x => x.FreeMemoryKib - state.MemoryUsed.GetValueOrDefault(x.Id))
                    .ThenBy(x => x.Id)
                    .First();
            result = (
                [(node.Id, Take(n, node, state))],
                n.RequiredNode is null
                    ? $"node {node.Id}: fits, best of {fitting.Count} node(s) with room"
                    : $"node {node.Id}"
            );
            why = "";
            return true;
        }
        if (n.Spec.NumaNode is null)
        {
            // Too big for one node: span the fewest nodes, most room first (the device's node first where a
            // device chose it), each taking an equal share.
            for (var parts = 2; parts <= _host.Nodes.Count; parts++)
            {
                // What rules a split out without looking at the nodes first: most VMs that fit nowhere stop here.
                if (n.Spec.Vcpus < parts || n.CoresNeeded % parts != 0 && n.Spec.DedicatedCpus)
                    continue;
                if (n.Spec.HugepageKib is long pg && n.Spec.MemoryKib / pg < parts)
                    continue; // a node would get no page
                var fit = _host.Nodes.Where(x => Fits(n, x, state, parts)).ToList();
                if (fit.Count < parts)
                    continue;
                var set = fit.OrderByDescending(x => x.Id == n.RequiredNode)
                    .ThenByDescending(x => CountFreeCores(x, state, n.Spec, n.ThreadsPerVcpuCore))
                    .ThenBy(x => x.Id)
                    .Take(parts)
                    .ToList();
                if (n.RequiredNode is int dev && set.All(x => x.Id != dev))
                    continue;
                result = (
                    set.Select(node => (node.Id, Take(n, node, state, parts))).ToList(),
                    $"spans nodes {string.Join(", ", set.Select(x => x.Id))}: no single node holds it"
                );
                why = "";
                return true;
            }
        }
        why =
            candidates.Count == 0
                ? "no NUMA node information on this host"
                : string.Join("; ", candidates.Select(x => Shortage(n, x, state, 1)).OfType<string>().Take(4));
        if (n.Spec.NumaNode is not null)
            why += $" (numa_node {n.Spec.NumaNode} is given in the spec: 'auto' lets it span nodes)";
        return false;
    }

    /// <summary>Takes a VM's (share of) cores, pages and memory on a node; returns the dedicated CPUs in vCPU
    /// order.</summary>
    private List<int> Take(Need n, NodeModel node, State state, int parts = 1)
    {
        var s = n.Spec;
        var cpus = new List<int>();
        if (s.DedicatedCpus)
        {
            var cores = FreeCores(node, state, s, n.ThreadsPerVcpuCore)
                .Take((n.CoresNeeded + parts - 1) / parts)
                .ToList();
            foreach (var core in cores)
            {
                var threads = core.Take(n.ThreadsPerVcpuCore).ToList();
                cpus.AddRange(threads);
                // A core is the VM's whole: its idle sibling is reserved too, so no one else lands on it.
                foreach (var t in core)
                    state.Dedicated.Add(t);
            }
        }
        var memKib = s.MemoryKib / parts;
        if (s.HugepageKib is long page)
            state.PagesUsed[(node.Id, page)] =
                state.PagesUsed.GetValueOrDefault((node.Id, page)) + (memKib + page - 1) / page;
        else
            state.MemoryUsed[node.Id] = state.MemoryUsed.GetValueOrDefault(node.Id) + memKib;
        return cpus;
    }

    /// <summary>
    /// Guest sockets mirror the host packages the vCPUs run on, where each package holds an equal, contiguous run of
    /// whole guest cores; otherwise one socket, and the reason.
    /// </summary>
    private GuestTopology Topology(int vcpus, int threads, List<VcpuPin> pins, List<string> reasons)
    {
        var one = new GuestTopology(1, vcpus / threads, threads);
        if (_host.Packages is not { Count: > 0 } pkg)
            return one;
        // A vCPU floating over CPUs of several packages, or of one whose package is not known, has no one package:
        // then one socket. A loop: a floating vCPU has a whole node's CPUs, and a plan of 10,000 VMs asks for each.
        int? PackageOf(VcpuPin p)
        {
            int? package = null;
            for (var i = 0; i < p.Cpus.Count; i++)
            {
                if (!pkg.TryGetValue(p.Cpus[i], out var x) || (package is { } seen && seen != x))
                    return null;
                package = x;
            }
            return package;
        }
        var seq = pins.OrderBy(p => p.Vcpu).Select(PackageOf).ToList();
        if (seq.Any(x => x is null))
            return one;
        var runs = new List<(int Package, int Count)>();
        foreach (var x in seq)
            if (runs.Count > 0 && runs[^1].Package == x)
                runs[^1] = (x!.Value, runs[^1].Count + 1);
            else
                runs.Add((x!.Value, 1));
        if (runs.Count == 1)
            return one;
        if (
            runs.Select(r => r.Package).Distinct().Count() != runs.Count
            || runs.Any(r => r.Count != runs[0].Count || r.Count % threads != 0)
        )
        {
            reasons.Add(
                "guest topology: one socket, as the vCPUs do not split evenly over host packages "
                    + $"{string.Join(", ", runs.Select(r => r.Package).Distinct())}"
            );
            return one;
        }
        return new GuestTopology(runs.Count, runs[0].Count / threads, threads);
    }

    private PlannedVm Describe(Need n, (List<(int Node, List<int> Cpus)> Parts, string Why) placed, State final)
    {
        var s = n.Spec;
        var nodes = placed.Parts.Select(p => _host.Nodes.First(x => x.Id == p.Node)).ToList();
        var emulator = nodes.SelectMany(x => x.Housekeeping).Order().ToList();
        var reasons = new List<string>(n.Reasons) { placed.Why };
        var parts = nodes.Count;
        var threads = s.DedicatedCpus ? n.ThreadsPerVcpuCore : 1;
        // Guest node of each vCPU: whole guest cores stay on one node, so the guest topology is true.
        int GuestNodeOf(int v) => v / threads * parts / (s.Vcpus / threads);
        var pins = new List<VcpuPin>();
        if (s.DedicatedCpus)
        {
            for (var i = 0; i < parts; i++)
            {
                var cpus = placed.Parts[i].Cpus;
                var vcpus = Enumerable.Range(0, s.Vcpus).Where(v => GuestNodeOf(v) == i).ToList();
                pins.AddRange(vcpus.Select((v, k) => new VcpuPin(v, [cpus[k]])));
            }
            pins.Sort((a, b) => a.Vcpu.CompareTo(b.Vcpu));
            reasons.Add(
                $"dedicated: each vCPU on its own host CPU ({CpuList.Format(pins.SelectMany(p => p.Cpus))}), whole "
                    + $"cores; emulator and I/O threads on housekeeping CPUs {CpuList.Format(emulator)}"
            );
        }
        else
        {
            // Shared vCPUs float over the CPUs of their node that no VM owns, leaving housekeeping CPUs alone where
            // possible.
            var floating = new List<int>?[parts];
            for (var v = 0; v < s.Vcpus; v++)
            {
                var i = GuestNodeOf(v);
                if (floating[i] is null)
                {
                    var node = nodes[i];
                    var shared = node
                        .Cpus.Where(c => !final.Dedicated.Contains(c) && (s.Cpuset is null || s.Cpuset.Contains(c)))
                        .ToList();
                    var withoutHk = shared.Where(c => !node.Housekeeping.Contains(c)).ToList();
                    floating[i] = withoutHk.Count > 0 ? withoutHk : shared;
                }
                pins.Add(new VcpuPin(v, floating[i]!));
            }
            reasons.Add($"shared: vCPUs float over CPUs {CpuList.Format(pins.SelectMany(p => p.Cpus).Distinct())}");
        }
        var pageKib = s.HugepageKib ?? 4;
        // Guest NUMA nodes: one per host node spanned, or more where the spec asks (each host node's share split
        // evenly).
        var guestCount = s.GuestNumaNodes is int g && g % parts == 0 ? g : parts;
        if (s.GuestNumaNodes is int asked && asked != guestCount)
            reasons.Add(
                $"guest_numa_nodes {asked} is not a multiple of the {parts} host node(s) spanned: {guestCount} guest "
                    + "nodes"
            );
        int GuestOf(int v) => v / threads * guestCount / (s.Vcpus / threads);
        var guestNodes = new List<GuestNode>();
        var memory = new List<MemoryPlacement>();
        for (var i = 0; i < parts; i++)
        {
            // Whole pages, spread as evenly as Take reserved them (never more than its ceiling on a node).
            var pages = s.MemoryKib / pageKib;
            var share = (pages / parts + (i < pages % parts ? 1 : 0)) * pageKib;
            if (i == parts - 1)
                share += s.MemoryKib - pages * pageKib;
            memory.Add(new MemoryPlacement(nodes[i].Id, share, pageKib));
            var per = guestCount / parts;
            for (var k = 0; k < per; k++)
            {
                var id = i * per + k;
                var part = share / per / pageKib * pageKib;
                if (k == per - 1)
                    part = share - part * (per - 1);
                guestNodes.Add(
                    new GuestNode(
                        id,
                        nodes[i].Id,
                        Enumerable.Range(0, s.Vcpus).Where(v => GuestOf(v) == id).ToList(),
                        part
                    )
                );
            }
        }
        if (s.HugepageKib is long hp)
            reasons.Add(
                $"memory on {Sizes.HumanKib(hp)} huge pages of node(s) {string.Join(", ", nodes.Select(x => x.Id))}"
            );
        var topology = Topology(s.Vcpus, threads, pins, reasons);
        var iothreads = s
            .Disks.Select((d, i) => (d, i))
            .Where(x => x.d.Iothread)
            .Select(x => new IothreadPin($"io{x.i}", emulator))
            .ToList();
        return new PlannedVm(
            s.Name,
            nodes.Select(x => x.Id).ToList(),
            pins,
            emulator,
            iothreads,
            memory,
            n.Devices,
            reasons.Where(r => r.Length > 0).ToList(),
            s.DedicatedCpus,
            topology,
            guestNodes
        );
    }
}
