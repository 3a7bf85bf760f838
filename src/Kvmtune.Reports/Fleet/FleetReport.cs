using System.Text;
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
        var files = Directory.GetFiles(dir, "*.json", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        // Each file is read on its own (a fleet of 10,000 is mostly parsing); the first bad file in name order is
        // the one reported, as if they were read one by one.
        var results = new HostAudit?[files.Length];
        var errors = new InputException?[files.Length];
        void ReadOne(int i, AuditReader reader)
        {
            try
            {
                results[i] = reader.Read(files[i]);
            }
            catch (InputException e)
            {
                errors[i] = e;
            }
        }
        if (files.Length < ParallelFrom)
        {
            var reader = new AuditReader();
            for (var i = 0; i < files.Length; i++)
                ReadOne(i, reader);
        }
        else
            Parallel.For(
                0,
                files.Length,
                () => new AuditReader(),
                (i, _, reader) =>
                {
                    ReadOne(i, reader);
                    return reader;
                },
                _ => { }
            );
        var hosts = new List<HostAudit>(files.Length);
        for (var i = 0; i < files.Length; i++)
        {
            if (errors[i] is { } e)
                throw e;
            if (results[i] is { } h)
                hosts.Add(h);
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

    private const int ParallelFrom = 64;

    /// <summary>
    /// Reads the few fields fleet uses straight from the UTF-8 bytes (no document, no text copy of the file), and
    /// shares one string for the ids, titles and statuses that every host repeats.
    /// </summary>
    private sealed class AuditReader
    {
        private const long MaxAuditBytes = 16 << 20;
        private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
        private readonly char[] _chars = new char[256];

        // One buffer for every file this reader reads: 10,000 new ones are most of the collector's work.
        private byte[]? _buffer;

        /// <summary>The audit in the file; null when the file is JSON but not a kvmtune.audit/v1.</summary>
        public HostAudit? Read(string file)
        {
            // A regular file of bounded size: a FIFO or a link to /dev/zero named x.json is an error, not a hang.
            var bytes = InputFile.ReadMemory(file, MaxAuditBytes, ref _buffer);
            // Bytes that are not UTF-8 are read as the replacement character, as decoding the file to text did.
            if (!System.Text.Unicode.Utf8.IsValid(bytes.Span))
                bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes.Span));
            var reader = new Utf8JsonReader(bytes.Span);
            try
            {
                return Parse(ref reader, file);
            }
            catch (JsonException e)
            {
                throw new InputException(file, e.LineNumber + 1, null, $"not JSON: {e.Message}");
            }
            catch (InvalidOperationException)
            {
                throw new InputException(
                    file,
                    null,
                    null,
                    "not JSON: a string's escape is not text (a lone surrogate)"
                );
            }
        }

        private HostAudit? Parse(ref Utf8JsonReader r, string file)
        {
            r.Read();
            if (r.TokenType != JsonTokenType.StartObject)
            {
                r.Skip();
                End(ref r);
                return null;
            }
            string? schema = null,
                host = null,
                profile = null,
                role = null;
            // A name given twice counts as its last value, as a document's property lookup has it.
            bool profileWrong = false,
                roleWrong = false,
                findingsWrong = false;
            Dictionary<string, (string, string?, string)>? findings = null;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var key = KeyOf(ref r);
                r.Read();
                switch (key)
                {
                    case Key.Schema:
                        schema = r.TokenType == JsonTokenType.String ? r.GetString() : Skipped(ref r);
                        break;
                    case Key.Host:
                        host = r.TokenType == JsonTokenType.String ? r.GetString() : Skipped(ref r);
                        break;
                    case Key.Profile:
                        profileWrong = false;
                        profile = Text(ref r, ref profileWrong);
                        break;
                    case Key.Role:
                        roleWrong = false;
                        role = Text(ref r, ref roleWrong);
                        break;
                    case Key.Findings:
                        findingsWrong = false;
                        findings = Findings(ref r, ref findingsWrong);
                        break;
                    default:
                        r.Skip();
                        break;
                }
            }
            End(ref r);
            if (schema != "kvmtune.audit/v1")
                return null;
            if (profileWrong || roleWrong || findingsWrong || profile is null || role is null || findings is null)
                throw new InputException(
                    file,
                    null,
                    null,
                    "says kvmtune.audit/v1 but lacks a field of it "
                        + "or has one of the wrong type (host, profile, role, findings with id, status, current, "
                        + "title)"
                );
            return new HostAudit(
                host is { Length: > 0 } ? host : Path.GetFileNameWithoutExtension(file),
                profile,
                role,
                file,
                findings
            );
        }

        private Dictionary<string, (string, string?, string)>? Findings(ref Utf8JsonReader r, ref bool wrong)
        {
            if (r.TokenType != JsonTokenType.StartArray)
            {
                wrong = true;
                r.Skip();
                return null;
            }
            var findings = new Dictionary<string, (string, string?, string)>(StringComparer.Ordinal);
            while (r.Read() && r.TokenType != JsonTokenType.EndArray)
            {
                if (r.TokenType != JsonTokenType.StartObject)
                {
                    wrong = true;
                    r.Skip();
                    continue;
                }
                string? id = null,
                    status = null,
                    current = null,
                    title = null;
                bool hasCurrent = false,
                    idWrong = false,
                    statusWrong = false,
                    titleWrong = false,
                    currentWrong = false;
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    var key = KeyOf(ref r);
                    r.Read();
                    switch (key)
                    {
                        case Key.Id:
                            idWrong = false;
                            id = Text(ref r, ref idWrong);
                            break;
                        case Key.Status:
                            statusWrong = false;
                            status = Text(ref r, ref statusWrong);
                            break;
                        case Key.Title:
                            titleWrong = false;
                            title = Text(ref r, ref titleWrong);
                            break;
                        case Key.Current:
                            hasCurrent = true;
                            currentWrong = false;
                            current = r.TokenType == JsonTokenType.Null ? null : Text(ref r, ref currentWrong);
                            break;
                        default:
                            r.Skip();
                            break;
                    }
                }
                var fieldWrong = idWrong || statusWrong || titleWrong || currentWrong;
                if (fieldWrong || id is null || status is null || title is null || !hasCurrent)
                    wrong = true;
                else
                    findings[id] = (status, current, title);
            }
            return findings;
        }

        private enum Key
        {
            Other,
            Schema,
            Host,
            Profile,
            Role,
            Findings,
            Id,
            Status,
            Current,
            Title,
        }

        private static Key KeyOf(ref Utf8JsonReader r)
        {
            // A name written with escapes ("\u0069d") is still that name; one that does not unescape to text (a lone
            // surrogate) is no name fleet reads.
            ReadOnlySpan<byte> name;
            if (!r.ValueIsEscaped)
                name = r.ValueSpan;
            else
            {
                try
                {
                    name = Encoding.UTF8.GetBytes(r.GetString()!);
                }
                catch (InvalidOperationException)
                {
                    return Key.Other;
                }
            }
            if (name.SequenceEqual("schema"u8))
                return Key.Schema;
            if (name.SequenceEqual("host"u8))
                return Key.Host;
            if (name.SequenceEqual("profile"u8))
                return Key.Profile;
            if (name.SequenceEqual("role"u8))
                return Key.Role;
            if (name.SequenceEqual("findings"u8))
                return Key.Findings;
            if (name.SequenceEqual("id"u8))
                return Key.Id;
            if (name.SequenceEqual("status"u8))
                return Key.Status;
            if (name.SequenceEqual("current"u8))
                return Key.Current;
            return name.SequenceEqual("title"u8) ? Key.Title : Key.Other;
        }

        private static string? Skipped(ref Utf8JsonReader r)
        {
            r.Skip();
            return null;
        }

        /// <summary>A string value, one shared instance per distinct short text; anything else marks the audit
        /// wrong.</summary>
        private string? Text(ref Utf8JsonReader r, ref bool wrong)
        {
            if (r.TokenType != JsonTokenType.String)
            {
                wrong = true;
                r.Skip();
                return null;
            }
            if (r.ValueSpan.Length > _chars.Length)
                return r.GetString();
            var chars = _chars.AsSpan(0, r.CopyString(_chars));
            var lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars, out var shared))
                return shared;
            var s = chars.ToString();
            _strings[s] = s;
            return s;
        }

        /// <summary>Nothing but white space may follow the document (as <c>JsonDocument.Parse</c> demands).</summary>
        private static void End(ref Utf8JsonReader r)
        {
            if (r.Read())
                throw new JsonException("more than one JSON value", null, r.BytesConsumed, null);
        }
    }

    /// <summary>Checks that fail or warn on at least one host, with every host's status.</summary>
    public IEnumerable<(string Id, string Title, IReadOnlyList<string> Statuses)> Problems()
    {
        // Gathered host by host, each host's findings read once in their own order: a lookup per check and host
        // goes back to every host's table for every check, a second of a 10,000-host fleet.
        var rows = new List<(string Id, string Title)>();
        var seen = new HashSet<(string, string)>();
        foreach (var h in Hosts)
            foreach (var (id, v) in h.Findings)
                if (v.Status is "fail" or "warn" && seen.Add((id, v.Title)))
                    rows.Add((id, v.Title));
        var found = new Dictionary<string, List<(int Host, string Status)>>(StringComparer.Ordinal);
        foreach (var (id, _) in rows)
            found.TryAdd(id, []);
        for (var h = 0; h < Hosts.Count; h++)
            foreach (var (id, v) in Hosts[h].Findings)
                if (found.TryGetValue(id, out var list))
                    list.Add((h, v.Status));
        // A row at a time: a fleet whose hosts all name other checks would not fit as a table in memory.
        foreach (var (id, title) in rows.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            var statuses = new string[Hosts.Count];
            Array.Fill(statuses, "-");
            foreach (var (h, status) in found[id])
                statuses[h] = status;
            yield return (id, title, statuses);
        }
    }

    /// <summary>Among hosts audited with the same profile and role, the checks whose status is not the same on
    /// all.</summary>
    public IEnumerable<(
        string Group,
        string Id,
        IReadOnlyList<(string Host, string Status, string? Current)> Values
    )> Differences()
    {
        foreach (var group in Hosts.GroupBy(h => (h.Profile, h.Role)))
        {
            var members = group.ToList();
            if (members.Count < 2)
                continue;
            // Each check's values gathered host by host, in the hosts' order, as Problems does.
            var found = new Dictionary<string, List<(int Member, string Status, string? Current)>>(
                StringComparer.Ordinal
            );
            for (var m = 0; m < members.Count; m++)
                foreach (var (id, v) in members[m].Findings)
                {
                    if (!found.TryGetValue(id, out var list))
                        found[id] = list = [];
                    list.Add((m, v.Status, v.Current));
                }
            foreach (var id in found.Keys.Order(StringComparer.Ordinal))
            {
                var list = found[id];
                // A host without the check shows "-"; most checks agree on every host.
                var first = list.Count < members.Count ? "-" : list[0].Status;
                if (list.TrueForAll(f => f.Status == first))
                    continue;
                var values = new List<(string Host, string Status, string? Current)>(members.Count);
                var next = 0;
                for (var m = 0; m < members.Count; m++)
                    if (next < list.Count && list[next].Member == m)
                    {
                        values.Add((members[m].Host, list[next].Status, list[next].Current));
                        next++;
                    }
                    else
                        values.Add((members[m].Host, "-", null));
                yield return ($"{group.Key.Profile}/{group.Key.Role}", id, values);
            }
        }
    }
}
