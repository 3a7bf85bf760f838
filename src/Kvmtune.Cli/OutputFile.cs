using System.Text;
using Kvmtune.Facts.IO;

namespace Kvmtune.Cli;

/// <summary>
/// Writes a command's output to stdout or to --output. A regular file (or a missing one) is replaced atomically: a
/// new temporary file beside it, renamed over it, its owner and mode kept. A character device, pipe, socket or
/// terminal (/dev/stdout, /dev/null) is written through and never replaced; a link is followed to what it names.
/// </summary>
public static class OutputFile
{
    public static void Write(CliContext ctx, string? path, string content)
    {
        if (path is null)
        {
            ctx.Out.Write(content);
            return;
        }
        Write(path, new UTF8Encoding(false).GetBytes(content));
    }

    public static void Write(string path, byte[] bytes)
    {
        if (path.Length == 0)
            throw new CliException(ExitCodes.BadInput, "--output: the file name is empty");
        var full = Path.GetFullPath(path);
        if (NativeSys.Lstat(full) is { IsLink: true } link)
            RefuseForeignLink(path, full, link);
        // Opened without O_CREAT or O_TRUNC, which changes nothing; the open descriptor then says what it is, so
        // nothing can be swapped in between a check and the write.
        var fd = NativeSys.OpenAt(-100, full, NativeSys.OWrOnly | NativeSys.ONoCtty | NativeSys.OCloseOnExec, 0);
        if (fd == -21)
            throw new CliException(ExitCodes.BadInput, $"--output: '{path}' is a folder");
        StatInfo? target = null;
        if (fd >= 0)
        {
            try
            {
                target = NativeSys.Fstat(fd);
                if (target is { IsRegular: false })
                {
                    var errno = NativeSys.WriteAll(fd, bytes);
                    if (errno != 0)
                        throw new CliException(
                            ExitCodes.BadInput,
                            $"--output: writing '{path}': {NativeSys.ErrorText(errno)}"
                        );
                    return;
                }
            }
            finally
            {
                NativeSys.CloseFd(fd);
            }
        }
        else if (fd != -2)
            throw new CliException(ExitCodes.BadInput, $"--output: cannot write '{path}': {NativeSys.ErrorText(-fd)}");
        // A regular file, or none yet: the file a link names is replaced, the link stays.
        var real = NativeSys.Lstat(full) is { IsLink: true }
            ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full
            : full;
        var dir = Path.GetDirectoryName(real)!;
        if (!Directory.Exists(dir))
            throw new CliException(ExitCodes.BadInput, $"--output: folder '{dir}' does not exist");
        using var tree = new SafeTree(dir);
        tree.ReplaceOwnedFile(
            "/" + Path.GetFileName(real),
            bytes,
            target?.Permissions ?? 0b110_100_100,
            target?.Uid ?? NativeSys.EffectiveUid(),
            target?.Gid ?? NativeSys.EffectiveGid(),
            allowHardLinks: true
        );
    }

    /// <summary>
    /// The kernel's fs.protected_symlinks rule, which a shell's redirection gets for free and kvmtune's own link
    /// resolution would not: in a sticky world-writable folder (/tmp) a link is followed only when it belongs to
    /// the caller or to the folder's owner.
    /// </summary>
    private static void RefuseForeignLink(string path, string full, StatInfo link)
    {
        if (NativeSys.Stat(Path.GetDirectoryName(full)!) is not { } folder)
            return;
        var stickyWorldWritable = (folder.Mode & 0x200) != 0 && (folder.Mode & 0x2) != 0;
        if (stickyWorldWritable && link.Uid != NativeSys.EffectiveUid() && link.Uid != folder.Uid)
            throw new CliException(
                ExitCodes.BadInput,
                $"--output: '{path}' is a link owned by another user in a shared folder; not followed"
            );
    }
}
