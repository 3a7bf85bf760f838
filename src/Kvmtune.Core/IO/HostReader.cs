using System.Text;

namespace Kvmtune.Core.IO;

/// <summary>What a path names, as seen through symbolic links.</summary>
public enum EntryKind { Missing, File, Directory }

/// <summary>
/// The one way the core reads a machine: every path is absolute in the machine's own terms
/// ("/sys/...") and is read under <see cref="Root"/>, so a live host, a snapshot and a test tree
/// read the same. Every answer is remembered, both so repeated reads agree within one run and so
/// <c>snapshot</c> can capture exactly what was consulted.
/// </summary>
public sealed class HostReader
{
    private readonly Dictionary<string, byte[]?> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>?> _listings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EntryKind> _probes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnixFileMode?> _modes = new(StringComparer.Ordinal);
    private byte[] _scratch = new byte[8192];
    private NativeFile.DirHandle? _openDir;
    private string? _openDirPath;

    public HostReader(string root)
    {
        Root = Path.GetFullPath(string.IsNullOrEmpty(root) ? "/" : root);
        if (Root.Length > 1) Root = Root.TrimEnd('/');
    }

    /// <summary>The folder that stands for "/"; "/" on a live machine.</summary>
    public string Root { get; }

    public bool IsLive => Root == "/";

    /// <summary>Where a machine path lies on this file system.</summary>
    public string Physical(string path)
    {
        if (!path.StartsWith('/')) throw new ArgumentException($"machine paths are absolute: '{path}'", nameof(path));
        return IsLive ? path : Root + path;
    }

    /// <summary>The raw bytes of a file, or null when it is missing or cannot be read.</summary>
    public byte[]? ReadBytes(string path)
    {
        if (_files.TryGetValue(path, out var cached)) return cached;
        var kernel = path.StartsWith("/sys/", StringComparison.Ordinal) || path.StartsWith("/proc/", StringComparison.Ordinal);
        // Kernel files report no true size; an ordinary file's size lets a large one be read without regrowing.
        long hint = 0;
        if (!kernel)
        {
            try { hint = new FileInfo(Physical(path)).Length; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { hint = 0; }
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
        else data = NativeFile.ReadAll(Physical(path), single, ref _scratch, hint);
        _files[path] = data;
        return data;
    }

    /// <summary>
    /// A file's text with what kernels append removed: trailing NUL bytes, newlines and blanks.
    /// Null when missing or unreadable, so callers report "unknown" rather than zero.
    /// </summary>
    public string? ReadText(string path)
    {
        var data = ReadBytes(path);
        if (data is null) return null;
        return Encoding.UTF8.GetString(data).TrimEnd('\0', '\n', '\r', ' ', '\t');
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
    public IReadOnlyList<string>? List(string path)
    {
        if (_listings.TryGetValue(path, out var cached)) return cached;
        var list = NativeFile.ListNames(Physical(path));
        list?.Sort(StringComparer.Ordinal);
        IReadOnlyList<string>? names = list;
        _listings[path] = names;
        return names;
    }

    /// <summary>Whether a path exists, following links.</summary>
    public EntryKind Probe(string path)
    {
        if (_probes.TryGetValue(path, out var cached)) return cached;
        var p = Physical(path);
        var kind = Directory.Exists(p) ? EntryKind.Directory : File.Exists(p) ? EntryKind.File : EntryKind.Missing;
        _probes[path] = kind;
        return kind;
    }

    public bool Exists(string path) => Probe(path) != EntryKind.Missing;

    /// <summary>The target text of a symbolic link, or null when the path is not a link.</summary>
    public string? ReadLink(string path)
    {
        if (_links.TryGetValue(path, out var cached)) return cached;
        var target = NativeFile.ReadLink(Physical(path));
        _links[path] = target;
        return target;
    }

    /// <summary>The last component of a link's target: a driver's or an IOMMU group's name.</summary>
    public string? LinkName(string path)
    {
        var target = ReadLink(path);
        if (string.IsNullOrEmpty(target)) return null;
        return target.TrimEnd('/')[(target.TrimEnd('/').LastIndexOf('/') + 1)..];
    }

    /// <summary>Permission bits of a path (following links), or null when missing.</summary>
    public UnixFileMode? Mode(string path)
    {
        if (_modes.TryGetValue(path, out var cached)) return cached;
        UnixFileMode? mode = null;
        try
        {
            var p = Physical(path);
            if (File.Exists(p) || Directory.Exists(p)) mode = File.GetUnixFileMode(p);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            mode = null;
        }
        _modes[path] = mode;
        return mode;
    }

    /// <summary>Everything consulted so far, for <c>snapshot</c>.</summary>
    public ConsultedPaths Consulted => new(
        _files.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal),
        _listings.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal),
        _probes.Where(kv => kv.Value != EntryKind.Missing).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        _links.Where(kv => kv.Value is not null).Select(kv => kv.Key).ToList(),
        _modes.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.Value, StringComparer.Ordinal));
}

/// <summary>The record of one run's reads: file contents, directory listings, existence probes, links and modes.</summary>
public sealed record ConsultedPaths(
    IReadOnlyDictionary<string, byte[]> Files,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Listings,
    IReadOnlyDictionary<string, EntryKind> Probes,
    IReadOnlyList<string> Links,
    IReadOnlyDictionary<string, UnixFileMode> Modes);
