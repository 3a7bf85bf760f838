namespace Kvmtune.Cli;

/// <summary>Writes a command's output to stdout, or to a file atomically (temporary file in the same folder, then rename).</summary>
public static class OutputFile
{
    public static void Write(CliContext ctx, string? path, string content)
    {
        if (string.IsNullOrEmpty(path)) { ctx.Out.Write(content); return; }
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new CliException(ExitCodes.BadInput, $"--output: folder '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
