using System.Text;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Guide;
using Kvmtune.Guide.Audit;

namespace Kvmtune.Changes;

public sealed record ApplyOptions(bool Persist, bool AllowModuleReload, bool UpdateBootloader, int? CrashAfter);

/// <summary>
/// What apply would do: the journaled operations, what it leaves for a person, why some fixes are not made.
/// </summary>
public sealed record ApplyPlan(
    IReadOnlyList<Operation> Operations,
    IReadOnlyList<string> Skipped,
    IReadOnlyList<string> Manual,
    string? BootloaderCommand
)
{
    /// <summary>With --persist: the writes made now that nothing keeps across a reboot, each with why.</summary>
    public IReadOnlyList<string> NotPersisted { get; init; } = [];
}

/// <summary>The outcome of an apply or a rollback, for the command to print.</summary>
public sealed record ChangeResult(
    string? JournalId,
    IReadOnlyList<string> Lines,
    IReadOnlyList<string> Warnings,
    bool Failed
);

/// <summary>A change the kernel or the file system refused; what was done before it has been undone.</summary>
public sealed class ApplyFailedException(string message) : Exception(message);

/// <summary>The environment refused: lock held, an unfinished apply, not root. The CLI exits 3.</summary>
public sealed class RefusedException(string message) : Exception(message);

/// <summary>
/// The only code in kvmtune that writes to a machine. It plans operations from the audit's proposed changes,
/// records every original durably before the first write, makes and reads back each change, and undoes them
/// exactly: in reverse, on failure (including a failure to record progress), or on request. Every path goes through
/// <see cref="SafeTree"/>; every journal read back is validated before it is acted on.
/// </summary>
public sealed class ChangeLayer : IDisposable
{
    private readonly HostReader _reader;
    private readonly Journal _journal;
    private readonly SafeTree _tree;
    private readonly OperationContext _ctx;

    /// <param name="kernel">What answers attribute writes in a tree under --root (tests); null for kvmtune.</param>
    public ChangeLayer(HostReader reader, Journal journal, ProgramRunner? programs = null, ITreeKernel? kernel = null)
    {
        _reader = reader;
        _journal = journal;
        _tree = new SafeTree(reader.Root, kernel);
        _ctx = new OperationContext(_tree, programs ?? new ProgramRunner());
    }

    public void Dispose()
    {
        _tree.Dispose();
        _journal.Dispose();
    }

    private string Root => _reader.Root;

