using System.Text;

namespace Kvmtune.Facts.IO;

/// <summary>What a path names, as seen through symbolic links.</summary>
public enum EntryKind
{
    Missing,
    File,
    Directory,
}

/// <summary>
/// The one way the core reads a machine: every path is absolute in the machine's own terms
/// ("/sys/...") and is read under <see cref="Root"/>, so a live host, a snapshot and a test tree
/// read the same. Every answer is remembered, both so repeated reads agree within one run and so
/// <c>snapshot</c> can capture exactly what was consulted.
/// </summary>
public sealed class HostReader
{
    private readonly Dictionary<string, byte[]?> _files = new(StringComparer.Ordinal);
    // Only FolderListing values (or null): typed as the snapshot reads them, which spares the image a second set of
    // dictionary types.
    private readonly Dictionary<string, IReadOnlyList<string>?> _listings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>?>.AlternateLookup<ReadOnlySpan<char>> _listingsByFolder;
    private readonly Dictionary<string, EntryKind> _probes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnixFileMode?> _modes = new(StringComparer.Ordinal);
    private byte[] _scratch = new byte[8192];
    private NativeFile.DirHandle? _openDir;
    private string? _openDirPath;

    // Under --root every path is resolved from this descriptor with openat2(RESOLVE_IN_ROOT): a link in the tree,
    // absolute or relative, can never lead onto the live file system.
    private readonly NativeFile.DirHandle? _rootFd;

    // Under --root, the folder listed last, kept open: most reads after a listing are of names in that folder (a
    // PCI device's attributes and links), and opened from it the kernel walks one component, not the whole path.
    private (NativeFile.DirHandle Fd, string Path)? _listed;

    // Cleared when the kernel answers ENOSYS (before 5.6): every open then takes the walk that needs no openat2.
    private bool _openat2 = true;

    public HostReader(string root)
    {
        _listingsByFolder = _listings.GetAlternateLookup<ReadOnlySpan<char>>();
        Root = Path.GetFullPath(string.IsNullOrEmpty(root) ? "/" : root);
        if (Root.Length > 1)
            Root = Root.TrimEnd('/');
        if (!IsLive)
        {
            var fd = NativeSys.OpenDirectory(Root);
            _rootFd = fd >= 0 ? new NativeFile.DirHandle(fd) : null;
        }
    }

    /// <summary>Opens a machine path under --root, links followed inside the root only; -errno on failure.</summary>
    private int OpenInRoot(string path, int flags)
    {
        if (_rootFd is null)
            return -2;
        if (_openat2)
        {
            var rel = path.AsSpan().TrimStart('/');
            var fd = NativeSys.OpenAt2(
                _rootFd.Fd,
                rel.IsEmpty ? "." : rel,
                flags | NativeSys.OCloseOnExec,
                0,
                NativeSys.ResolveInRoot | NativeSys.ResolveNoMagicLinks
            );
            if (fd != -38)
                return fd;
            _openat2 = false;
        }
        // Kernels before 5.6 have no openat2: resolve the links inside the root first, then open what they name.
        var real = LinkWalker.Resolve(Root, path);
        // The resolved path is then walked from the root's descriptor with O_NOFOLLOW on every component, so a link
        // swapped in meanwhile is refused rather than followed out of the root.
        return real is null ? -40 : SafeTree.WalkNoFollow(_rootFd.Fd, real, flags, 0);
    }

    /// <summary>
    /// As <see cref="OpenInRoot"/>, from the folder listed last when the path lies under it. RESOLVE_BENEATH keeps
    /// the answer the root walk would give: a link that stays under the folder is followed there, and one that
    /// leaves it (absolute, or through "..") is refused with EXDEV and the path is walked again from the root. The
    /// folder is the one the root walk found at the listing: one renamed since is still read, as any open file is.
    /// </summary>
    private int OpenUnderListed(string path, int flags)
    {
        if (_openat2 && UnderListed(path, out var dir, out var rest))
        {
            var fd = NativeSys.OpenAt2(
                dir,
                rest,
                flags | NativeSys.OCloseOnExec,
                0,
                NativeSys.ResolveBeneath | NativeSys.ResolveNoMagicLinks
            );
            if (fd is not (-18 /* EXDEV */ or -38 /* ENOSYS */))
                return fd;
        }
        return OpenInRoot(path, flags);
    }

    /// <summary>The folder listed last and the rest of <paramref name="path"/> below it ("numa_node",
    /// "topology/core_id"); false when the path does not lie under it.</summary>
    private bool UnderListed(string path, out int folderFd, out ReadOnlySpan<char> rest)
    {
        if (
            _listed is var (dir, folder)
            && path.Length > folder.Length + 1
            && path[folder.Length] == '/'
            && path.StartsWith(folder, StringComparison.Ordinal)
        )
        {
            folderFd = dir.Fd;
            rest = path.AsSpan(folder.Length + 1);
            return true;
        }
        folderFd = -1;
        rest = default;
        return false;
    }

