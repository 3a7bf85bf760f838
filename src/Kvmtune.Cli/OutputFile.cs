using System.Text;
using Kvmtune.Core.IO;

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
        if (path is null) { ctx.Out.Write(content); return; }
        Write(path, new UTF8Encoding(false).GetBytes(content));
    }

    public static void Write(string path, byte[] bytes)
    {
        if (path.Length == 0) throw new CliException(ExitCodes.BadInput, "--output: the file name is empty");
        var full = Path.GetFullPath(path);
        var target = NativeSys.Stat(full);
        if (target is { IsDirectory: true }) throw new CliException(ExitCodes.BadInput, $"--output: '{path}' is a folder");
        if (target is { IsRegular: false })
        {
            WriteThrough(path, full, bytes);
            return;
        }
        // A link to a regular file (or to nothing yet): the file it names is replaced, the link stays.
        var real = NativeSys.Lstat(full) is { IsLink: true }
            ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full
            : full;
        var dir = Path.GetDirectoryName(real)!;
        if (!Directory.Exists(dir)) throw new CliException(ExitCodes.BadInput, $"--output: folder '{dir}' does not exist");
        using var tree = new SafeTree(dir);
        var mode = target?.Permissions ?? 0b110_100_100;
        tree.ReplaceOwnedFile("/" + Path.GetFileName(real), bytes, mode, target?.Uid ?? NativeSys.EffectiveUid(),
            target?.Gid ?? NativeSys.EffectiveGid(), allowHardLinks: true);
    }

    private static void WriteThrough(string path, string full, byte[] bytes)
    {
        var fd = NativeSys.OpenAt(-100, full, NativeSys.OWrOnly | NativeSys.ONoCtty | NativeSys.OCloseOnExec, 0);
        if (fd < 0) throw new CliException(ExitCodes.BadInput, $"--output: cannot write '{path}': {NativeSys.ErrorText(-fd)}");
        try
        {
            var errno = NativeSys.WriteAll(fd, bytes);
            if (errno != 0) throw new CliException(ExitCodes.BadInput, $"--output: writing '{path}': {NativeSys.ErrorText(errno)}");
        }
        finally
        {
            NativeSys.CloseFd(fd);
        }
    }
}