    public ApplyPlan Plan(HostFacts facts, AuditReport report, ApplyOptions options)
    {
        var ops = new List<Operation>();
        var skipped = new List<string>();
        var manual = new List<string>();
        var persistentChanges = new List<PlannedChange>();
        var seenPaths = new HashSet<string>(StringComparer.Ordinal);
        var running = facts.Userspace.QemuProcesses;
        foreach (var finding in report.Findings.Where(f => f.Status != FindingStatus.Pass))
        {
            foreach (var change in finding.Changes)
            {
                RequireGrammar(change);
                switch (change)
                {
                    case SysfsWrite w when w.Path.EndsWith("/sriov_numvfs", StringComparison.Ordinal):
                        // VFs are made by `vfio create-vfs`, which checks what the kernel would refuse (no PF driver,
                        // open VFs, QAT's all-or-nothing) and keeps host drivers off the new VFs.
                        var pf = w.Path.Split('/')[^2];
                        skipped.Add(
                            $"{pf}: create VFs with 'kvmtune vfio create-vfs {pf} --count {w.Value}' [{w.Section}]"
                        );
                        break;
                    case SysfsWrite w:
                        if (seenPaths.Add(w.Path))
                            ops.Add(Value(finding.Id, w.Section, w.Path, w.Value));
                        persistentChanges.Add(w);
                        break;
                    case ModuleParameter p:
                        if (seenPaths.Add(p.Path))
                            ops.Add(Value(finding.Id, p.Section, p.Path, p.Value));
                        persistentChanges.Add(p);
                        break;
                    case ModuleOption o:
                        persistentChanges.Add(o);
                        var what = $"{o.Module} {o.Parameter}={o.Value}";
                        if (!options.AllowModuleReload)
                            skipped.Add($"{what}: needs a module reload (--allow-module-reload) [{o.Section}]");
                        else if (!_reader.IsLive)
                            skipped.Add($"{what}: modules cannot be reloaded under --root [{o.Section}]");
                        else if (running is null || running.Count > 0)
                            skipped.Add(
                                $"{what}: not reloaded while VMs run "
                                    + $"({running?.Count.ToString() ?? "unknown"}) [{o.Section}]"
                            );
                        else
                            ops.Add(ModuleReload(finding.Id, o));
                        break;
                    case ModuleLoad l:
                        persistentChanges.Add(l);
                        skipped.Add($"modprobe {l.Module}: kvmtune does not load modules at runtime; run it yourself");
                        break;
                    case KernelArgument k when k.Remove:
                        manual.Add(
                            $"remove '{k.Key}' from the kernel command line in /etc/default/grub, update "
                                + $"the bootloader, reboot [{k.Section}]"
                        );
                        break;
                    case KernelArgument k:
                        persistentChanges.Add(k);
                        if (!options.Persist)
                            skipped.Add(
                                $"kernel argument {k.Text}: takes effect at boot (--persist) [{k.Section}]"
                            );
                        break;
                    case HugetlbfsMountChange m:
                        persistentChanges.Add(m);
                        if (!_reader.IsLive)
                            skipped.Add(
                                $"mount hugetlbfs at {m.MountPoint}: not mounted under --root [{m.Section}]"
                            );
                        else if (seenPaths.Add(m.MountPoint))
                            ops.Add(
                                new MountOperation
                                {
                                    Section = m.Section,
                                    FindingId = finding.Id,
                                    MountPoint = m.MountPoint,
                                    PageSize = m.PageSizeOption,
                                    FolderExisted = Directory.Exists(m.MountPoint),
                                }
                            );
                        break;
                    case ManualStep s:
                        manual.Add($"{s.Text} [{s.Section}]");
                        break;
                }
            }
        }
        string? bootloader = null;
        if (options.Persist)
        {
            foreach (var (path, content) in PersistentFiles.Build(persistentChanges, ReadOwnedText))
                ops.Add(File(path, content));
            if (persistentChanges.Any(c => c is KernelArgument { Remove: false }))
                bootloader =
                    facts.Userspace.Tool("update-grub") is not null ? "update-grub"
                    : facts.Userspace.Tool("grub2-mkconfig") is not null ? "grub2-mkconfig -o /boot/grub2/grub.cfg"
                    : facts.Userspace.Tool("grub-mkconfig") is not null ? "grub-mkconfig -o /boot/grub/grub.cfg"
                    : "update-grub (or grub2-mkconfig -o /boot/grub2/grub.cfg)";
            manual.AddRange(
                persistentChanges
                    .OfType<HugetlbfsMountChange>()
                    .Select(m => $"systemctl enable {m.SystemdUnitName} [3.2.3]")
            );
        }
        else if (persistentChanges.Count > 0)
            skipped.Add("nothing is written to survive a reboot without --persist");
        // Huge pages before the mounts that serve them; files last, after the runtime changes they describe.
        var ordered = ops.OrderBy(o =>
                o switch
                {
                    ValueOperation => 0,
                    ModuleReloadOperation => 1,
                    MountOperation => 2,
                    _ => 3,
                }
            )
            .Select((o, i) => o with { Seq = i + 1 })
            .ToList();
        foreach (var op in ordered)
            if (op.Problem(_ctx) is { } problem)
                throw new InputException(null, null, op.Target, $"refused: {problem}");
        return new ApplyPlan(ordered, skipped.Distinct().ToList(), manual.Distinct().ToList(), bootloader)
        {
            NotPersisted = options.Persist ? PersistentFiles.NotPersisted(persistentChanges) : [],
        };
    }

