using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Kvmtune.Bench;

/// <summary>Inputs of the scale figures, written once under /dev/shm and reused.</summary>
public static class ScaleInputs
{
    /// <summary>
    /// A folder of <paramref name="hosts"/> audit documents, as ansible's fetch leaves them: each is a real
    /// <c>kvmtune audit --format json</c> of one of the given roots (taken in turn) with its own host name.
    /// </summary>
    public static string Fleet(string parent, int hosts, IReadOnlyList<string> templates)
    {
        var dir = Path.Combine(parent, $"fleet-{hosts}");
        if (File.Exists(Path.Combine(dir, ".complete")))
            return dir;
        if (Directory.Exists(dir))
            Directory.Delete(dir, true);
        var docs = templates.Select(t => JsonNode.Parse(t)!.AsObject()).ToList();
        for (var i = 0; i < hosts; i++)
        {
            var doc = docs[i % docs.Count];
            var name = string.Create(CultureInfo.InvariantCulture, $"host{i:D5}");
            doc["host"] = name;
            var sub = Path.Combine(dir, name);
            Directory.CreateDirectory(sub);
            File.WriteAllText(Path.Combine(sub, "audit.json"), doc.ToJsonString());
        }
        File.WriteAllText(Path.Combine(dir, ".complete"), "");
        return dir;
    }

    /// <summary>
    /// <paramref name="count"/> VMs, one YAML document each: every eighth dedicated on 1 GiB pages with 2 to 8 vCPUs,
    /// the rest shared with 2 to 8 vCPUs and 2 to 8 GiB without huge pages.
    /// </summary>
    public static string VmSpecs(string parent, int count)
    {
        var path = Path.Combine(parent, $"vms-{count}.yaml");
        if (File.Exists(path))
            return path;
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
                sb.Append("---\n");
            var vcpus = 2 + i % 4 * 2;
            var dedicated = i % 8 == 0;
            sb.Append(CultureInfo.InvariantCulture, $"name: vm{i:D5}\nvcpus: {vcpus}\nmemory: {vcpus}GiB\n")
                .Append(
                    dedicated
                        ? "workload: latency\ndedicated_cpus: true\nhugepages: 1GiB\n"
                        : "workload: density\ndedicated_cpus: false\nhugepages: none\n"
                );
        }
        File.WriteAllText(path + ".tmp", sb.ToString());
        File.Move(path + ".tmp", path);
        return path;
    }
}
