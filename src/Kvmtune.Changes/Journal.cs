using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kvmtune.Facts;
using Kvmtune.Facts.IO;

namespace Kvmtune.Changes;

public static class JournalState
{
    public const string Pending = "pending";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string RollingBack = "rolling-back";
    public const string RolledBack = "rolled-back";

    public static readonly IReadOnlySet<string> All = new[]
    {
        Pending,
        Completed,
        Failed,
        RollingBack,
        RolledBack,
    }.ToFrozenSet(StringComparer.Ordinal);
}

/// <summary>One apply: its profile, every operation with its original, and how it ended.</summary>
public sealed record JournalEntry
{
    public const string CurrentSchema = "kvmtune.journal/v2";

    public string Schema { get; init; } = CurrentSchema;
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Profile { get; init; } = "";
    public string Root { get; init; } = "/";
    public bool Persist { get; init; }
    public string State { get; init; } = JournalState.Pending;
    public IReadOnlyList<Operation> Operations { get; init; } = [];
    public IReadOnlyList<string> Events { get; init; } = [];

    /// <summary>An apply or a rollback that did not finish (killed): the next run must roll it back first.</summary>
    public bool Incomplete => State is JournalState.Pending or JournalState.RollingBack;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow
)]
[JsonSerializable(typeof(JournalEntry))]
[JsonSerializable(typeof(List<JournalEntry>))]
public sealed partial class JournalJsonContext : JsonSerializerContext;

/// <summary>
/// The journal folder: one JSON file per apply, written durably (a new temporary file, fsync, rename, fsync of the
/// folder) so that after a crash every original is on disk before the first change was made. The folder, its lock
/// and its files are never links; what is read back is validated before anything acts on it.
/// </summary>
public sealed class Journal : IDisposable
{
    public const string LockName = ".lock";
    public const long EntryLimit = 16 << 20;

    private readonly SafeTree _tree;
    private readonly string _folder;

    /// <summary>
    /// A journal folder named by a person (--journal-dir): the folders above it are theirs to choose.
    /// </summary>
    public Journal(string directory)
    {
        var full = Path.GetFullPath(directory).TrimEnd('/');
        if (full.Length == 0)
            throw new InputException(null, null, "--journal-dir", "'/' cannot be the journal folder");
        Directory = full;
        // The deepest folder above it that exists is where links stop being followed: below it, kvmtune creates.
        var existing = Path.GetDirectoryName(full)!;
        while (existing != "/" && !System.IO.Directory.Exists(existing))
            existing = Path.GetDirectoryName(existing)!;
        _tree = new SafeTree(existing);
        _folder = existing == "/" ? full : full[existing.Length..];
    }

    /// <summary>
    /// The journal at a machine path under a root (the default /var/lib/kvmtune/journal): no link on the way.
    /// </summary>
    public Journal(SafeTree root, string machineFolder)
    {
        _tree = root;
        _folder = machineFolder;
        Directory = root.IsLive ? machineFolder : root.Root.TrimEnd('/') + machineFolder;
    }

    public string Directory { get; }

    public void Dispose() => _tree.Dispose();

    private int OpenFolder(bool create)
    {
        var fd = _tree.OpenOwnedFolder(_folder, create);
        if (create)
        {
            var st = NativeSys.Fstat(fd);
            if (st is { } s && s.Permissions != 0b111_000_000 && NativeSys.FchmodFd(fd, 0b111_000_000) != 0)
            {
                NativeSys.CloseFd(fd);
                throw new RefusedException($"{Directory}: cannot make the journal folder private (0700)");
            }
        }
        return fd;
    }