    /// <summary>
    /// Values are data: a change whose value or name is outside its grammar is refused before anything else.
    /// </summary>
    private static void RequireGrammar(PlannedChange change)
    {
        var (what, ok) = change switch
        {
            SysfsWrite w => (w.Value, Grammar.IsValue(w.Value)),
            ModuleParameter p => (
                $"{p.Module} {p.Parameter}={p.Value}",
                Grammar.IsName(p.Module) && Grammar.IsName(p.Parameter) && Grammar.IsValue(p.Value)
            ),
            ModuleOption o => (
                $"{o.Module} {o.Parameter}={o.Value}",
                Grammar.IsName(o.Module) && Grammar.IsName(o.Parameter) && Grammar.IsValue(o.Value)
            ),
            ModuleLoad l => (l.Module, Grammar.IsName(l.Module)),
            KernelArgument k => (
                k.Text,
                Grammar.IsArgumentKey(k.Key) && (k.Value is null || Grammar.IsArgumentValue(k.Value))
            ),
            HugetlbfsMountChange m => (m.MountPoint, SafePaths.IsMountPoint(m.MountPoint)),
            _ => ("", true),
        };
        if (!ok)
            throw new InputException(
                null,
                null,
                change.Section,
                $"refused: '{Grammar.Show(what)}' is not a well-formed setting"
            );
    }

    private ValueOperation Value(string findingId, string section, string path, string value)
    {
        // The attribute's grammar is checked here, when a write is planned, and not when a journal is read: rollback
        // writes the original the kernel showed, never the new value, and an entry journaled by an earlier version
        // must not block every later apply and rollback.
        if (!WriteAllowlist.AcceptsValue(path, value, out var why))
            throw new InputException(null, null, path, $"refused: {why}");
        string? current;
        try
        {
            current = _ctx.ReadValue(path);
        }
        catch (UnsafePathException e)
        {
            throw new InputException(null, null, path, $"refused: {e.Problem}");
        }
        if (current is null)
            throw new InputException(null, null, path, "not present on this machine (the kernel does not offer it)");
        var bytes = _ctx.ReadTreeBytes(path);
        return new ValueOperation
        {
            Section = section,
            FindingId = findingId,
            Path = path,
            Original = current,
            New = value,
            OriginalBytes = bytes is null ? null : Convert.ToBase64String(bytes),
        };
    }

    /// <summary>
    /// Builds a value operation for a planner outside the audit (vfio, irq): the current value is read now.
    /// </summary>
    public ValueOperation PlanValue(string findingId, string section, string path, string value) =>
        Value(findingId, section, path, value);

    private FileOperation File(string path, string content)
    {
        FileImage? original;
        IReadOnlyList<string> missing;
        try
        {
            original = _tree.ReadOwnedFile(path);
            missing = _tree.MissingFolders(path);
        }
        catch (UnsafePathException e)
        {
            throw new InputException(null, null, path, $"refused: {e.Problem}");
        }
        return new FileOperation
        {
            Section = "persist",
            FindingId = "persist",
            Path = path,
            OriginalExists = original is not null,
            Original = original is null ? null : Convert.ToBase64String(original.Bytes),
            OriginalMode = original?.Mode ?? 0,
            OriginalUid = original?.Uid ?? 0,
            OriginalGid = original?.Gid ?? 0,
            New = Convert.ToBase64String(Encoding.UTF8.GetBytes(content)),
            CreatedFolders = missing,
        };
    }

