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
    private readonly HostModel _host = Disjoint(host);

    public Planner(HostFacts facts)
        : this(HostModel.From(facts), DeviceLocator.From(facts)) { }

    private readonly DeviceLocator _devices = devices;

    // The node (of _host, the very instance the counts of free cores are kept by) whose cores hold each CPU: one,
    // as the host is made disjoint below. Made on first use.
    private Dictionary<int, NodeModel>? _nodeOfCpu;

    /// <summary>
    /// Each CPU on the first node that lists it only. The kernel maps a CPU to one node (cpu_to_node); a tree that
    /// lists one on two nodes is no machine, and planned as given, a core on both counts as free on both: a VM
    /// spanning them got fewer CPUs than vCPUs and the plan failed.
    /// </summary>
    private static HostModel Disjoint(HostModel host)
    {
        var claimed = new HashSet<int>();
        var overlap = false;
        foreach (var node in host.Nodes)
        {
            var mine = new HashSet<int>(node.Cpus);
            foreach (var core in node.Cores)
                mine.UnionWith(core);
            overlap |= claimed.Overlaps(mine);
            claimed.UnionWith(mine);
        }
        if (!overlap)
            return host;
        claimed.Clear();
        var nodes = new List<NodeModel>(host.Nodes.Count);
        foreach (var node in host.Nodes)
        {
            // The lists are made here, before this node's own CPUs are claimed.
            bool Mine(int cpu) => !claimed.Contains(cpu);
            nodes.Add(
                node with
                {
                    Cpus = [.. node.Cpus.Where(Mine)],
                    Cores = [.. node.Cores.Select(c => c.Where(Mine).ToArray()).Where(c => c.Length > 0)],
                    Housekeeping = [.. node.Housekeeping.Where(Mine)],
                }
            );
            claimed.UnionWith(node.Cpus);
            foreach (var core in node.Cores)
                claimed.UnionWith(core);
        }
        return host with { Nodes = nodes };
    }

    private HashSet<NodeModel>? _hostNodes;

    private bool IsHostNode(NodeModel node) =>
        (_hostNodes ??= new HashSet<NodeModel>(_host.Nodes, ReferenceEqualityComparer.Instance)).Contains(node);

    private static Dictionary<int, NodeModel> NodeOfCpu(HostModel host)
    {
        var map = new Dictionary<int, NodeModel>();
        foreach (var node in host.Nodes)
            foreach (var core in node.Cores)
                foreach (var cpu in core)
                    map[cpu] = node;
        return map;
    }

    /// <summary>What is still free while planning; cloned for the exhaustive search.</summary>
    private sealed class State
    {
        public HashSet<int> Dedicated { get; init; } = [];
        public Dictionary<(int Node, long Size), long> PagesUsed { get; init; } = [];
        public Dictionary<int, long> MemoryUsed { get; init; } = [];

        /// <summary>
        /// Free whole cores of a node by the threads a guest core needs, for VMs without a cpuset: counted again only
        /// after a VM takes cores on the node. Without it every VM counts every node's cores, and 10,000 VMs on 32
        /// nodes count them hundreds of thousands of times. Keyed by the instance: two nodes of a hostile tree may
        /// be equal as records.
        /// </summary>
        public Dictionary<NodeModel, Dictionary<int, int>> FreeCoreCounts { get; } =
            new(ReferenceEqualityComparer.Instance);

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
        var floats = new Floating(state);
        var vms = needs
            .Where(n => placed.ContainsKey(n.Spec.Name))
            .Select(n => Describe(n, placed[n.Spec.Name], state, floats))
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

    /// <summary><see cref="FreeCores"/>'s count without the list.</summary>
    private int CountFreeCores(NodeModel node, State state, VmSpec spec, int threads)
    {
        Dictionary<int, int>? counts = null;
        // Kept for the host's own nodes only: Fixes asks about changed copies, each once.
        if (spec.Cpuset is null && IsHostNode(node))
        {
            if (!state.FreeCoreCounts.TryGetValue(node, out counts))
                state.FreeCoreCounts[node] = counts = [];
            else if (counts.TryGetValue(threads, out var known))
                return known;
        }
        var free = 0;
        for (var i = 0; i < node.Cores.Count; i++)
            if (IsFree(node.Cores[i], node, state, spec, threads))
                free++;
        if (counts is not null)
            counts[threads] = free;
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
    private bool Fits(Need n, NodeModel node, State state, int parts)
    {
        var s = n.Spec;
        if (s.DedicatedCpus)
        {
            var cores = (n.CoresNeeded + parts - 1) / parts;
            if (CountFreeCores(node, state, s, n.ThreadsPerVcpuCore) < cores)
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
        for (var i = 0; i < node.Cpus.Count; i++)
            if (!state.Dedicated.Contains(node.Cpus[i]) && (s.Cpuset is null || Contains(s.Cpuset, node.Cpus[i])))
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
        // Best fit: the node left with the fewest free cores (dedicated) or the most free memory (shared), then the
        // lowest id, then the first; a loop, as each of 10,000 VMs asks it.
        NodeModel? node = null;
        long best = 0;
        var fitting = 0;
        foreach (var x in candidates)
        {
            if (!Fits(n, x, state, 1))
                continue;
            fitting++;
            var key = n.Spec.DedicatedCpus
                ? CountFreeCores(x, state, n.Spec, n.ThreadsPerVcpuCore) - (long)n.CoresNeeded
                : x.FreeMemoryKib - state.MemoryUsed.GetValueOrDefault(x.Id);
            var better = n.Spec.DedicatedCpus ? key < best : key > best;
            if (node is null || better || key == best && x.Id < node.Id)
            {
                node = x;
                best = key;
            }
        }
        if (node is not null)
        {
            result = (
                [(node.Id, Take(n, node, state))],
                n.RequiredNode is null
                    ? $"node {node.Id}: fits, best of {fitting} node(s) with room"
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
                    if (state.Dedicated.Add(t))
                        state.FreeCoreCounts.Remove((_nodeOfCpu ??= NodeOfCpu(_host))[t]);
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

    /// <summary>
    /// The CPUs shared vCPUs float over on each node once every VM is placed, and their text, for VMs without a
    /// cpuset: the same for each such VM of a node (thousands in a large plan), so found once a node and shared.
    /// </summary>
    private sealed class Floating(State final)
    {
        private readonly Dictionary<NodeModel, (List<int> Cpus, string Text)> _byNode = new(
            ReferenceEqualityComparer.Instance
        );

        public (List<int> Cpus, string Text) Of(NodeModel node)
        {
            if (!_byNode.TryGetValue(node, out var found))
            {
                var cpus = FloatingCpus(node, final, null);
                _byNode[node] = found = (cpus, CpuList.Format(cpus.Distinct()));
            }
            return found;
        }
    }

    /// <summary>The CPUs of a node that no VM owns (and in the cpuset, where one is given), leaving housekeeping
    /// CPUs alone where possible.</summary>
    private static List<int> FloatingCpus(NodeModel node, State final, IReadOnlyList<int>? cpuset)
    {
        var shared = node
            .Cpus.Where(c => !final.Dedicated.Contains(c) && (cpuset is null || cpuset.Contains(c)))
            .ToList();
        var withoutHk = shared.Where(c => !node.Housekeeping.Contains(c)).ToList();
        return withoutHk.Count > 0 ? withoutHk : shared;
    }

    private PlannedVm Describe(
        Need n,
        (List<(int Node, List<int> Cpus)> Parts, string Why) placed,
        State final,
        Floating floats
    )
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
            // Shared vCPUs float over their node's CPUs that no VM owns (FloatingCpus).
            var floating = new List<int>?[parts];
            for (var v = 0; v < s.Vcpus; v++)
            {
                var i = GuestNodeOf(v);
                floating[i] ??= s.Cpuset is null ? floats.Of(nodes[i]).Cpus : FloatingCpus(nodes[i], final, s.Cpuset);
                pins.Add(new VcpuPin(v, floating[i]!));
            }
            var text =
                parts == 1 && s.Cpuset is null
                    ? floats.Of(nodes[0]).Text
                    : CpuList.Format(pins.SelectMany(p => p.Cpus).Distinct());
            reasons.Add($"shared: vCPUs float over CPUs {text}");
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
