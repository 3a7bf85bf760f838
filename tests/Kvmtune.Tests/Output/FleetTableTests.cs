using System.Text;
using System.Text.Json;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>
/// fleet's table and differences (issue #15: 10,000 audits in under 2 s) gather each check's values host by host.
/// The oracle is the plain reading of what the text shows, computed here from the findings the test writes: a row
/// per check and title that fails or warns on some host, in the order of the check ids, a status or "-" per host;
/// for each profile and role held by two hosts or more, every check whose status (or "-") is not the same on all.
/// </summary>
public sealed class FleetTableTests
{
    private sealed record Finding(string Id, string Status, string? Current, string Title);

    private sealed record Host(string Name, string Profile, string Role, Finding[] Findings);

    // "B.y" sorts before "a.one" in ordinal order; "-" is a status a hostile file may give.
    private static readonly string[] Ids = ["a.one", "a.two", "B.y", "c", "a.one.x"];

    private static readonly Gen<Finding> Findings = Gen.Select(
        Gen.OneOf(Ids),
        Gen.OneOf("pass", "fail", "warn", "info", "unknown", "-"),
        Gen.OneOf<string?>(null, "x", "y (z)"),
        Gen.OneOf("Title one", "Title two")
    ).Select((id, status, current, title) => new Finding(id, status, current, title));

    private static Gen<Host[]> Fleets(int least, int most) =>
        Gen.Select(Gen.OneOf("balanced", "latency"), Gen.OneOf("host", "guest"), Findings.Array[0, 6])
            .Array[least, most]
            .Select(hosts =>
                hosts
                    .Select(
                        (h, i) =>
                            // One finding per id in a host, as an audit has.
                            new Host($"h{i:D2}", h.Item1, h.Item2, [.. h.Item3.DistinctBy(f => f.Id)])
                    )
                    .ToArray()
            );

    [Fact]
    public void The_table_and_the_differences_are_what_the_findings_say() =>
        Fleets(1, 9).Sample(Check, iter: 40);

    [Fact]
    public void A_fleet_read_in_parallel_gives_the_same_table() =>
        // 64 files and more are read on every CPU (FleetReport.ParallelFrom).
        Fleets(64, 90).Sample(Check, iter: 4);

    private static void Check(Host[] hosts)
    {
        using var t = new TestTree();
        foreach (var h in hosts)
            t.File($"/fleet/{h.Name}.json", Json(h));
        var run = KvmtuneRunner.Run("fleet", t.Physical("/fleet"));
        run.ExitCode.Should().NotBe(2, run.Stderr);
        run.Stdout.Should().Be(Expected(hosts));
    }

    private static string Json(Host h)
    {
        using var bytes = new MemoryStream();
        using (var w = new Utf8JsonWriter(bytes))
        {
            w.WriteStartObject();
            w.WriteString("schema", "kvmtune.audit/v1");
            w.WriteString("host", h.Name);
            w.WriteString("profile", h.Profile);
            w.WriteString("role", h.Role);
            w.WriteStartArray("findings");
            foreach (var f in h.Findings)
            {
                w.WriteStartObject();
                w.WriteString("id", f.Id);
                w.WriteString("status", f.Status);
                w.WriteString("current", f.Current);
                w.WriteString("title", f.Title);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static string StatusOn(Host h, string id) => h.Findings.FirstOrDefault(f => f.Id == id)?.Status ?? "-";

    private static string Expected(Host[] hosts)
    {
        var sb = new StringBuilder();
        var w = Math.Max(8, hosts.Max(h => h.Name.Length));
        sb.Append($"{hosts.Length} host(s): ")
            .Append(
                string.Join(
                    ", ",
                    hosts.Select(h =>
                        $"{h.Name} ({h.Profile}, {h.Role}: {h.Findings.Count(f => f.Status == "fail")} fail, "
                        + $"{h.Findings.Count(f => f.Status == "warn")} warn)"
                    )
                )
            )
            .Append("\n\n")
            .Append("check".PadRight(40))
            .Append(string.Concat(hosts.Select(h => h.Name.PadRight(w + 2))))
            .Append('\n');
        var rows = new List<(string Id, string Title)>();
        foreach (var h in hosts)
            foreach (var f in h.Findings)
                if (f.Status is "fail" or "warn" && !rows.Contains((f.Id, f.Title)))
                    rows.Add((f.Id, f.Title));
        foreach (var (id, _) in rows.OrderBy(r => r.Id, StringComparer.Ordinal))
            sb.Append(id.PadRight(40))
                .Append(string.Concat(hosts.Select(h => StatusOn(h, id).PadRight(w + 2))))
                .Append('\n');
        var differences = new List<string>();
        foreach (var group in hosts.GroupBy(h => (h.Profile, h.Role)).Where(g => g.Count() > 1))
        {
            var ids = group.SelectMany(h => h.Findings.Select(f => f.Id)).Distinct();
            foreach (var id in ids.Order(StringComparer.Ordinal))
            {
                if (group.Select(h => StatusOn(h, id)).Distinct().Count() == 1)
                    continue;
                var values = group.Select(h =>
                    h.Findings.FirstOrDefault(f => f.Id == id) is { } f
                        ? $"{h.Name} {f.Status}" + (f.Current is null ? "" : $" ({f.Current})")
                        : $"{h.Name} -"
                );
                differences.Add($"  [{group.Key.Profile}/{group.Key.Role}] {id}: {string.Join("; ", values)}\n");
            }
        }
        if (differences.Count > 0)
            sb.Append("\ndifferences between hosts audited alike:\n").Append(string.Concat(differences));
        return sb.ToString();
    }
}
