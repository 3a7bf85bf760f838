using System.Diagnostics;
using System.Text;
using Kvmtune.Core.Audit;
using Kvmtune.Core.Host;
using Kvmtune.Core.IO;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Changes;

public sealed record ApplyOptions(bool Persist, bool AllowModuleReload, bool UpdateBootloader, int? CrashAfter);

/// <summary>What apply would do: the journaled operations, what it leaves for a person, and why some fixes are not made.</summary>
public sealed record ApplyPlan(IReadOnlyList<JournalOperation> Operations, IReadOnlyList<string> Skipped, IReadOnlyList<string> Manual, string? BootloaderCommand);

/// <summary>The outcome of an apply or a rollback, for the command to print.</summary>
public sealed record ChangeResult(string? JournalId, IReadOnlyList<string> Lines, IReadOnlyList<string> Warnings, bool Failed);

/// <summary>A change the kernel or the file system refused; what was done before it has been undone.</summary>
public sealed class ApplyFailedException(string message) : Exception(message);

/// <summary>The environment refused: lock held, an unfinished apply, not root. The CLI exits 3.</summary>
public sealed class RefusedException(string message) : Exception(message);

/// <summary>
/// The only code in kvmtune that writes to a machine. It plans operations from the audit's proposed changes,
/// records every original durably before the first write, makes and reads back each change, and undoes them
/// exactly: in reverse, on failure, or on request.
/// </summary>
public sealed class ChangeLayer(HostReader reader, Journal journal)
{
    private string Root => reader.Root;

