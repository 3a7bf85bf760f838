using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Core.Host;
using Kvmtune.Core.Output.Inspect;
using Kvmtune.Core.Snapshot;

namespace Kvmtune.Cli.Commands.Snapshot;

/// <summary><c>kvmtune snapshot</c>: every file the readers consulted, as a tarball that is itself a valid --root.</summary>
public static class SnapshotCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var output = new Option<string>("--output", "-o") { Description = "The .tar.gz to write", HelpName = "FILE.tar.gz", Required = true };
        var command = new Command("snapshot", "Capture every file that inspect and audit read, for offline inspection and audit elsewhere") { output };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.Read(reader);
            var path = parse.GetValue(output)!;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (!Directory.Exists(dir)) throw new CliException(ExitCodes.BadInput, $"--output: folder '{dir}' does not exist");
            var manifest = new SnapshotManifest("kvmtune.snapshot/v1", typeof(SnapshotCommand).Assembly.GetName().Version?.ToString() ?? "?",
                DateTimeOffset.UtcNow.ToString("O"), reader.Root, InspectDocument.RoleName(facts.Virtualization.Role), facts.Kernel.Release);
            var writer = new SnapshotWriter(reader);
            // Written beside the target and renamed, so a reader never sees half an archive.
            var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                {
                    writer.Write(stream, JsonSerializer.Serialize(manifest, SnapshotJsonContext.Default.SnapshotManifest));
                    stream.Flush(flushToDisk: true);
                }
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            ctx.Error.WriteLine($"snapshot: {writer.Count} files, folders and links from {reader.Root} written to {path}");
            return ExitCodes.Success;
        });
        return command;
    }
}

public sealed record SnapshotManifest(string Schema, string KvmtuneVersion, string Taken, string Root, string Role, string? KernelRelease);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotManifest))]
public sealed partial class SnapshotJsonContext : JsonSerializerContext;