    /// <summary>A file of a tree: only a regular file is evidence (a device or FIFO planted in a tree is
    /// not).</summary>
    private byte[]? ReadInRoot(string path, bool single)
    {
        const int flags = NativeSys.ORdOnly | NativeSys.ONonBlock | NativeSys.ONoCtty;
        var slash = path.LastIndexOf('/');
        if (
            slash > 0
            && _listingsByFolder.TryGetValue(path.AsSpan(0, slash), out var listed)
            && listed is FolderListing l
        )
        {
            // The folder was listed this run: its answer holds for the names in it, as every answer does. A name
            // it gives another type is refused unopened; one it calls a regular file is still checked with fstat
            // below, since d_type is the folder entry's word (a crafted image or a file server can say one thing
            // at readdir and another at open).
            switch (l.TypeOf(path.AsSpan(slash + 1)))
            {
                case FolderListing.Absent:
                    return null;
                case FolderListing.Regular or FolderListing.Link or FolderListing.Unknown:
                    break;
                default:
                    return null; // a folder, device, FIFO or socket
            }
        }
        var fd = OpenUnderListed(path, flags);
        if (fd < 0)
            return null;
        if (NativeSys.Fstat(fd) is not { IsRegular: true } st)
        {
            NativeSys.CloseFd(fd);
            return null;
        }
        return NativeFile.ReadOpened(fd, single, ref _scratch, st.Size);
    }

    /// <summary>The folder that stands for "/"; "/" on a live machine.</summary>
    public string Root { get; }

    public bool IsLive => Root == "/";

    /// <summary>Where a machine path lies on this file system.</summary>
    public string Physical(string path)
    {
        if (!path.StartsWith('/'))
            throw new ArgumentException($"machine paths are absolute: '{path}'", nameof(path));
        return IsLive ? path : Root + path;
    }

    /// <summary>The raw bytes of a file, or null when it is missing or cannot be read.</summary>
    public byte[]? ReadBytes(string path)
    {
        if (_files.TryGetValue(path, out var cached))
            return cached;
        if (!IsLive)
        {
            var read = ReadInRoot(path, path.StartsWith("/sys/", StringComparison.Ordinal));
            _files[path] = read;
            return read;
        }
        var kernel =
            path.StartsWith("/sys/", StringComparison.Ordinal) || path.StartsWith("/proc/", StringComparison.Ordinal);
        // Kernel files report no true size; an ordinary file's size lets a large one be read without regrowing.
        long hint = 0;
        if (!kernel)
        {
            try
            {
                hint = new FileInfo(Physical(path)).Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                hint = 0;
            }
        }
        var single = path.StartsWith("/sys/", StringComparison.Ordinal);
        byte[]? data;
        var slash = path.LastIndexOf('/');
        if (kernel && slash > 0)
        {
            // Attributes come in runs from one folder (a device, a CPU): keep that folder open and read by name.
            var dir = path[..slash];
            if (dir != _openDirPath)
            {
                _openDir?.Dispose();
                _openDir = NativeFile.OpenDirectory(Physical(dir));
                _openDirPath = dir;
            }
            data = _openDir is null ? null : NativeFile.ReadAllAt(_openDir, path[(slash + 1)..], single, ref _scratch);
        }
        else
            data = NativeFile.ReadAll(Physical(path), single, ref _scratch, hint);
        _files[path] = data;
        return data;
    }

    /// <summary>
    /// A file's bytes, read now and not remembered, so <c>snapshot</c> does not capture it: vm audit looks at every
    /// process's command line to find QEMU, and those of other programs are none of a snapshot's business.
    /// </summary>
    public byte[]? Peek(string path)
    {
        if (_files.TryGetValue(path, out var cached))
            return cached;
        return IsLive ? NativeFile.ReadAll(Physical(path), false, ref _scratch, 0) : ReadInRoot(path, false);
    }

    /// <summary>
    /// A file's text with what kernels append removed: trailing NUL bytes, newlines and blanks.
    /// Null when missing or unreadable, so callers report "unknown" rather than zero.
    /// </summary>
    public string? ReadText(string path)
    {
        var data = ReadBytes(path);
        if (data is null)
            return null;
        // Trimmed as bytes, then decoded once: these ASCII bytes never occur inside a UTF-8 sequence, so the text is
        // what decoding and then trimming gives, without a second string.
        return Encoding.UTF8.GetString(data.AsSpan().TrimEnd("\0\n\r \t"u8));
    }

    /// <summary>A file's text as written, for multi-line files (cpuinfo, meminfo).</summary>
    public string? ReadAll(string path)
    {
        var data = ReadBytes(path);
        return data is null ? null : Encoding.UTF8.GetString(data).Replace("\0", "");
    }

    public long? ReadLong(string path) => long.TryParse(ReadText(path), out var v) ? v : null;

    public int? ReadInt(string path) => int.TryParse(ReadText(path), out var v) ? v : null;

