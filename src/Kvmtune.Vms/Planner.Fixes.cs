using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Vms;

public sealed partial class Planner
{
    /// <summary>
    /// What would make a VM that found no node fit: for a VM on huge pages, each node it may use where only pages
    /// are short (its cores suffice and its free memory can hold the pages), the reservation that gives them, as
    /// the kvmtune command that makes it (the smallest first). Nothing is offered where something else is short.
    /// </summary>
    private List<PlanFix> Fixes(Need n, State state)
    {
        var s = n.Spec;
        if (s.HugepageKib is not long page)
            return [];
        var pages = (s.MemoryKib + page - 1) / page;
        var fixes = new List<(long More, PlanFix Fix)>();
        foreach (var node in Candidates(n))
        {
            var used = state.PagesUsed.GetValueOrDefault((node.Id, page));
            var free = node.FreeHugepages.GetValueOrDefault(page) - used;
            // A pool the kernel does not offer on this node (no such folder) cannot be raised.
            if (free >= pages || node.TotalHugepages?.TryGetValue(page, out var total) != true)
                continue;
            var enough = new Dictionary<long, long>(node.FreeHugepages) { [page] = pages + used };
            if (Shortage(n, node with { FreeHugepages = enough }, state, 1) is not null)
                continue;
            var more = pages - Math.Max(free, 0);
            // The kernel takes new pages from the node's free memory (hugetlbpage.rst): what it lacks, it cannot.
            var memory = node.FreeMemoryKib - state.MemoryUsed.GetValueOrDefault(node.Id);
            if (memory < more * page)
                continue;
            var target = total + more;
            fixes.Add(
                (
                    more,
                    new PlanFix(
                        $"reserve {more} {Sizes.HumanKib(page)} pages on node {node.Id} (its pool "
                            + $"from {total} to {target} pages, {Sizes.HumanKib(more * page)} of its "
                            + $"{Sizes.HumanKib(memory)} free memory)",
                        HugepageReservation.Command(node.Id, page, target)
                    )
                )
            );
        }
        return fixes.OrderBy(f => f.More).ThenBy(f => f.Fix.Text, StringComparer.Ordinal).Select(f => f.Fix).ToList();
    }
}
