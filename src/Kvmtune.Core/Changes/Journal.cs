using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Core.IO;

namespace Kvmtune.Core.Changes;

/// <summary>What kind of thing one journaled operation changes, which decides how it is undone.</summary>
public static class OperationKind
{
    /// <summary>A kernel attribute (sysfs, procfs): restored by writing the original value back.</summary>
    public const string Value = "value";
    /// <summary>An ordinary file kvmtune owns: restored byte for byte, or removed when it did not exist.</summary>
    public const string File = "file";
    /// <summary>A hugetlbfs mount: undone by unmounting (and removing the folder if kvmtune made it).</summary>
    public const string Mount = "mount";
    /// <summary>A module reloaded with new options: undone by reloading with the original values.</summary>
    public const string ModuleReload = "module-reload";
    /// <summary>A PCI device moved to another driver: undone by binding it back to the original one.</summary>
    public const string Driver = "driver";
    /// <summary>An nvdimm namespace reconfigured by ndctl: undone by reconfiguring it to its original mode.</summary>
    public const string Namespace = "namespace";
}

/// <summary>One change: what it touches, what was there before (recorded before anything is written), what kvmtune wrote.</summary>
public sealed record JournalOperation
{
    public int Seq { get; init; }
    public string Kind { get; init; } = OperationKind.Value;
    public string Section { get; init; } = "";
    public string FindingId { get; init; } = "";
    public string Path { get; init; } = "";
    public bool OriginalExists { get; init; }
    /// <summary>Value kind: the value to write back (a choice file's selection, not its whole text).</summary>
    public string? OriginalValue { get; init; }
    /// <summary>File kind: the file's bytes, base64.</summary>
    public string? OriginalBytes { get; init; }
    public string? NewValue { get; init; }
    public string? NewBytes { get; init; }
    /// <summary>File kind: folders the write had to create, removed again (when empty) by rollback.</summary>
    public IReadOnlyList<string>? CreatedDirectories { get; init; }
    public string? Module { get; init; }
    public IReadOnlyDictionary<string, string>? OriginalParameters { get; init; }
    public IReadOnlyDictionary<string, string>? NewParameters { get; init; }
    public bool Applied { get; init; }
    public string? ReadBack { get; init; }
    public string? Note { get; init; }
    public string? RolledBack { get; init; }

    public string Describe() => Kind switch
    {
        OperationKind.File => $"{Path}: {(OriginalExists ? "rewrite" : "create")}",
        OperationKind.Mount => $"mount hugetlbfs at {Path} ({NewValue})",
        OperationKind.Driver => $"{Path}: driver {OriginalValue ?? "none"} -> {NewValue}",
        OperationKind.Namespace => $"{Path}: mode {OriginalValue} -> {NewValue} (ndctl create-namespace -e {Path} -m {NewValue} -a 2M -f)",
        OperationKind.ModuleReload => $"reload {Module} with {string.Join(' ', (NewParameters ?? new Dictionary<string, string>()).Select(kv => $"{kv.Key}={kv.Value}"))}",
        _ => $"{Path}: {OriginalValue ?? "(absent)"} -> {NewValue}",
    };
}

public static class JournalState
{
    public const string Pending = "pending";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string RolledBack = "rolled-back";
}

/// <summary>One apply: its profile, every operation with its original, and how it ended.</summary>
public sealed record JournalEntry
{
    public string Schema { get; init; } = "kvmtune.journal/v1";
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Profile { get; init; } = "";
    public string Root { get; init; } = "/";
    public bool Persist { get; init; }
    public string State { get; init; } = JournalState.Pending;
    public IReadOnlyList<JournalOperation> Operations { get; init; } = [];
    public IReadOnlyList<string> Events { get; init; } = [];

    public bool Incomplete => State == JournalState.Pending;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalEntry))]
[JsonSerializable(typeof(List<JournalEntry>))]
public sealed partial class JournalJsonContext : JsonSerializerContext;

/// <summary>
/// The journal folder: one JSON file per apply, written durably (temporary file, fsync, rename, fsync of the
/// folder) so that after a crash the originals are on disk before the first change was made.
/// </summary>
public sealed class Journal(string directory)
{
    public string Directory { get; } = directory;

    public const string LockName = ".lock";

    /// <summary>Creates the folder 0700; refuses a folder that others can read.</summary>
    public void Ensure()
    {
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>The exclusive lock that stops two applies (or an apply and a rollback) at once; null when held elsewhere.</summary>
    public IDisposable? TryLock()
    {
        Ensure();
        return NativeSys.TryLock(Path.Combine(Directory, LockName));
    }

    public void Save(JournalEntry entry)
    {
        Ensure();
        var path = Path.Combine(Directory, entry.Id + ".json");
        var temp = path + ".tmp";
        var json = JsonSerializer.Serialize(entry, JournalJsonContext.Default.JournalEntry);
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            stream.Write(Encoding.UTF8.GetBytes(json));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        NativeSys.Fsync(Directory, directory: true);
    }

    public IReadOnlyList<JournalEntry> All()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var list = new List<JournalEntry>();
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), JournalJsonContext.Default.JournalEntry) is { } e) list.Add(e);
            }
            catch (JsonException ex)
            {
                throw new InputException(file, null, null, $"journal entry is not valid JSON: {ex.Message}");
            }
        }
        return list.OrderBy(e => e.Id, StringComparer.Ordinal).ToList();
    }

    public static string NewId(DateTimeOffset now) => $"{now.UtcDateTime:yyyyMMdd'T'HHmmss'.'fff'Z'}-{Environment.ProcessId}";
}
