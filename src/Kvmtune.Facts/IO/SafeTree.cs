using System.Text;

namespace Kvmtune.Facts.IO;

/// <summary>A write or read the safe writer refused, with the machine path and the reason.</summary>
public sealed class UnsafePathException(string path, string problem) : IOException($"{path}: refused: {problem}")
{
    public string MachinePath { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>A regular file's bytes with its owner and permission bits, as read before a change.</summary>
public sealed record FileImage(byte[] Bytes, uint Mode, uint Uid, uint Gid);

/// <summary>
/// The one way kvmtune touches a file. Every path is a machine path ("/etc/sysctl.d/x.conf") resolved from an open
/// descriptor of the root with openat2(2): RESOLVE_IN_ROOT (absolute links stay under --root) and, for the files
/// kvmtune owns, RESOLVE_NO_SYMLINKS (no link anywhere on the path). Kernels before 5.6 get the same rules from a
/// component-by-component walk with O_NOFOLLOW. Temporary files are created O_EXCL|O_NOFOLLOW beside their target
/// and renamed over it; owner and mode are kept.
/// </summary>
public sealed class SafeTree : IDisposable
{
    /// <summary>
    /// The suffix every temporary file carries, so the next run can find and remove what a kill left.
    /// </summary>
    public const string TempMarker = ".kvmtune-tmp-";

    private readonly int _rootFd;
    private readonly bool _fallbackWalk;
    private readonly ITreeKernel? _kernel;

    /// <param name="root">The folder that stands for '/'; "/" is the live host.</param>
    /// <param name="kernel">What answers an attribute written in a tree (none on the live host, where the kernel
    /// answers).</param>
    public SafeTree(string root, ITreeKernel? kernel = null)
    {
        Root = root;
        if (kernel is not null && IsLive)
            throw new ArgumentException("the live host's kernel answers its own attribute writes", nameof(kernel));
        _kernel = kernel;
        _rootFd = NativeSys.OpenDirectory(root);
        if (_rootFd < 0)
            throw new UnsafePathException(root, $"cannot open the root: {NativeSys.ErrorText(-_rootFd)}");
        var probe = NativeSys.OpenAt2(
            _rootFd,
            ".",
            NativeSys.OPathOnly | NativeSys.OCloseOnExec,
            0,
            NativeSys.ResolveInRoot
        );
        _fallbackWalk = probe == -38; // ENOSYS: no openat2
        if (probe >= 0)
            NativeSys.CloseFd(probe);
    }

    public string Root { get; }

    public bool IsLive => Root == "/";

    public void Dispose() => NativeSys.CloseFd(_rootFd);

    /// <summary>
    /// Opens a machine path; links are followed only inside the root, and not at all when <paramref name="noLinks"/>.
    /// </summary>
    private int Open(string machinePath, int flags, int mode, bool noLinks)
    {
        var rel = Relative(machinePath);
        if (!_fallbackWalk)
        {
            var resolve =
                NativeSys.ResolveInRoot | NativeSys.ResolveNoMagicLinks | (noLinks ? NativeSys.ResolveNoSymlinks : 0);
            return NativeSys.OpenAt2(_rootFd, rel, flags | NativeSys.OCloseOnExec, mode, resolve);
        }
        // Old kernels: walk each folder with O_NOFOLLOW; a followed link is resolved inside the root first.
        var real = noLinks
            ? machinePath
            : LinkWalker.Resolve(Root, machinePath, followLast: (flags & NativeSys.ONoFollow) == 0);
        if (real is null)
            return -40; // ELOOP
        return WalkNoFollow(Relative(real), flags, mode);
    }

    private int WalkNoFollow(string rel, int flags, int mode) => WalkNoFollow(_rootFd, rel, flags, mode);

    /// <summary>
    /// Opens <paramref name="rel"/> below an open folder, one component at a time, following no link.
    /// </summary>
    public static int WalkNoFollow(int rootFd, string rel, int flags, int mode)
    {
        var parts = rel.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // The folder itself, opened as asked (to be listed, say), not as the walk's O_PATH handle.
        if (parts.Length == 0)
            return NativeSys.OpenAt(rootFd, ".", flags | NativeSys.OCloseOnExec, mode);
        var dir = NativeSys.OpenAt(
            rootFd,
            ".",
            NativeSys.OPathOnly | NativeSys.ODirectoryFlag | NativeSys.OCloseOnExec,
            0
        );
        for (var i = 0; i < parts.Length - 1 && dir >= 0; i++)
        {
            var next = NativeSys.OpenAt(
                dir,
                parts[i],
                NativeSys.OPathOnly | NativeSys.ODirectoryFlag | NativeSys.ONoFollow | NativeSys.OCloseOnExec,
                0
            );
            NativeSys.CloseFd(dir);
            dir = next;
        }
        if (dir < 0)
            return dir;
        var fd = NativeSys.OpenAt(dir, parts[^1], flags | NativeSys.ONoFollow | NativeSys.OCloseOnExec, mode);
        NativeSys.CloseFd(dir);
        return fd;
    }

    private static string Relative(string machinePath)
    {
        if (machinePath == "/")
            return ".";
        if (!machinePath.StartsWith('/') || machinePath.Split('/').Skip(1).Any(p => p is "" or "." or ".."))
            throw new UnsafePathException(machinePath, "not a plain absolute path");
        return machinePath[1..];
    }

    private static (string Parent, string Name) Split(string machinePath)
    {
        var slash = machinePath.LastIndexOf('/');
        return (slash == 0 ? "/" : machinePath[..slash], machinePath[(slash + 1)..]);
    }

    // ---- files kvmtune owns (/etc drop-ins, the journal, run state): no link anywhere on the path ----

    /// <summary>
    /// A regular file's bytes, owner and mode; null when absent. Anything else at the path is refused.
    /// </summary>
    public FileImage? ReadOwnedFile(string machinePath, long limit = InputFile.DefaultLimit)
    {
        var fd = Open(machinePath, NativeSys.ORdOnly | NativeSys.ONoFollow | NativeSys.ONonBlock, 0, noLinks: true);
        if (fd == -2)
            return null; // ENOENT (of the file or a folder above it)
        if (fd < 0)
            throw Refused(machinePath, fd);
        try
        {
            var st = NativeSys.Fstat(fd) ?? throw new UnsafePathException(machinePath, "cannot read its type");
            RequireOwnedRegular(machinePath, st);
            if (st.Size > limit)
                throw new UnsafePathException(machinePath, $"larger than {limit} bytes");
            return new FileImage(ReadFd(fd, machinePath, limit), st.Permissions, st.Uid, st.Gid);
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }

    private static void RequireOwnedRegular(string machinePath, StatInfo st)
    {
        if (!st.IsRegular)
            throw new UnsafePathException(machinePath, "it is not a regular file (a link, device or folder)");
        // A second name for the same file could be /etc/shadow: kvmtune's own files have exactly one.
        if (st.Links != 1)
            throw new UnsafePathException(machinePath, $"it has {st.Links} hard links");
    }

    /// <summary>The folders missing above a file, outermost first: what a write would create.</summary>
    public IReadOnlyList<string> MissingFolders(string machinePath)
    {
        var missing = new List<string>();
        for (var dir = Split(machinePath).Parent; dir != "/"; dir = Split(dir).Parent)
        {
            var fd = Open(dir, NativeSys.OPathOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
            if (fd >= 0)
            {
                NativeSys.CloseFd(fd);
                break;
            }
            if (fd != -2)
                throw Refused(dir, fd);
            missing.Insert(0, dir);
        }
        return missing;
    }

    /// <summary>
    /// Replaces (or creates) a regular file atomically: a new temporary file beside it (O_EXCL|O_NOFOLLOW), written
    /// and synced, given the owner and mode asked for, renamed over the target, and the folder synced.
    /// </summary>
    public void ReplaceOwnedFile(
        string machinePath,
        ReadOnlySpan<byte> bytes,
        uint mode,
        uint uid,
        uint gid,
        IReadOnlyList<string>? createFolders = null,
        bool allowHardLinks = false
    )
    {
        foreach (var folder in createFolders ?? [])
            CreateFolder(folder);
        var (parent, name) = Split(machinePath);
        var dir = Open(parent, NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
        if (dir < 0)
            throw Refused(parent, dir);
        try
        {
            var existing = NativeSys.LstatAt(dir, name);
            if (existing is { } st)
            {
                if (allowHardLinks && !st.IsRegular)
                    throw new UnsafePathException(machinePath, "it is not a regular file");
                if (!allowHardLinks)
                    RequireOwnedRegular(machinePath, st);
            }
            // A fresh random name each try: a name planted in advance (a folder, a link) is never ours to reuse.
            string temp;
            int fd;
            var tries = 0;
            do
            {
                var nonce = NativeSys.RandomHex(6);
                temp = $".{name}{TempMarker}{Environment.ProcessId}-{nonce}";
                fd = NativeSys.OpenAt(
                    dir,
                    temp,
                    NativeSys.OWrOnly
                        | NativeSys.OCreate
                        | NativeSys.OExclusive
                        | NativeSys.ONoFollow
                        | NativeSys.OCloseOnExec,
                    0b110_000_000
                );
            } while (fd == -17 && ++tries < 8); // EEXIST
            if (fd < 0)
                throw Refused(machinePath, fd);
            var renamed = false;
            try
            {
                Check(machinePath, NativeSys.WriteAll(fd, bytes), "write");
                var chown = NativeSys.FchownFd(fd, uid, gid);
                if (chown != 0 && chown != 1)
                    Check(machinePath, chown, "chown"); // EPERM as a non-root test user
                Check(machinePath, NativeSys.FchmodFd(fd, mode), "chmod");
                Check(machinePath, NativeSys.FsyncFd(fd), "fsync");
                NativeSys.CloseFd(fd);
                fd = -1;
                Check(machinePath, NativeSys.RenameAt(dir, temp, dir, name), "rename");
                renamed = true;
                Check(parent, NativeSys.FsyncFd(dir), "fsync");
            }
            finally
            {
                if (fd >= 0)
                    NativeSys.CloseFd(fd);
                if (!renamed)
                    _ = NativeSys.UnlinkAt(dir, temp, directory: false);
            }
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    private void CreateFolder(string machinePath)
    {
        var (parent, name) = Split(machinePath);
        var dir = Open(parent, NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
        if (dir < 0)
            throw Refused(parent, dir);
        try
        {
            var rc = NativeSys.MkdirAt(dir, name, 0b111_101_101);
            if (rc != 0 && rc != 17)
                throw Refused(machinePath, -rc);
            var st = NativeSys.LstatAt(dir, name);
            if (st is not { IsDirectory: true })
                throw new UnsafePathException(machinePath, "it is not a folder");
            Check(parent, NativeSys.FsyncFd(dir), "fsync");
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    /// <summary>Removes a file kvmtune created; absent is fine; anything but a regular file is refused.</summary>
    public void DeleteOwnedFile(string machinePath)
    {
        var (parent, name) = Split(machinePath);
        var dir = Open(parent, NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
        if (dir == -2)
            return;
        if (dir < 0)
            throw Refused(parent, dir);
        try
        {
            var st = NativeSys.LstatAt(dir, name);
            if (st is null)
                return;
            if (!st.Value.IsRegular)
                throw new UnsafePathException(machinePath, "it is not a regular file");
            Check(machinePath, NativeSys.UnlinkAt(dir, name, directory: false), "unlink");
            Check(parent, NativeSys.FsyncFd(dir), "fsync");
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    /// <summary>Removes a folder kvmtune created, if it is (still) an empty folder; true when it is gone.</summary>
    public bool RemoveEmptyFolder(string machinePath)
    {
        var (parent, name) = Split(machinePath);
        var dir = Open(parent, NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
        if (dir == -2)
            return true;
        if (dir < 0)
            throw Refused(parent, dir);
        try
        {
            var st = NativeSys.LstatAt(dir, name);
            if (st is null)
                return true;
            if (!st.Value.IsDirectory)
                return false;
            var rc = NativeSys.UnlinkAt(dir, name, directory: true);
            if (rc == 39)
                return false; // ENOTEMPTY: someone put something there; leave it
            Check(machinePath, rc, "rmdir");
            Check(parent, NativeSys.FsyncFd(dir), "fsync");
            return true;
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    /// <summary>
    /// Removes the temporary files a killed run left in a folder (only regular files with kvmtune's marker).
    /// </summary>
    public void CleanTemporaryFiles(string folder)
    {
        var dir = Open(folder, NativeSys.ORdOnly | NativeSys.ODirectoryFlag, 0, noLinks: true);
        if (dir < 0)
            return;
        try
        {
            var names = NativeFile.ListNames($"/proc/self/fd/{dir}") ?? [];
            foreach (var n in names.Where(n => n.StartsWith('.') && n.Contains(TempMarker, StringComparison.Ordinal)))
                RemoveTemp(dir, n);
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    private static void RemoveTemp(int dir, string name)
    {
        if (NativeSys.LstatAt(dir, name) is { IsRegular: true })
        {
            _ = NativeSys.UnlinkAt(dir, name, directory: false);
            _ = NativeSys.FsyncFd(dir);
        }
    }

    /// <summary>
    /// Opens (creating 0700 if missing) a folder kvmtune owns, such as the journal; a link there is refused.
    /// </summary>
    public int OpenOwnedFolder(string machinePath, bool create)
    {
        if (create)
        {
            foreach (var folder in MissingFolders(machinePath + "/x"))
                CreateFolder(folder);
        }
        var fd = Open(
            machinePath,
            NativeSys.ORdOnly | NativeSys.ODirectoryFlag | NativeSys.ONoFollow,
            0,
            noLinks: true
        );
        if (fd < 0)
            throw Refused(machinePath, fd);
        return fd;
    }

    // ---- kernel attributes (sysfs, procfs) ----

    /// <summary>
    /// Opens a kernel attribute to read or write. Links in the folders above it are followed inside the root (sysfs
    /// is built of them); the attribute itself must not be a link, and what it really is must be a sysfs or procfs
    /// file on a live host, or a single-named regular file in a tree under --root.
    /// </summary>
    public int OpenAttribute(string machinePath, bool write, Func<string, bool> acceptRealPath)
    {
        var flags =
            (write ? NativeSys.OWrOnly | (IsLive ? 0 : NativeSys.OTruncate) : NativeSys.ORdOnly)
            | NativeSys.ONoFollow
            | NativeSys.ONonBlock;
        var fd = Open(machinePath, flags, 0, noLinks: false);
        if (fd < 0)
            throw Refused(machinePath, fd);
        try
        {
            var st = NativeSys.Fstat(fd) ?? throw new UnsafePathException(machinePath, "cannot read its type");
            if (!st.IsRegular)
                throw new UnsafePathException(machinePath, "it is not a kernel attribute file");
            if (IsLive)
            {
                var fs = NativeSys.FilesystemType(fd);
                if (fs != NativeSys.SysfsMagic && fs != NativeSys.ProcMagic)
                    throw new UnsafePathException(machinePath, "it is not on sysfs or procfs");
            }
            else if (st.Links != 1)
                throw new UnsafePathException(machinePath, $"it has {st.Links} hard links");
            var real = RealMachinePath(fd) ?? throw new UnsafePathException(machinePath, "it lies outside the root");
            if (real != machinePath && !acceptRealPath(real))
                throw new UnsafePathException(machinePath, $"it leads to {real}, which kvmtune does not write");
            return fd;
        }
        catch
        {
            NativeSys.CloseFd(fd);
            throw;
        }
    }

    /// <summary>
    /// A link's target text (the folders above it followed inside the root); null when it is not a link.
    /// </summary>
    public string? ReadLink(string machinePath)
    {
        var (parent, name) = Split(machinePath);
        var dir = Open(parent, NativeSys.OPathOnly | NativeSys.ODirectoryFlag, 0, noLinks: false);
        if (dir < 0)
            return null;
        try
        {
            return NativeSys.ReadLinkAt(dir, name);
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    /// <summary>Creates a folder (the parent must exist); an existing folder is fine.</summary>
    public void MakeFolder(string machinePath) => CreateFolder(machinePath);

    /// <summary>
    /// In a tree under --root an attribute is an ordinary file, and a kill between truncating it and writing it would
    /// leave it empty (sysfs has no such moment): replace it whole instead, at the real place its links lead to.
    /// Then the tree's kernel, if it has one, answers before this returns, as a store() does inside write(2).
    /// </summary>
    public void ReplaceTreeAttribute(string machinePath, ReadOnlySpan<byte> bytes, Func<string, bool> acceptRealPath)
    {
        if (IsLive)
            throw new InvalidOperationException("live attributes are written in place");
        var fd = OpenAttribute(machinePath, write: false, acceptRealPath);
        string real;
        StatInfo st;
        try
        {
            real = RealMachinePath(fd) ?? throw new UnsafePathException(machinePath, "it lies outside the root");
            st = NativeSys.Fstat(fd) ?? throw new UnsafePathException(machinePath, "cannot read its type");
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
        ReplaceOwnedFile(real, bytes, st.Permissions, st.Uid, st.Gid);
        _kernel?.Written(real);
    }

    /// <summary>Removes the temporary files a killed run left beside a tree's attribute (where links lead).</summary>
    public void CleanTreeAttributeTemporaries(string machinePath, Func<string, bool> acceptRealPath)
    {
        if (IsLive)
            return;
        int fd;
        try
        {
            fd = OpenAttribute(machinePath, write: false, acceptRealPath);
        }
        catch (IOException)
        {
            return;
        }
        var real = RealMachinePath(fd);
        NativeSys.CloseFd(fd);
        if (real is not null)
            CleanTemporaryFiles(Split(real).Parent);
    }

    /// <summary>Where an open descriptor lies, as a machine path; null when outside the root.</summary>
    private string? RealMachinePath(int fd)
    {
        var real = NativeSys.PathOf(fd);
        if (real is null)
            return null;
        if (IsLive)
            return real;
        return real.StartsWith(Root + "/", StringComparison.Ordinal) ? real[Root.Length..] : null;
    }

    /// <summary>Reads an open attribute's text (one read: sysfs produces it in one show()).</summary>
    public static string? ReadAttribute(int fd)
    {
        var buffer = new byte[65536];
        var n = NativeSys.Read(fd, buffer);
        return n < 0 ? null : Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static byte[] ReadFd(int fd, string machinePath, long limit)
    {
        var buffer = new byte[4096];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            var n = NativeSys.Read(fd, buffer.AsSpan(total));
            if (n < 0)
                throw new UnsafePathException(machinePath, $"read: {NativeSys.ErrorText(-n)}");
            if (n == 0)
                return buffer.AsSpan(0, total).ToArray();
            total += n;
            if (total > limit)
                throw new UnsafePathException(machinePath, $"larger than {limit} bytes");
        }
    }

    private static void Check(string machinePath, int errno, string what)
    {
        if (errno != 0)
            throw new IOException($"{machinePath}: {what}: {NativeSys.ErrorText(errno)}");
    }

    private static Exception Refused(string machinePath, int negErrno) =>
        -negErrno switch
        {
            40 => new UnsafePathException(
                machinePath,
                "a symbolic link is on the path (kvmtune does not follow links here)"
            ),
            18 => new UnsafePathException(machinePath, "the path leaves the root"),
            20 => new UnsafePathException(machinePath, "a component of the path is not a folder"),
            6 => new UnsafePathException(machinePath, "it is a device that is not there (ENXIO)"),
            2 => new FileNotFoundException($"{machinePath}: no such file"),
            _ => new IOException($"{machinePath}: {NativeSys.ErrorText(-negErrno)}"),
        };
}