    /// <summary>The names in a directory, sorted ordinally; null when it is not a readable directory.</summary>
    public FolderListing? List(string path)
    {
        if (_listings.TryGetValue(path, out var cached))
            return (FolderListing?)cached;
        var types = new List<byte>();
        var list = IsLive ? NativeFile.ListNames(Physical(path), types) : ListInRoot(path, types);
        // In name order, and a collection whose Contains is a binary search: readers ask it what a folder has.
        var names = list is null ? null : new FolderListing(list, types);
        _listings[path] = names;
        return names;
    }

    private List<string>? ListInRoot(string path, List<byte> types)
    {
        var fd = OpenInRoot(path, NativeSys.ORdOnly | NativeSys.ODirectoryFlag);
        var list = NativeFile.ListOpen(fd, types);
        if (list is null)
        {
            if (fd >= 0)
                NativeSys.CloseFd(fd);
            return null;
        }
        _listed?.Fd.Dispose();
        _listed = (new NativeFile.DirHandle(fd), path);
        return list;
    }

    /// <summary>Whether a path exists, following links.</summary>
    public EntryKind Probe(string path)
    {
        if (_probes.TryGetValue(path, out var cached))
            return cached;
        EntryKind kind;
        if (IsLive)
        {
            var p = Physical(path);
            kind =
                Directory.Exists(p) ? EntryKind.Directory
                : File.Exists(p) ? EntryKind.File
                : EntryKind.Missing;
        }
        else
        {
            var st = StatInRoot(path);
            kind =
                st is null ? EntryKind.Missing
                : st.Value.IsDirectory ? EntryKind.Directory
                : EntryKind.File;
        }
        _probes[path] = kind;
        return kind;
    }

    public bool Exists(string path) => Probe(path) != EntryKind.Missing;

    /// <summary>The target text of a symbolic link, or null when the path is not a link.</summary>
    public string? ReadLink(string path)
    {
        if (_links.TryGetValue(path, out var cached))
            return cached;
        string? target;
        if (IsLive)
            target = NativeFile.ReadLink(Physical(path));
        // Only a name in the folder itself: readlinkat would follow the links on the way to a deeper one.
        else if (UnderListed(path, out var listed, out var name) && !name.Contains('/'))
            target = NativeSys.ReadLinkAt(listed, name.ToString());
        else
        {
            var slash = path.LastIndexOf('/');
            var dir = OpenInRoot(slash <= 0 ? "/" : path[..slash], NativeSys.OPathOnly | NativeSys.ODirectoryFlag);
            target = dir < 0 ? null : NativeSys.ReadLinkAt(dir, path[(slash + 1)..]);
            if (dir >= 0)
                NativeSys.CloseFd(dir);
        }
        _links[path] = target;
        return target;
    }

    /// <summary>The last component of a link's target: a driver's or an IOMMU group's name.</summary>
    public string? LinkName(string path)
    {
        var target = ReadLink(path);
        if (string.IsNullOrEmpty(target))
            return null;
        return target.TrimEnd('/')[(target.TrimEnd('/').LastIndexOf('/') + 1)..];
    }

    /// <summary>Permission bits of a path (following links), or null when missing.</summary>
    public UnixFileMode? Mode(string path)
    {
        if (_modes.TryGetValue(path, out var cached))
            return cached;
        UnixFileMode? mode = null;
        if (!IsLive)
        {
            mode = StatInRoot(path) is { } st ? (UnixFileMode)st.Permissions : null;
            _modes[path] = mode;
            return mode;
        }
        try
        {
            var p = Physical(path);
            if (File.Exists(p) || Directory.Exists(p))
                mode = File.GetUnixFileMode(p);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            mode = null;
        }
        _modes[path] = mode;
        return mode;
    }

    private StatInfo? StatInRoot(string path)
    {
        var fd = OpenUnderListed(path, NativeSys.OPathOnly);
        if (fd < 0)
            return null;
        var st = NativeSys.Fstat(fd);
        NativeSys.CloseFd(fd);
        return st;
    }

    /// <summary>Everything consulted so far, for <c>snapshot</c>.</summary>
    public ConsultedPaths Consulted =>
        new(
            _files
                .Where(kv => kv.Value is not null)
                .ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal),
            _listings
                .Where(kv => kv.Value is not null)
                .ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal),
            _probes
                .Where(kv => kv.Value != EntryKind.Missing)
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            _links.Where(kv => kv.Value is not null).Select(kv => kv.Key).ToList(),
            _modes
                .Where(kv => kv.Value is not null)
                .ToDictionary(kv => kv.Key, kv => kv.Value!.Value, StringComparer.Ordinal)
        );
}

/// <summary>The record of one run's reads: file contents, directory listings, existence probes, links and
/// modes.</summary>
public sealed record ConsultedPaths(
    IReadOnlyDictionary<string, byte[]> Files,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Listings,
    IReadOnlyDictionary<string, EntryKind> Probes,
    IReadOnlyList<string> Links,
    IReadOnlyDictionary<string, UnixFileMode> Modes
);
