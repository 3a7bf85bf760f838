using System.Globalization;
using System.Text.RegularExpressions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Guide.Sections;

/// <summary>
/// <c>kvmtune apply --hugepages NODE:SIZE:COUNT</c>: one node's pool of one page size set to COUNT pages through
/// the kernel's per-node attribute /sys/devices/system/node/nodeN/hugepages/hugepages-SIZEkB/nr_hugepages
/// (Documentation/admin-guide/mm/hugetlbpage.rst, per-node huge page attributes), journaled and rolled back like
/// every other apply. COUNT is the pool's new total, so running the command twice changes nothing the second time.
/// </summary>
public static partial class HugepageReservation
{
    public const string Option = "--hugepages";
    public const string FindingId = "host.memory.hugepages.node";
    private const string Section = "3.2.3";

    public sealed record Request(int Node, long PageKib, long Count);

    /// <summary>The kernel's sysfs file for a node's pool of a page size.</summary>
    public static string PoolFile(int node, long pageKib) =>
        $"/sys/devices/system/node/node{node}/hugepages/hugepages-{pageKib}kB/nr_hugepages";

    /// <summary>NODE:SIZE:COUNT, as the option takes it: 1:2M:512.</summary>
    public static string Token(int node, long pageKib, long count) =>
        string.Create(CultureInfo.InvariantCulture, $"{node}:{SizeToken(pageKib)}:{count}");

    /// <summary>The command that sets a node's pool to COUNT pages, as an argument vector.</summary>
    public static IReadOnlyList<string> Command(int node, long pageKib, long count) =>
        ["kvmtune", "apply", Option, Token(node, pageKib, count)];

    private static string SizeToken(long kib) =>
        kib % (1 << 20) == 0 ? $"{kib >> 20}G"
        : kib % 1024 == 0 ? $"{kib >> 10}M"
        : $"{kib}K";

    public static Request Parse(string token)
    {
        var m = TokenRegex().Match(token);
        if (!m.Success)
            throw new InputException(
                null,
                null,
                Option,
                $"'{SafeText.ForTerminal(token.Length > 80 ? token[..80] + "..." : token)}' is not NODE:SIZE:COUNT "
                    + "(e.g. 1:2M:512: node 1's pool of 2 MiB pages set to 512 pages)"
            );
        var unit = m.Groups[3].Value switch
        {
            "K" => 1L,
            "M" => 1L << 10,
            _ => 1L << 20,
        };
        var size = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * unit;
        return new Request(
            int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            size,
            long.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)
        );
    }

    /// <summary>
    /// The requests as one finding whose changes apply makes; each node and page size must be one the kernel offers
    /// here (its pool folder exists), else nothing is changed (exit 2).
    /// </summary>
    public static Finding Finding(IReadOnlyList<string> tokens, HostFacts facts)
    {
        var requests = tokens.Select(Parse).ToList();
        var changes = new List<PlannedChange>();
        var current = new List<string>();
        var expected = new List<string>();
        var seen = new HashSet<(int, long)>();
        var nodes = facts.Numa.Nodes;
        foreach (var r in requests)
        {
            var label = Token(r.Node, r.PageKib, r.Count);
            if (!seen.Add((r.Node, r.PageKib)))
                throw new InputException(
                    null,
                    null,
                    Option,
                    $"{label}: node {r.Node}'s {Sizes.HumanKib(r.PageKib)} pool is named twice"
                );
            var node =
                nodes.FirstOrDefault(n => n.Id == r.Node)
                ?? throw new InputException(
                    null,
                    null,
                    Option,
                    $"{label}: there is no node {r.Node} on this host "
                        + $"(nodes: {(nodes.Count == 0 ? "none" : string.Join(", ", nodes.Select(n => n.Id)))})"
                );
            var pool =
                node.Hugepages.FirstOrDefault(p => p.SizeKib == r.PageKib)
                ?? throw new InputException(
                    null,
                    null,
                    Option,
                    $"{label}: node {r.Node} has no pool of "
                        + $"{Sizes.HumanKib(r.PageKib)} pages (sizes there: "
                        + (
                            node.Hugepages.Count == 0
                                ? "none"
                                : string.Join(", ", node.Hugepages.Select(p => Sizes.HumanKib(p.SizeKib)))
                        )
                        + ")"
                );
            current.Add(
                $"node {r.Node}: {pool.Total?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} "
                    + $"{Sizes.HumanKib(r.PageKib)} pages"
            );
            expected.Add($"node {r.Node}: {r.Count} {Sizes.HumanKib(r.PageKib)} pages");
            if (pool.Total != r.Count)
                changes.Add(
                    new SysfsWrite(Section, PoolFile(r.Node, r.PageKib), r.Count.ToString(CultureInfo.InvariantCulture))
                );
        }
        return Rule.Make(
            FindingId,
            Section,
            "Huge pages reserved on a node",
            changes.Count > 0 ? FindingStatus.Warn : FindingStatus.Pass,
            string.Join("; ", current),
            string.Join("; ", expected),
            "a VM's memory on static huge pages of its node needs them reserved there before it starts",
            requests.Select(r => PoolFile(r.Node, r.PageKib)),
            changes
        );
    }

    [GeneratedRegex(@"^([0-9]{1,4}):([0-9]{1,7})(K|M|G)(?:i?B)?:([0-9]{1,12})$")]
    private static partial Regex TokenRegex();
}
