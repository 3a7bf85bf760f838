namespace Kvmtune.Facts.IO;

/// <summary>
/// Follows symbolic links under a root component by component, as the kernel would with the root as "/":
/// absolute targets are re-rooted, relative ones resolved from the link's folder. Used where kvmtune must know
/// the real place a machine path leads to: before writing (SafePaths) and when capturing a snapshot.
/// </summary>
public static class LinkWalker
{
    private const int MaxHops = 40;

    /// <summary>
    /// The real machine path ("/sys/devices/..."), or null when links loop (more than 40 followed). Each link
    /// followed is reported to <paramref name="onLink"/> (its machine path and target); the last component is
    /// followed only when <paramref name="followLast"/>, and reported anyway when <paramref name="reportLast"/>.
    /// </summary>
    public static string? Resolve(
        string root,
        string machinePath,
        bool followLast = true,
        Action<string, string>? onLink = null,
        bool reportLast = false
    )
    {
        var resolved = new List<string>();
        var pending = new LinkedList<string>(machinePath.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var hops = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var part = node.Value;
            if (part == ".")
                continue;
            if (part == "..")
            {
                // "/.." is "/" (path_resolution(7)), and under RESOLVE_IN_ROOT the root is "/": a link that climbs
                // past it stays in it, as the kernel walks it.
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = "/" + string.Join('/', resolved.Append(part));
            var physical = root == "/" ? candidate : root.TrimEnd('/') + candidate;
            var st = NativeSys.Lstat(physical);
            string? target = null;
            if (st is { IsLink: true })
            {
                target = NativeFile.ReadLink(physical);
                // An empty target names nothing: ENOENT to the kernel.
                if (string.IsNullOrEmpty(target))
                    return null;
            }
            if (pending.Count > 0 && target is null && st is not { IsDirectory: true })
            {
                // Only a folder has names under it: the kernel's walk stops here (ENOENT, ENOTDIR). Given back whole,
                // the path fails at the same component when it is opened; "." or ".." after it would not.
                if (pending.Any(p => p is "." or ".."))
                    return null;
                return "/" + string.Join('/', resolved.Append(part).Concat(pending));
            }
            if (target is null || (pending.Count == 0 && !followLast))
            {
                if (target is not null && reportLast)
                    onLink?.Invoke(candidate, target);
                resolved.Add(part);
                continue;
            }
            if (++hops > MaxHops)
                return null;
            onLink?.Invoke(candidate, target);
            if (target.StartsWith('/'))
                resolved.Clear();
            var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = parts.Length - 1; i >= 0; i--)
                pending.AddFirst(parts[i]);
        }
        return "/" + string.Join('/', resolved);
    }
}
