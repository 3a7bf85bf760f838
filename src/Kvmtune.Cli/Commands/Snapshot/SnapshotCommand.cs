using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Snapshot;
using Kvmtune.Reports.Inspect;

namespace Kvmtune.Cli.Commands.Snapshot;

/// <summary><c>kvmtune snapshot</c>: every file the readers consulted, as a tarball that is itself a valid
/// --root.</summary>
public static class SnapshotCommand
{
    public static Command Create(Option<string?> root, CliContext ctx)
    {
        var output = new Option<string>("--output", "-o")
        {
            Description = "The .tar.gz to write",
            HelpName = "FILE.tar.gz",
            Required = true,
        };
        var command = new Command(
            "snapshot",
            "Capture every file that inspect and audit read, for offline inspection and audit elsewhere"
        )
        {
            output,
        };
        command.SetAction(parse =>
        {
            var reader = RootResolver.Reader(parse, root, ctx);
            var facts = HostFacts.ReadAll(reader);
            // What vm audit reads too (each QEMU's command line, threads, NUMA maps; libvirt's live XML).
            Vms.Audit.RunningVmReader.Read(reader);
            var path = parse.GetValue(output)!;
            var manifest = new SnapshotManifest(
                "kvmtune.snapshot/v1",
                typeof(SnapshotCommand).Assembly.GetName().Version?.ToString() ?? "?",
                DateTimeOffset.UtcNow.ToString("O"),
                reader.Root,
                InspectDocument.RoleName(facts.Virtualization.Role),
                facts.Kernel.Release
            );
            var writer = new SnapshotWriter(reader);
            // Built in memory, then written the way every --output is: a regular file replaced atomically, a pipe or
            // device written through.
            using var archive = new MemoryStream();
            writer.Write(archive, JsonSerializer.Serialize(manifest, SnapshotJsonContext.Default.SnapshotManifest));
            OutputFile.Write(path, archive.ToArray());
            ctx.Error.WriteLine(
                $"snapshot: {writer.Count} files, folders and links from {reader.Root} written to {path}"
            );
            return ExitCodes.Success;
        });
        return command;
    }
}

public sealed record SnapshotManifest(
    string Schema,
    string KvmtuneVersion,
    string Taken,
    string Root,
    string Role,
    string? KernelRelease
);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotManifest))]
public sealed partial class SnapshotJsonContext : JsonSerializerContext;
