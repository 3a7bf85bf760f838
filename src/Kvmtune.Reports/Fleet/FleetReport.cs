using System.Text.Json;
using Kvmtune.Facts;
using Kvmtune.Facts.IO;

namespace Kvmtune.Reports.Fleet;

/// <summary>One host's audit as read back from its <c>kvmtune.audit/v1</c> JSON.</summary>
public sealed record HostAudit(
    string Host,
    string Profile,
    string Role,
    string File,
    IReadOnlyDictionary<string, (string Status, string? Current, string Title)> Findings
);

/// <summary>Many hosts' audits side by side: which hosts fail which checks, and what differs between hosts that should
/// be alike.</summary>
public sealed record FleetReport(IReadOnlyList<HostAudit> Hosts)
{
    /// <summary>Reads every *.json under a folder (ansible's fetch nests them by host) that is a kvmtune
    /// audit.</summary>
    public static FleetReport Load(string dir)
    {
        if (!Directory.Exists(dir))
            throw new InputException(dir, null, null, "is not a folder");
        var hosts = new List<HostAudit>();
        foreach (
            var file in Directory.GetFiles(dir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        )
        {
            JsonDocument doc;
            // A regular file of bounded size: a FIFO or a link to /dev/zero named x.json is an error, not a hang.
            try
            {
                doc = JsonDocument.Parse(InputFile.ReadText(file, MaxAuditBytes));
            }
            catch (JsonException e)
            {
                throw new InputException(file, e.LineNumber + 1, null, $"not JSON: {e.Message}");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (
                    root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("schema", out var schema)
                    || schema.ValueKind != JsonValueKind.String
                    || schema.GetString() != "kvmtune.audit/v1"
                )
                    continue;
                try
                {
                    hosts.Add(Read(root, file));
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
                {
                    throw new InputException(
                        file,
                        null,
                        null,
                        "says kvmtune.audit/v1 but lacks a field of it "
                            + "or has one of the wrong type (host, profile, role, findings with id, status, current, " +
                                "title)"
                    );
                }
            }
        }
        if (hosts.Count == 0)
            throw new InputException(
                dir,
                null,
                null,
                "holds no kvmtune audit JSON (kvmtune audit --format json --output HOST.json)"
            );
        return new FleetReport(hosts);
    }

    private const long MaxAuditBytes = 16 << 20;

    private static HostAudit Read(JsonElement root, string file)
    {
        var host =
            root.TryGetProperty("host", out var h)
            && h.ValueKind == JsonValueKind.String
            && h.GetString() is { Length: > 0 } name
                ? name
                : Path.GetFileNameWithoutExtension(file);
        var findings = new Dictionary<string, (string, string?, string)>(StringComparer.Ordinal);
        foreach (var f in root.GetProperty("findings").EnumerateArray())
            findings[f.GetProperty("id").GetString()!] = (
                f.GetProperty("status").GetString()!,
                f.GetProperty("current").GetString(),
                f.GetProperty("title").GetString()!
            );
        var profile = root.GetProperty("profile").GetString()!;
        return new HostAudit(host, profile, root.GetProperty("role").GetString()!, file, findings);
    }

    /// <summary>Checks that fail or warn on at least one host, with every host's status.</summary>
    public IEnumerable<(string Id, string Title, IReadOnlyList<string> Statuses)> Problems() =>
        Hosts
            .SelectMany(h =>
                h.Findings.Where(f => f.Value.Status is "fail" or "warn").Select(f => (f.Key, f.Value.Title))
            )
            .Distinct()
            .OrderBy(x => x.Key, StringComparer.Ordinal)
            .Select(x =>
                (
                    x.Key,
                    x.Title,
                    (IReadOnlyList<string>)
                        Hosts.Select(h => h.Findings.TryGetValue(x.Key, out var v) ? v.Status : "-").ToList()
                )
            );

    /// <summary>Among hosts audited with the same profile and role, the checks whose status is not the same on
    /// all.</summary>
    public IEnumerable<(
        string Group,
        string Id,
        IReadOnlyList<(string Host, string Status, string? Current)> Values
    )> Differences()
    {
        foreach (var group in Hosts.GroupBy(h => (h.Profile, h.Role)).Where(g => g.Count() > 1))
        {
            var ids = group.SelectMany(h => h.Findings.Keys).Distinct().Order(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var values = group
                    .Select(h =>
                        h.Findings.TryGetValue(id, out var v)
                            ? (h.Host, v.Status, v.Current)
                            : (h.Host, "-", (string?)null)
                    )
                    .ToList();
                if (values.Select(v => v.Item2).Distinct().Count() > 1)
                    yield return ($"{group.Key.Profile}/{group.Key.Role}", id, values);
            }
        }
    }
}