    public ApplyPlan Plan(HostFacts facts, AuditReport report, ApplyOptions options)
    {
        var ops = new List<JournalOperation>();
        var skipped = new List<string>();
        var manual = new List<string>();
        var persistentChanges = new List<PlannedChange>();
        var seenPaths = new HashSet<string>(StringComparer.Ordinal);
        var running = facts.Userspace.QemuProcesses;
        foreach (var finding in report.Findings.Where(f => f.Status != FindingStatus.Pass))
        {
            foreach (var change in finding.Changes)
            {
                switch (change)
                {
                    case SysfsWrite w:
                        if (seenPaths.Add(w.Path)) ops.Add(ValueOperation(finding, w.Section, w.Path, w.Value));
                        persistentChanges.Add(w);
                        break;
                    case ModuleParameter p:
                        if (seenPaths.Add(p.Path)) ops.Add(ValueOperation(finding, p.Section, p.Path, p.Value));
                        persistentChanges.Add(p);
                        break;
                    case ModuleOption o:
                        persistentChanges.Add(o);
                        if (!options.AllowModuleReload) skipped.Add($"{o.Module} {o.Parameter}={o.Value}: needs a module reload (--allow-module-reload) [{o.Section}]");
                        else if (!reader.IsLive) skipped.Add($"{o.Module} {o.Parameter}={o.Value}: modules cannot be reloaded under --root [{o.Section}]");
                        else if (running is null || running.Count > 0) skipped.Add($"{o.Module} {o.Parameter}={o.Value}: not reloaded while VMs run ({running?.Count.ToString() ?? "unknown"}) [{o.Section}]");
                        else ops.Add(ModuleReloadOperation(finding, o));
                        break;
                    case ModuleLoad l:
                        persistentChanges.Add(l);
                        skipped.Add($"modprobe {l.Module}: kvmtune does not load modules at runtime; run it yourself");
                        break;
                    case KernelArgument k when k.Remove:
                        manual.Add($"remove '{k.Key}' from the kernel command line in /etc/default/grub, update the bootloader, reboot [{k.Section}]");
                        break;
                    case KernelArgument k:
                        persistentChanges.Add(k);
                        if (!options.Persist) skipped.Add($"kernel argument {k.Text}: takes effect at boot (--persist) [{k.Section}]");
                        break;
                    case HugetlbfsMountChange m:
                        persistentChanges.Add(m);
                        if (!reader.IsLive) skipped.Add($"mount hugetlbfs at {m.MountPoint}: not mounted under --root [{m.Section}]");
                        else if (seenPaths.Add(m.MountPoint)) ops.Add(MountOperation(finding, m));
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
            foreach (var (path, content) in PersistentFiles.Build(persistentChanges, p => ReadFileText(p)))
                ops.Add(FileOperation(path, content));
            if (persistentChanges.Any(c => c is KernelArgument { Remove: false }))
                bootloader = facts.Userspace.Tool("update-grub") is not null ? "update-grub"
                    : facts.Userspace.Tool("grub2-mkconfig") is not null ? "grub2-mkconfig -o /boot/grub2/grub.cfg"
                    : facts.Userspace.Tool("grub-mkconfig") is not null ? "grub-mkconfig -o /boot/grub/grub.cfg"
                    : "update-grub (or grub2-mkconfig -o /boot/grub2/grub.cfg)";
            if (persistentChanges.OfType<HugetlbfsMountChange>().Any())
                manual.AddRange(persistentChanges.OfType<HugetlbfsMountChange>().Select(m => $"systemctl enable {m.SystemdUnitName} [3.2.3]"));
        }
        else if (persistentChanges.Count > 0)
            skipped.Add("nothing is written to survive a reboot without --persist");
        // Huge pages before the mounts that serve them; files last, after the runtime changes they describe.
        var ordered = ops.OrderBy(o => o.Kind switch { OperationKind.Value => 0, OperationKind.ModuleReload => 1, OperationKind.Mount => 2, _ => 3 })
            .Select((o, i) => o with { Seq = i + 1 }).ToList();
        return new ApplyPlan(ordered, skipped.Distinct().ToList(), manual.Distinct().ToList(), bootloader);
    }

    private JournalOperation ValueOperation(Finding f, string section, string path, string value)
    {
        var physical = SafePaths.Resolve(Root, path);
        var current = ReadValue(physical) ?? throw new InputException(null, null, path, "not present on this machine (the kernel does not offer it)");
        return new JournalOperation { Kind = OperationKind.Value, Section = section, FindingId = f.Id, Path = path, OriginalExists = true, OriginalValue = current, NewValue = value };
    }

    private JournalOperation FileOperation(string path, string content)
    {
        var physical = SafePaths.Resolve(Root, path);
        var exists = File.Exists(physical);
        var created = new List<string>();
        for (var dir = Path.GetDirectoryName(path); dir is not null && dir != "/" && !Directory.Exists(reader.Physical(dir)); dir = Path.GetDirectoryName(dir))
            created.Add(dir);
        return new JournalOperation
        {
            Kind = OperationKind.File, Section = "persist", FindingId = "persist", Path = path, OriginalExists = exists,
            CreatedDirectories = created.Count == 0 ? null : created,
            OriginalBytes = exists ? Convert.ToBase64String(File.ReadAllBytes(physical)) : null,
            NewBytes = Convert.ToBase64String(Encoding.UTF8.GetBytes(content)),
        };
    }

    private JournalOperation MountOperation(Finding f, HugetlbfsMountChange m)
    {
        SafePaths.Resolve(Root, m.MountPoint);
        return new JournalOperation { Kind = OperationKind.Mount, Section = m.Section, FindingId = f.Id, Path = m.MountPoint, OriginalExists = Directory.Exists(m.MountPoint), NewValue = $"pagesize={m.PageSizeOption}" };
    }

    private JournalOperation ModuleReloadOperation(Finding f, ModuleOption o)
    {
        var dir = $"/sys/module/{o.Module}/parameters";
        var original = (reader.List(dir) ?? []).ToDictionary(n => n, n => File.ReadAllText($"{dir}/{n}").Trim(), StringComparer.Ordinal);
        return new JournalOperation
        {
            Kind = OperationKind.ModuleReload, Section = o.Section, FindingId = f.Id, Path = dir, Module = o.Module,
            OriginalParameters = original, NewParameters = new Dictionary<string, string> { [o.Parameter] = o.Value },
        };
    }

    /// <summary>A kernel attribute's value as it would be written back: a choice file's selection, else its text.</summary>
    public static string? ReadValue(string physical)
    {
        string text;
        try { text = File.ReadAllText(physical).TrimEnd('\0', '\n', ' '); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return text.Contains('[') && KernelText.Choice(text).Selected is { } selected ? selected : text;
    }

    private string? ReadFileText(string machinePath)
    {
        var p = reader.IsLive ? machinePath : Root + machinePath;
        return File.Exists(p) ? File.ReadAllText(p) : null;
    }

    public ChangeResult Apply(ApplyPlan plan, string profile, ApplyOptions options, DateTimeOffset now, Action<int, int, string>? progress = null)
    {
        using var lockHandle = journal.TryLock() ?? throw new RefusedException($"another kvmtune apply or rollback holds {Path.Combine(journal.Directory, Journal.LockName)}");
        var unfinished = journal.All().FirstOrDefault(e => e.Incomplete);
        if (unfinished is not null)
            throw new RefusedException($"apply {unfinished.Id} did not finish (a crash?); run 'kvmtune rollback {unfinished.Id}' first");
        if (plan.Operations.Count == 0)
            return new ChangeResult(null, ["nothing to change"], [], false);

        var ops = plan.Operations.ToList();
        var entry = new JournalEntry { Id = Journal.NewId(now), Created = now.ToString("O"), Profile = profile, Root = Root, Persist = options.Persist, Operations = ops };
        journal.Save(entry); // every original is on disk before the first write
        CrashPoint(options, 0);
        var lines = new List<string>();
        var warnings = new List<string>();
        for (var i = 0; i < ops.Count; i++)
        {
            progress?.Invoke(i + 1, ops.Count, ops[i].Path);
            try
            {
                var readBack = Execute(ops[i]);
                var note = ops[i].Kind == OperationKind.Value && readBack != ops[i].NewValue ? $"the kernel kept {readBack} (asked {ops[i].NewValue})" : null;
                if (note is not null) warnings.Add($"{ops[i].Path}: {note}");
                ops[i] = ops[i] with { Applied = true, ReadBack = readBack, Note = note };
                lines.Add($"{ops[i].Describe()}{(note is null ? "" : $" ({note})")} [{ops[i].Section}]");
                journal.Save(entry = entry with { Operations = ops });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ApplyFailedException)
            {
                var events = new List<string> { $"operation {ops[i].Seq} failed: {e.Message}" };
                for (var j = i - 1; j >= 0; j--)
                    events.Add(Undo(ops[j], force: true, out _));
                journal.Save(entry with { State = JournalState.Failed, Operations = ops, Events = events });
                throw new ApplyFailedException($"{e.Message}; the {i} change(s) made before it were undone (journal {entry.Id})");
            }
            CrashPoint(options, i + 1);
        }
        journal.Save(entry with { State = JournalState.Completed, Operations = ops });
        return new ChangeResult(entry.Id, lines, warnings, false);
    }

    /// <summary>KVMTUNE_TEST_CRASH_AFTER=N: stop dead right after the N-th change, as a power cut would.</summary>
    private static void CrashPoint(ApplyOptions options, int done)
    {
        if (options.CrashAfter == done) NativeSys.ExitAbruptly(99);
    }

    private string Execute(JournalOperation op)
    {
        switch (op.Kind)
        {
            case OperationKind.Value:
            {
                var physical = SafePaths.Resolve(Root, op.Path);
                // SR-IOV only changes the VF count from zero: go through zero first.
                if (op.Path.EndsWith("/sriov_numvfs", StringComparison.Ordinal) && op.OriginalValue != "0" && op.NewValue != "0") WriteValue(physical, op.Path, "0");
                WriteValue(physical, op.Path, op.NewValue!);
                return ReadValue(physical) ?? throw new ApplyFailedException($"{op.Path} cannot be read back");
            }
            case OperationKind.File:
                WriteFileDurably(SafePaths.Resolve(Root, op.Path), Convert.FromBase64String(op.NewBytes!));
                return "written";
            case OperationKind.Mount:
                Directory.CreateDirectory(op.Path);
                Run("mount", ["-t", "hugetlbfs", "-o", op.NewValue!, "none", op.Path]);
                return "mounted";
            case OperationKind.ModuleReload:
                Run("modprobe", ["-r", op.Module!]);
                Run("modprobe", [op.Module!, .. op.NewParameters!.Select(kv => $"{kv.Key}={kv.Value}")]);
                return "reloaded";
            case OperationKind.Driver:
                MoveDriver(op.Path, op.OriginalValue, op.NewValue!, overrideValue: op.NewValue!);
                return op.NewValue!;
            case OperationKind.Namespace:
                // 2 MiB, the page size QEMU's memory-backend-file maps a devdax device with (its align=).
                Run(op.Module ?? "ndctl", ["create-namespace", "-e", op.Path, "-m", op.NewValue!, "-a", "2M", "-f"]);
                return NamespaceMode(op.Path) ?? throw new ApplyFailedException($"{op.Path} is gone after ndctl");
        }
        throw new InvalidOperationException($"unknown operation kind {op.Kind}");
    }

    /// <summary>
    /// Moves a PCI device (op.Path is its BDF) from one driver to another the way the guide does: driver_override
    /// where the kernel has it (else new_id), unbind from the current driver, bind to the new one; then waits
    /// for the driver link to show it.
    /// </summary>
    private void MoveDriver(string bdf, string? from, string? to, string? overrideValue)
    {
        var dev = $"/sys/bus/pci/devices/{bdf}";
        var hasOverride = File.Exists(reader.Physical(dev + "/driver_override"));
        if (hasOverride) WriteValue(SafePaths.Resolve(Root, dev + "/driver_override"), dev + "/driver_override", overrideValue ?? "");
        else
        {
            // Kernels without driver_override: teach vfio-pci the device's id (the guide's new_id), and make it
            // forget it again when the device goes back.
            var vendor = File.ReadAllText(reader.Physical(dev + "/vendor")).Trim().Replace("0x", "");
            var device = File.ReadAllText(reader.Physical(dev + "/device")).Trim().Replace("0x", "");
            if (to == "vfio-pci") WriteExact("/sys/bus/pci/drivers/vfio-pci/new_id", $"{vendor} {device}");
            else if (from == "vfio-pci") WriteExact("/sys/bus/pci/drivers/vfio-pci/remove_id", $"{vendor} {device}");
        }
        var current = CurrentDriver(bdf);
        if (current is not null && current != to) WriteExact($"/sys/bus/pci/drivers/{current}/unbind", bdf);
        if (to is not null && CurrentDriver(bdf) != to) WriteExact($"/sys/bus/pci/drivers/{to}/bind", bdf);
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (CurrentDriver(bdf) != to && DateTime.UtcNow < deadline) Thread.Sleep(10);
        if (CurrentDriver(bdf) != to) throw new ApplyFailedException($"{bdf}: still on driver {CurrentDriver(bdf) ?? "none"} after binding to {to ?? "none"}");
    }

    /// <summary>A namespace's mode as the kernel shows it now (a fresh read: ndctl just changed it).</summary>
    private string? NamespaceMode(string name) =>
        Host.Devices.DeviceReader.ReadNvdimm(new HostReader(Root)).Namespaces.FirstOrDefault(n => n.Name == name)?.Mode switch
        {
            "devdax" => "devdax", "fsdax" => "fsdax", "sector" => "sector", null => null, _ => "raw",
        };

    private string? CurrentDriver(string bdf)
    {
        var target = new FileInfo(reader.Physical($"/sys/bus/pci/devices/{bdf}/driver")).LinkTarget;
        return target is null ? null : target.TrimEnd('/')[(target.TrimEnd('/').LastIndexOf('/') + 1)..];
    }

    /// <summary>bind, unbind and new_id take the bytes as given (the guide uses echo -n).</summary>
    private void WriteExact(string path, string value)
    {
        var physical = SafePaths.Resolve(Root, path);
        var errno = NativeSys.WriteAttribute(physical, Encoding.UTF8.GetBytes(value), truncate: !reader.IsLive);
        if (errno != 0) throw new ApplyFailedException($"{path}: the kernel refused '{value}': {NativeSys.ErrorText(errno)}");
    }

    private static void WriteValue(string physical, string path, string value)
    {
        var errno = NativeSys.WriteAttribute(physical, Encoding.UTF8.GetBytes(value + "\n"), truncate: !physical.StartsWith("/sys/", StringComparison.Ordinal) && !physical.StartsWith("/proc/", StringComparison.Ordinal));
        if (errno != 0) throw new ApplyFailedException($"{path}: the kernel refused '{value}': {NativeSys.ErrorText(errno)}");
    }

    private static void WriteFileDurably(string physical, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(physical)!;
        Directory.CreateDirectory(dir);
        var temp = physical + ".kvmtune.tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)0b110_100_100 }))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, physical, overwrite: true);
        NativeSys.Fsync(dir, directory: true);
    }

    private static void Run(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new ApplyFailedException($"cannot start {program}");
        var err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new ApplyFailedException($"{program} {string.Join(' ', args)} exited {p.ExitCode}: {err.Trim()}");
    }

    /// <summary>Undoes one operation. Something changed by someone else since is left alone unless forced.</summary>
    private string Undo(JournalOperation op, bool force, out bool conflict)
    {
        conflict = false;
        switch (op.Kind)
        {
            case OperationKind.Value:
            {
                var physical = SafePaths.Resolve(Root, op.Path);
                var current = ReadValue(physical);
                if (current == op.OriginalValue) return $"{op.Path}: already {current}";
                if (current != op.NewValue && current != op.ReadBack && !force)
                {
                    conflict = true;
                    return $"{op.Path}: changed since the apply (now {current ?? "unreadable"}, kvmtune wrote {op.NewValue}); left alone (--force restores {op.OriginalValue})";
                }
                if (op.Path.EndsWith("/sriov_numvfs", StringComparison.Ordinal) && current != "0" && op.OriginalValue != "0") WriteValue(physical, op.Path, "0");
                WriteValue(physical, op.Path, op.OriginalValue!);
                return $"{op.Path}: restored {op.OriginalValue}";
            }
            case OperationKind.File:
            {
                var physical = SafePaths.Resolve(Root, op.Path);
                var current = File.Exists(physical) ? Convert.ToBase64String(File.ReadAllBytes(physical)) : null;
                if (current == op.OriginalBytes) return $"{op.Path}: already as before";
                if (current != op.NewBytes && !force)
                {
                    conflict = true;
                    return $"{op.Path}: edited since the apply; left alone (--force restores it)";
                }
                if (op.OriginalExists) WriteFileDurably(physical, Convert.FromBase64String(op.OriginalBytes!));
                else
                {
                    File.Delete(physical);
                    NativeSys.Fsync(Path.GetDirectoryName(physical)!, directory: true);
                    foreach (var dir in op.CreatedDirectories ?? [])
                    {
                        var d = reader.Physical(dir);
                        if (Directory.Exists(d) && !Directory.EnumerateFileSystemEntries(d).Any()) Directory.Delete(d);
                    }
                }
                return op.OriginalExists ? $"{op.Path}: restored" : $"{op.Path}: removed";
            }
            case OperationKind.Mount:
            {
                var mounted = File.ReadAllText("/proc/mounts").Split('\n').Any(l => l.Split(' ') is { Length: > 2 } f && f[1] == op.Path && f[2] == "hugetlbfs");
                if (mounted) Run("umount", [op.Path]);
                if (!op.OriginalExists && Directory.Exists(op.Path) && !Directory.EnumerateFileSystemEntries(op.Path).Any()) Directory.Delete(op.Path);
                return mounted ? $"{op.Path}: unmounted" : $"{op.Path}: not mounted";
            }
            case OperationKind.Namespace:
            {
                var mode = NamespaceMode(op.Path);
                if (mode == op.OriginalValue) return $"{op.Path}: already {mode}";
                if (mode != op.NewValue && !force)
                {
                    conflict = true;
                    return $"{op.Path}: now {mode ?? "gone"}, not what kvmtune made; left alone (--force reconfigures it to {op.OriginalValue})";
                }
                Run(op.Module ?? "ndctl", ["create-namespace", "-e", op.Path, "-m", op.OriginalValue!, "-f"]);
                return $"{op.Path}: back to {op.OriginalValue}";
            }
            case OperationKind.Driver:
            {
                var now = CurrentDriver(op.Path);
                if (now == op.OriginalValue && !op.Applied) return $"{op.Path}: still on {now ?? "no driver"}";
                if (now != op.NewValue && now != op.OriginalValue && !force)
                {
                    conflict = true;
                    return $"{op.Path}: moved to {now ?? "no driver"} since the apply; left alone (--force binds it to {op.OriginalValue ?? "no driver"})";
                }
                MoveDriver(op.Path, now, op.OriginalValue, overrideValue: op.OriginalBytes is null ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(op.OriginalBytes)));
                return $"{op.Path}: back on {op.OriginalValue ?? "no driver"}";
            }
            case OperationKind.ModuleReload:
            {
                Run("modprobe", ["-r", op.Module!]);
                var keys = op.NewParameters!.Keys;
                Run("modprobe", [op.Module!, .. op.OriginalParameters!.Where(kv => keys.Contains(kv.Key)).Select(kv => $"{kv.Key}={kv.Value}")]);
                return $"{op.Module}: reloaded with its original parameters";
            }
        }
        throw new InvalidOperationException($"unknown operation kind {op.Kind}");
    }

    public ChangeResult Rollback(string? id, bool force)
    {
        using var lockHandle = journal.TryLock() ?? throw new RefusedException($"another kvmtune apply or rollback holds {Path.Combine(journal.Directory, Journal.LockName)}");
        var all = journal.All();
        var entry = id is null ? all.LastOrDefault() : all.FirstOrDefault(e => e.Id == id);
        if (entry is null)
            throw new InputException(journal.Directory, null, id is null ? "--last" : id, id is null ? "the journal is empty: nothing to roll back" : $"no journal entry '{id}' (see kvmtune history)");
        if (entry.State is JournalState.RolledBack or JournalState.Failed)
            return new ChangeResult(entry.Id, [$"{entry.Id} is already {entry.State}: nothing to do"], [], false);
        var lines = new List<string>();
        var conflicts = new List<string>();
        var ops = entry.Operations.ToList();
        for (var i = ops.Count - 1; i >= 0; i--)
        {
            // An unfinished apply may have made its last change without recording it: undo every operation,
            // each comparing what is there with the original and with what kvmtune wrote.
            if (!ops[i].Applied && entry.State != JournalState.Pending) continue;
            var line = Undo(ops[i], force, out var conflict);
            (conflict ? conflicts : lines).Add(line);
            if (!conflict) ops[i] = ops[i] with { RolledBack = DateTimeOffset.UtcNow.ToString("O") };
        }
        var events = entry.Events.Concat(lines).Concat(conflicts).ToList();
        journal.Save(entry with { State = conflicts.Count == 0 ? JournalState.RolledBack : entry.State, Operations = ops, Events = events });
        return new ChangeResult(entry.Id, lines, conflicts, conflicts.Count > 0);
    }
}