    /// <summary>The exclusive lock that stops two applies (or an apply and a rollback) at once; null when held
    /// elsewhere.
    /// Taking it also removes what a killed run left: temporary files in the journal.</summary>
    public IDisposable? TryLock()
    {
        var dir = OpenFolder(create: true);
        try
        {
            var fd = NativeSys.OpenAt(
                dir,
                LockName,
                NativeSys.ORdWr
                    | NativeSys.OCreate
                    | NativeSys.ONoFollow
                    | NativeSys.OCloseOnExec
                    | NativeSys.ONonBlock,
                0b110_000_000
            );
            if (fd < 0)
                throw new RefusedException(
                    $"{Directory}/{LockName}: cannot open the lock ({NativeSys.ErrorText(-fd)})"
                );
            if (NativeSys.Fstat(fd) is not { IsRegular: true })
            {
                NativeSys.CloseFd(fd);
                throw new RefusedException($"{Directory}/{LockName}: not a regular file");
            }
            // A lock that is busy for a moment (a forked child of another thread still holds a copy of the descriptor
            // until it execs) is tried again briefly; one held by another run stays held: exit 3.
            var lockHandle = TryLockBriefly(fd);
            if (lockHandle is null)
                return null;
            _tree.CleanTemporaryFiles(_folder);
            return lockHandle;
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
    }

    private static IDisposable? TryLockBriefly(int fd)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var dup = NativeSys.Dup(fd);
            if (dup < 0)
                break;
            if (NativeSys.TryLockFd(dup) is { } held)
            {
                NativeSys.CloseFd(fd);
                return held;
            }
            Thread.Sleep(50);
        }
        NativeSys.CloseFd(fd);
        return null;
    }

    public void Save(JournalEntry entry)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(entry, JournalJsonContext.Default.JournalEntry);
        var dir = OpenFolder(create: true);
        var st = NativeSys.Fstat(dir);
        NativeSys.CloseFd(dir);
        _tree.ReplaceOwnedFile($"{_folder}/{entry.Id}.json", json, 0b110_000_000, st?.Uid ?? 0, st?.Gid ?? 0);
    }

    /// <summary>
    /// Removes an entry whose apply left nothing behind (everything undone) and could not be recorded.
    /// </summary>
    public void Delete(string id) => _tree.DeleteOwnedFile($"{_folder}/{id}.json");

    /// <summary>
    /// Every entry, oldest first. An entry that is not what kvmtune writes is refused, never acted on.
    /// </summary>
    public IReadOnlyList<JournalEntry> All(OperationContext? validateWith = null)
    {
        int dir;
        try
        {
            dir = OpenFolder(create: false);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        catch (UnsafePathException e)
        {
            throw new RefusedException($"{Directory}: {e.Problem}");
        }
        List<string> names;
        try
        {
            names = NativeFile.ListNames($"/proc/self/fd/{dir}") ?? [];
        }
        finally
        {
            NativeSys.CloseFd(dir);
        }
        var list = new List<JournalEntry>();
        foreach (
            var name in names
                .Where(n => n.EndsWith(".json", StringComparison.Ordinal) && !n.StartsWith('.'))
                .Order(StringComparer.Ordinal)
        )
            list.Add(Load(name, validateWith));
        return list.OrderBy(e => e.Id, StringComparer.Ordinal).ToList();
    }

    private JournalEntry Load(string name, OperationContext? ctx)
    {
        var where = $"{Directory}/{name}";
        FileImage image;
        try
        {
            image =
                _tree.ReadOwnedFile($"{_folder}/{name}", EntryLimit)
                ?? throw new RefusedException($"{where}: vanished while being read");
        }
        catch (UnsafePathException e)
        {
            throw new RefusedException($"journal entry {where}: {e.Problem}");
        }
        JournalEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(image.Bytes, JournalJsonContext.Default.JournalEntry);
        }
        catch (JsonException e)
        {
            throw Invalid(where, $"not a kvmtune journal entry ({e.Message})");
        }
        catch (NotSupportedException e)
        {
            throw Invalid(where, $"not a kvmtune journal entry ({e.Message})");
        }
        if (entry is null)
            throw Invalid(where, "empty");
        if (entry.Schema != JournalEntry.CurrentSchema)
            throw Invalid(where, $"schema '{Grammar.Show(entry.Schema)}' is not {JournalEntry.CurrentSchema}");
        if (!IsId(entry.Id) || name != entry.Id + ".json")
            throw Invalid(where, "its id does not match its file name");
        if (!JournalState.All.Contains(entry.State))
            throw Invalid(where, $"state '{Grammar.Show(entry.State)}' is not a journal state");
        if (
            entry.Operations is null
            || entry.Events is null
            || entry.Operations.Any(o => o is null)
            || entry.Events.Any(e => e is null)
        )
            throw Invalid(where, "operations or events are missing");
        if (entry.Root is null || entry.Profile is null || entry.Created is null)
            throw Invalid(where, "root, profile or created is missing");
        if (ctx is not null)
        {
            foreach (var op in entry.Operations)
                if (op.Problem(ctx) is { } problem)
                    throw Invalid(where, $"operation {op.Seq} ({Grammar.Show(op.Target)}): {problem}");
        }
        return entry;
    }

    private static RefusedException Invalid(string where, string problem) =>
        new($"journal entry {where} is refused: {problem}; nothing was changed");

    private static bool IsId(string? id) =>
        id is { Length: > 20 and < 48 } && id.All(c => char.IsAsciiDigit(c) || c is 'T' or 'Z' or '.' or '-');

    public static string NewId(DateTimeOffset now) =>
        $"{now.UtcDateTime:yyyyMMdd'T'HHmmss'.'fff'Z'}-{Environment.ProcessId}";
}
