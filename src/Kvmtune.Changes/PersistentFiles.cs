using Kvmtune.Facts.Parsing;
using Kvmtune.Guide;

namespace Kvmtune.Changes;

/// <summary>
/// The files that make changes survive a reboot, each owned by kvmtune: the new content merges what an earlier
/// apply wrote there with this apply's settings (a later value for the same key wins).
/// </summary>
public static class PersistentFiles
{
    private const string Header = "# Written by kvmtune apply. 'kvmtune rollback' puts back what was here before.\n";

    /// <summary>The writes among <paramref name="changes"/> whose section declares them not persisted, each with
    /// the sentence why: Build writes no line for them.</summary>
    public static IReadOnlyList<string> NotPersisted(IReadOnlyList<PlannedChange> changes) =>
        changes
            .OfType<SysfsWrite>()
            .Where(w => w.Form?.Kind == PersistenceKind.NotPersisted)
            .Select(w => $"{w.Path}: not kept across a reboot: {w.Form!.Why} [{w.Section}]")
            .Distinct()
            .ToList();

    public static IReadOnlyDictionary<string, string> Build(
        IReadOnlyList<PlannedChange> changes,
        Func<string, string?> existing
    )
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);

        var modprobe = ParseModprobe(existing(SafePaths.ModprobeConf));
        foreach (var c in changes)
        {
            switch (c)
            {
                case ModuleOption o:
                    Set(modprobe, o.Module, o.Parameter, o.Value);
                    break;
                case ModuleParameter p:
                    Set(modprobe, p.Module, p.Parameter, p.Value);
                    break;
            }
        }
        if (changes.Any(c => c is ModuleOption or ModuleParameter))
            files[SafePaths.ModprobeConf] =
                Header
                + string.Concat(
                    modprobe.Select(m =>
                        $"options {m.Key} {string.Join(' ', m.Value.Select(kv => $"{kv.Key}={kv.Value}"))}\n"
                    )
                );

        var loads = Lines(existing(SafePaths.ModulesLoadConf)).Where(Grammar.IsName).ToList();
        foreach (var l in changes.OfType<ModuleLoad>())
            if (!loads.Contains(l.Module))
                loads.Add(l.Module);
        if (changes.Any(c => c is ModuleLoad))
            files[SafePaths.ModulesLoadConf] = Header + string.Concat(loads.Select(l => l + "\n"));

        // Each write is kept the way the section that allows its path declares (WriteAllowlist.FormOf).
        var writes = changes.OfType<SysfsWrite>().Select(w => (Write: w, Form: w.Form?.Kind)).ToList();
        var sysctl = KeyValues(existing(SafePaths.SysctlConf));
        var tmpfiles = new List<(string Path, string Line)>();
        foreach (var line in Lines(existing(SafePaths.TmpfilesConf)))
        {
            // Only lines of the form kvmtune writes survive a merge: w PATH - - - - VALUE, each part in its grammar,
            // for a path the guide still keeps this way. A line an earlier version wrote for a path now declared not
            // persisted (a driver binding) or kept otherwise would go on acting at every boot; rollback puts the
            // file back as it was. (Only an apply that writes this file drops them.)
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (
                f is ["w", var path, "-", "-", "-", "-", var value]
                && WriteAllowlist.FormOf(path)?.Kind == PersistenceKind.Tmpfiles
                && WriteAllowlist.AcceptsValue(path, value, out _)
                && Grammar.IsValue(value)
            )
                tmpfiles.Add((path, $"w {path} - - - - {value}"));
        }
        foreach (var (w, form) in writes)
        {
            switch (form)
            {
                case PersistenceKind.Sysctl:
                    sysctl[Persistence.SysctlKey(w.Path)!] = w.Value;
                    break;
                case PersistenceKind.Tmpfiles:
                    tmpfiles.RemoveAll(t => t.Path == w.Path);
                    tmpfiles.Add((w.Path, $"w {w.Path} - - - - {w.Value}"));
                    break;
            }
        }
        if (writes.Any(w => w.Form == PersistenceKind.Sysctl))
            files[SafePaths.SysctlConf] = Header + string.Concat(sysctl.Select(kv => $"{kv.Key} = {kv.Value}\n"));
        if (writes.Any(w => w.Form == PersistenceKind.Tmpfiles))
            files[SafePaths.TmpfilesConf] = Header + string.Concat(tmpfiles.Select(t => t.Line + "\n"));

        var args = ParseGrub(existing(SafePaths.GrubDropIn));
        foreach (var k in changes.OfType<KernelArgument>().Where(k => !k.Remove))
        {
            var i = args.FindIndex(a => a.Key == k.Key);
            if (i >= 0)
                args[i] = (k.Key, k.Value);
            else
                args.Add((k.Key, k.Value));
        }
        if (changes.OfType<KernelArgument>().Any(k => !k.Remove))
            files[SafePaths.GrubDropIn] =
                Header
                + "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT " +
                    $"{string.Join(' ', args.Select(a => a.Value is null ? a.Key : $"{a.Key}={a.Value}"))}\"\n";

        foreach (var m in changes.OfType<HugetlbfsMountChange>())
            files["/etc/systemd/system/" + m.SystemdUnitName] = MountUnit(m);
        return files;
    }

    public static string MountUnit(HugetlbfsMountChange m) =>
        $"""
            # Written by kvmtune apply: {Sizes.HumanKib(m.PageSizeKib)} huge pages for VMs (guide 3.2.3).
            [Unit]
            Description=Huge pages of {m.PageSizeOption} for VMs (kvmtune)
            DefaultDependencies=no
            Before=sysinit.target
            ConditionPathExists=/sys/kernel/mm/hugepages/hugepages-{m.PageSizeKib}kB

            [Mount]
            What=hugetlbfs
            Where={m.MountPoint}
            Type=hugetlbfs
            Options=pagesize={m.PageSizeOption}

            [Install]
            WantedBy=sysinit.target

            """;

    private static IEnumerable<string> Lines(string? text) =>
        (text ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));

    private static SortedDictionary<string, string> KeyValues(string? text)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Lines(text))
        {
            var i = line.IndexOf('=');
            if (i <= 0)
                continue;
            var (key, value) = (line[..i].Trim(), line[(i + 1)..].Trim());
            // As for tmpfiles.d: a key the guide still keeps in sysctl.d, with a value its file takes.
            var path = Persistence.SysctlPath(key);
            if (
                WriteAllowlist.FormOf(path)?.Kind == PersistenceKind.Sysctl
                && WriteAllowlist.AcceptsValue(path, value, out _)
                && Grammar.IsValue(value)
            )
                map[key] = value;
        }
        return map;
    }

    private static SortedDictionary<string, SortedDictionary<string, string>> ParseModprobe(string? text)
    {
        var map = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var line in Lines(text))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3 || f[0] != "options")
                continue;
            foreach (var kv in f.Skip(2))
            {
                var eq = kv.IndexOf('=');
                if (eq > 0 && Grammar.IsName(f[1]) && Grammar.IsName(kv[..eq]) && Grammar.IsValue(kv[(eq + 1)..]))
                    Set(map, f[1], kv[..eq], kv[(eq + 1)..]);
            }
        }
        return map;
    }

    private static void Set(
        SortedDictionary<string, SortedDictionary<string, string>> map,
        string module,
        string parameter,
        string value
    )
    {
        if (!map.TryGetValue(module, out var ps))
            map[module] = ps = new SortedDictionary<string, string>(StringComparer.Ordinal);
        ps[parameter] = value;
    }

    /// <summary>The arguments inside kvmtune's own GRUB_CMDLINE_LINUX_DEFAULT line, in order.</summary>
    private static List<(string Key, string? Value)> ParseGrub(string? text)
    {
        var args = new List<(string, string?)>();
        foreach (var line in Lines(text))
        {
            const string prefix = "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT";
            if (!line.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            foreach (var w in line[prefix.Length..].TrimEnd('"').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = w.IndexOf('=');
                var (key, value) = eq < 0 ? (w, null) : (w[..eq], w[(eq + 1)..]);
                if (Grammar.IsArgumentKey(key) && (value is null || Grammar.IsArgumentValue(value)))
                    args.Add((key, value));
            }
        }
        return args;
    }
}
