using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Kvmtune.Facts.IO;

namespace Kvmtune.Facts.Snapshot;

/// <summary>
/// Writes what a <see cref="HostReader"/> consulted as a gzip'd tar that is itself a valid <c>--root</c>:
/// files with the bytes that were read (not re-read: the snapshot shows what kvmtune saw), links with
/// their targets, folders with the entries that were listed. A path reached through links is stored at
/// its real place, with each link on the way, as hwloc-gather-topology does.
/// </summary>
public sealed class SnapshotWriter
{
    private readonly HostReader _reader;
    private readonly SortedDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private abstract record Entry;

    private sealed record FileEntry(byte[] Data, UnixFileMode Mode, bool Placeholder = false) : Entry;

    private sealed record DirEntry(UnixFileMode Mode) : Entry;

    private sealed record LinkEntry(string Target) : Entry;

    public SnapshotWriter(HostReader reader) => _reader = reader;

    /// <summary>How many files, folders and links the archive holds once built.</summary>
    public int Count => _entries.Count;

    public void Write(Stream output, string manifestJson)
    {
        Build();
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
        var now = DateTimeOffset.UtcNow;
        var manifest = Encoding.UTF8.GetBytes(manifestJson);
        tar.WriteEntry(
            new PaxTarEntry(TarEntryType.RegularFile, "kvmtune-snapshot.json")
            {
                DataStream = new MemoryStream(manifest),
                Mode = (UnixFileMode)0b110_100_100,
                ModificationTime = now,
            }
        );
        // Folders, then files, then links: extracting never has to write through a link.
        foreach (var (path, e) in _entries.Where(kv => kv.Value is DirEntry))
            tar.WriteEntry(
                new PaxTarEntry(TarEntryType.Directory, path + "/")
                {
                    Mode =
                        ((DirEntry)e).Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                    ModificationTime = now,
                }
            );
        foreach (var (path, e) in _entries.Where(kv => kv.Value is FileEntry))
        {
            var f = (FileEntry)e;
            tar.WriteEntry(
                new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(f.Data),
                    Mode = f.Mode,
                    ModificationTime = now,
                }
            );
        }
        foreach (var (path, e) in _entries.Where(kv => kv.Value is LinkEntry))
            tar.WriteEntry(
                new PaxTarEntry(TarEntryType.SymbolicLink, path)
                {
                    LinkName = ((LinkEntry)e).Target,
                    Mode = (UnixFileMode)0b111_111_111,
                    ModificationTime = now,
                }
            );
    }

    private void Build()
    {
        var consulted = _reader.Consulted;
        foreach (var (path, data) in consulted.Files)
            if (Walk(path, followLast: true) is string real)
                _entries[real] = new FileEntry(data, ModeOf(real, (UnixFileMode)0b110_100_100));
        foreach (var (path, names) in consulted.Listings)
        {
            if (Walk(path, followLast: true) is not string real)
                continue;
            AddDir(real);
            foreach (var name in names)
            {
                var childLogical = path == "/" ? "/" + name : path + "/" + name;
                if (Walk(childLogical, followLast: false) is not string child || _entries.ContainsKey(child))
                    continue;
                AddPlaceholder(child);
            }
        }
        foreach (var (path, _) in consulted.Probes)
            if (Walk(path, followLast: true) is string real && !_entries.ContainsKey(real))
                AddPlaceholder(real);
        foreach (var (path, _) in consulted.Modes)
            if (Walk(path, followLast: true) is string real && !_entries.ContainsKey(real))
                AddPlaceholder(real);
        foreach (var path in consulted.Links)
            Walk(path, followLast: false, recordLast: true);
        // Every folder on the way to an entry, with its own mode.
        foreach (var path in _entries.Keys.ToList())
            for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
                if (!_entries.TryGetValue(path[..slash], out var parent) || parent is FileEntry { Placeholder: true })
                    AddDir(path[..slash]);
    }

    /// <summary>A listed entry nobody read: a folder stays a folder, a link a link; a file is stored empty.</summary>
    private void AddPlaceholder(string real)
    {
        var physical = Physical(real);
        var info = new FileInfo(physical);
        if (info.LinkTarget is string target)
        {
            _entries[real] = new LinkEntry(target);
            return;
        }
        if (Directory.Exists(physical))
        {
            AddDir(real);
            return;
        }
        // Device nodes (/dev/kvm) become empty files with the same permissions: existence and mode are what is read.
        // So does a listed entry that has vanished since (a process that exited): a folder below it upgrades it.
        _entries[real] = new FileEntry([], ModeOf(real, (UnixFileMode)0b110_100_100), Placeholder: true);
    }

    private void AddDir(string real)
    {
        if (_entries.TryGetValue(real, out var e) && e is DirEntry)
            return;
        if (e is FileEntry { Placeholder: true })
            _entries.Remove(real);
        _entries[real] = new DirEntry(ModeOf(real, (UnixFileMode)0b111_101_101));
    }

    private UnixFileMode ModeOf(string real, UnixFileMode fallback)
    {
        try
        {
            return File.GetUnixFileMode(Physical(real));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return fallback;
        }
    }

    private string Physical(string real) => _reader.IsLive ? "/" + real : _reader.Root + "/" + real;

    /// <summary>
    /// The real path (relative to the root, no leading slash) of a machine path, recording each link met on the
    /// way. Null when links loop, or lead to the root itself.
    /// </summary>
    private string? Walk(string path, bool followLast, bool recordLast = false)
    {
        var real = LinkWalker.Resolve(
            _reader.Root,
            path,
            followLast,
            (link, target) => _entries[link.TrimStart('/')] = new LinkEntry(target),
            recordLast
        );
        return real is null or "/" ? null : real.TrimStart('/');
    }
}