    private ModuleReloadOperation ModuleReload(string findingId, ModuleOption o)
    {
        var dir = $"/sys/module/{o.Module}/parameters";
        var original = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in _reader.List(dir) ?? [])
            if (_reader.ReadText($"{dir}/{n}") is { } v && Grammar.IsName(n) && Grammar.IsValue(v))
                original[n] = v;
        return new ModuleReloadOperation
        {
            Section = o.Section,
            FindingId = findingId,
            Module = o.Module,
            OriginalParameters = original,
            NewParameters = new Dictionary<string, string> { [o.Parameter] = o.Value },
        };
    }

    private string? ReadOwnedText(string machinePath)
    {
        try
        {
            return _tree.ReadOwnedFile(machinePath) is { } f ? Encoding.UTF8.GetString(f.Bytes) : null;
        }
        catch (UnsafePathException e)
        {
            throw new InputException(null, null, machinePath, $"refused: {e.Problem}");
        }
    }

    /// <summary>Takes the journal's lock and removes the temporary files a killed run left behind.</summary>
    private IDisposable Lock()
    {
        var handle =
            _journal.TryLock()
            ?? throw new RefusedException(
                $"another kvmtune apply or rollback holds {Path.Combine(_journal.Directory, Journal.LockName)}"
            );
        foreach (var folder in SafePaths.PersistentFolders)
            _tree.CleanTemporaryFiles(folder);
        return handle;
    }

    public ChangeResult Apply(
        ApplyPlan plan,
        string profile,
        ApplyOptions options,
        DateTimeOffset now,
        Action<int, int, string>? progress = null
    )
    {
        using var lockHandle = Lock();
        var unfinished = _journal.All(_ctx).FirstOrDefault(e => e.Incomplete);
        if (unfinished is not null)
            throw new RefusedException(
                $"{unfinished.Id} did not finish (a crash?); run 'kvmtune rollback {unfinished.Id}' first"
            );
        if (plan.Operations.Count == 0)
            return new ChangeResult(null, ["nothing to change"], [], false);
        foreach (var op in plan.Operations)
            if (op.Problem(_ctx) is { } problem)
                throw new InputException(null, null, op.Target, $"refused: {problem}");
        // Every value about to be written is in its attribute's grammar, whichever planner made it (vfio, irq).
        foreach (var v in plan.Operations.OfType<ValueOperation>())
            if (!WriteAllowlist.AcceptsValue(v.Path, v.New, out var why))
                throw new InputException(null, null, v.Path, $"refused: {why}");

        var ops = plan.Operations.ToList();
        var entry = new JournalEntry
        {
            Id = Journal.NewId(now),
            Created = now.ToString("O"),
            Profile = profile,
            Root = Root,
            Persist = options.Persist,
            Operations = ops,
        };
        try
        {
            _journal.Save(entry);
        } // every original is on disk before the first write
        catch (IOException e)
        {
            throw new ApplyFailedException($"the journal cannot be saved ({e.Message}); nothing was changed");
        }
        CrashPoint(options, 0);
        var lines = new List<string>();
        var warnings = new List<string>();
        for (var i = 0; i < ops.Count; i++)
        {
            progress?.Invoke(i + 1, ops.Count, ops[i].Target);
            try
            {
                var readBack = ops[i].Apply(_ctx);
                var note =
                    ops[i] is ValueOperation v && readBack != v.New
                        ? $"the kernel kept {readBack} (asked {v.New})"
                        : null;
                if (note is not null)
                    warnings.Add($"{ops[i].Target}: {note}");
                ops[i] = ops[i] with { Applied = true, ReadBack = readBack, Note = note };
                lines.Add($"{ops[i].Describe()}{(note is null ? "" : $" ({note})")} [{ops[i].Section}]");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ApplyFailedException)
            {
                // The failing operation itself may be half done (a device unbound, not yet bound): undo it too.
                var events = UndoFrom(ops, i, $"operation {ops[i].Seq} failed: {e.Message}");
                Record(entry with { State = JournalState.Failed, Operations = ops, Events = events });
                throw new ApplyFailedException(
                    $"{e.Message}; what was changed before it was undone (journal {entry.Id})"
                );
            }
            try
            {
                _journal.Save(entry = entry with { Operations = ops });
            }
            catch (IOException e)
            {
                var events = UndoFrom(ops, i, $"the journal could not record operation {ops[i].Seq}: {e.Message}");
                Record(entry with { State = JournalState.Failed, Operations = ops, Events = events });
                throw new ApplyFailedException($"the journal cannot be saved ({e.Message}); every change was undone");
            }
            CrashPoint(options, i + 1);
        }
        try
        {
            _journal.Save(entry with { State = JournalState.Completed, Operations = ops });
        }
        catch (IOException e)
        {
            var events = UndoFrom(
                ops,
                ops.Count - 1,
                $"the journal could not record the end of the apply: {e.Message}"
            );
            Record(entry with { State = JournalState.Failed, Operations = ops, Events = events });
            throw new ApplyFailedException($"the journal cannot be saved ({e.Message}); every change was undone");
        }
        return new ChangeResult(entry.Id, lines, warnings, false);
    }

    /// <summary>
    /// Undoes operations <paramref name="last"/> down to the first from the originals held in memory.
    /// </summary>
    private List<string> UndoFrom(List<Operation> ops, int last, string reason)
    {
        var events = new List<string> { reason };
        for (var j = last; j >= 0; j--)
        {
            try
            {
                var undone = ops[j].Undo(_ctx, force: true);
                events.Add(undone.Line);
                // Left alone even when forced (a VF QEMU holds): a later rollback must still find it to undo.
                if (!undone.Conflict)
                    ops[j] = ops[j] with { RolledBack = DateTimeOffset.UtcNow.ToString("O") };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ApplyFailedException)
            {
                events.Add($"{ops[j].Target}: could not be undone: {e.Message}");
            }
        }
        return events;
    }

    /// <summary>
    /// Records a failed apply; when even that cannot be written, the entry goes (nothing is left to undo).
    /// </summary>
    private void Record(JournalEntry failed)
    {
        try
        {
            _journal.Save(failed);
        }
        catch (IOException)
        {
            if (failed.Operations.All(o => o.RolledBack is not null || !o.Applied))
            {
                try
                {
                    _journal.Delete(failed.Id);
                }
                catch (IOException)
                { /* the pending entry stays; its rollback finds everything as before */
                }
            }
        }
    }

    /// <summary>KVMTUNE_TEST_CRASH_AFTER=N: stop dead right after the N-th change, as a power cut would.</summary>
    private static void CrashPoint(ApplyOptions options, int done)
    {
        if (options.CrashAfter == done)
            NativeSys.ExitAbruptly(99);
    }

    public ChangeResult Rollback(string? id, bool force)
    {
        using var lockHandle = Lock();
        var all = _journal.All(_ctx);
        var entry = id is null ? all.LastOrDefault() : all.FirstOrDefault(e => e.Id == id);
        if (entry is null)
            throw new InputException(
                _journal.Directory,
                null,
                id is null ? "--last" : id,
                id is null
                    ? "the journal is empty: nothing to roll back"
                    : $"no journal entry '{Grammar.Show(id)}' (see kvmtune history)"
            );
        if (entry.Root != Root)
            throw new RefusedException(
                $"journal entry {entry.Id} was written for root "
                    + $"'{Grammar.Show(entry.Root)}', not '{Root}'; nothing was changed"
            );
        if (entry.State == JournalState.RolledBack)
            return new ChangeResult(entry.Id, [$"{entry.Id} is already {entry.State}: nothing to do"], [], false);
        // A rollback that was itself killed does not say whether its apply had finished: check every operation, as for
        // an unfinished apply (undo is idempotent, so a completed one loses nothing).
        var before = entry.State == JournalState.RollingBack ? JournalState.Pending : entry.State;
        var lines = new List<string>();
        var conflicts = new List<string>();
        var ops = entry.Operations.ToList();
        // Rollback is journaled too: killed half way, it is run again, and each undo finds what is already restored.
        // A record that cannot be written does not stop the undoing (the originals are in memory); it is reported.
        string? unrecorded = null;
        void Record(JournalEntry e)
        {
            try
            {
                _journal.Save(e);
            }
            catch (IOException ex)
            {
                unrecorded ??= ex.Message;
            }
        }
        Record(entry = entry with { State = JournalState.RollingBack });
        for (var i = ops.Count - 1; i >= 0; i--)
        {
            // A completed apply made every change; an unfinished or failed one may have made its last change without
            // recording it, so every operation is checked against its original and what kvmtune wrote.
            if (!ops[i].Applied && before == JournalState.Completed)
                continue;
            Undone undone;
            try
            {
                undone = ops[i].Undo(_ctx, force);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ApplyFailedException)
            {
                undone = new Undone($"{ops[i].Target}: could not be restored: {e.Message}", true);
            }
            (undone.Conflict ? conflicts : lines).Add(undone.Line);
            if (!undone.Conflict)
                ops[i] = ops[i] with { RolledBack = DateTimeOffset.UtcNow.ToString("O") };
            Record(entry = entry with { Operations = ops });
        }
        var events = entry.Events.Concat(lines).Concat(conflicts).ToList();
        Record(
            entry with
            {
                State = conflicts.Count == 0 ? JournalState.RolledBack : before,
                Operations = ops,
                Events = events,
            }
        );
        if (unrecorded is not null)
            throw new ApplyFailedException(
                $"every change of {entry.Id} was undone, but the journal could not "
                    + $"record it "
                    + $"({unrecorded}); run 'kvmtune rollback {entry.Id}' again when there is room"
            );
        return new ChangeResult(entry.Id, lines, conflicts, conflicts.Count > 0);
    }

    /// <summary>Every journal entry, validated (history).</summary>
    public IReadOnlyList<JournalEntry> History() => _journal.All(_ctx);
}
