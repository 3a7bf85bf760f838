using System.Security.Cryptography;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Tests.Support;

/// <summary>
/// Every file, link and folder of a tree (outside the journal) with its owner and permission bits, to compare a tree
/// before and after.
/// </summary>
public sealed record TreeState(IReadOnlyDictionary<string, string> Entries, IReadOnlyDictionary<string, string> Owners)
{
    public static TreeState Of(string root, string? exclude = "/var/lib/kvmtune")
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var owners = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(root, root, exclude, map, owners);
        return new TreeState(map, owners);
    }

    private static void Walk(
        string root,
        string dir,
        string? exclude,
        SortedDictionary<string, string> map,
        SortedDictionary<string, string> owners
    )
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            var rel = entry[root.Length..];
            if (exclude is not null && (rel == exclude || rel.StartsWith(exclude + "/")))
                continue;
            if (Kvmtune.Facts.IO.NativeSys.Lstat(entry) is { } st)
                owners[rel] = $"mode {Convert.ToString(st.Mode, 8)} owner {st.Uid}:{st.Gid}";
            var info = new FileInfo(entry);
            if (info.LinkTarget is string target)
            {
                map[rel] = "link:" + target;
                continue;
            }
            if (Directory.Exists(entry))
            {
                map[rel] = "dir";
                Walk(root, entry, exclude, map, owners);
                continue;
            }
            var bytes = File.ReadAllBytes(entry);
            var text = System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\n', '\0', ' ');
            // A choice file (THP "always [madvise] never") reads back with the same selection: compare that,
            // as the kernel would show it, rather than the bytes a plain file keeps.
            map[rel] =
                text.Contains('[')
                && KernelText.Choice(text).Selected is { } sel
                && KernelText.Choice(text).Options.Count > 1
                    ? "choice:" + sel
                    : "file:" + Convert.ToHexString(SHA256.HashData(bytes));
        }
    }

    /// <summary>The differences, one line each; empty when the trees match.</summary>
    public IReadOnlyList<string> Diff(TreeState after)
    {
        var lines = new List<string>();
        foreach (var (k, v) in Entries)
        {
            if (!after.Entries.TryGetValue(k, out var w))
                lines.Add($"- {k}");
            else if (v != w && !(v.StartsWith("choice:") && w == "file:" + Hash(v[7..])))
                lines.Add($"~ {k}: {v} -> {w}");
        }
        foreach (var k in after.Entries.Keys.Where(k => !Entries.ContainsKey(k)))
            lines.Add($"+ {k}");
        foreach (var (k, v) in Owners)
            if (after.Owners.TryGetValue(k, out var w) && v != w)
                lines.Add($"~ {k}: {v} -> {w}");
        return lines;
    }

    private static string Hash(string value) =>
        Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value + "\n")));
}
