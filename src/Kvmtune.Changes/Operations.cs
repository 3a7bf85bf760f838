using System.Collections.Frozen;
using System.Text;
using System.Text.Json.Serialization;
using Kvmtune.Facts.Host.Devices;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide;

namespace Kvmtune.Changes;

/// <summary>What undoing one operation did: a line for the person, and whether it was left alone.</summary>
public sealed record Undone(string Line, bool Conflict);

/// <summary>
/// One journaled change. Each kind plans, applies, reads back and undoes itself, and says what is wrong with a record
/// read back from a journal (which is untrusted input: a person or a program may have edited it).
/// </summary>
[JsonPolymorphic(
    TypeDiscriminatorPropertyName = "kind",
    UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization
)]
[JsonDerivedType(typeof(ValueOperation), "value")]
[JsonDerivedType(typeof(FileOperation), "file")]
[JsonDerivedType(typeof(MountOperation), "mount")]
[JsonDerivedType(typeof(ModuleReloadOperation), "module-reload")]
[JsonDerivedType(typeof(DriverOperation), "driver")]
[JsonDerivedType(typeof(NamespaceOperation), "namespace")]
[JsonDerivedType(typeof(SriovOperation), "sriov")]
public abstract record Operation
{
    public int Seq { get; init; }
    public required string Section { get; init; }
    public required string FindingId { get; init; }
    public bool Applied { get; init; }
    public string? ReadBack { get; init; }
    public string? Note { get; init; }
    public string? RolledBack { get; init; }

    /// <summary>What it touches, for progress lines.</summary>
    [JsonIgnore]
    public abstract string Target { get; }

    public abstract string Describe();

    /// <summary>Why this record must not be acted on (null when it may): the allowlist, each value's grammar.</summary>
    public virtual string? Problem(OperationContext ctx) =>
        Grammar.IsSection(Section) && Grammar.IsId(FindingId) ? null : "its section or finding id is not well-formed";

    /// <summary>Makes the change and returns what the machine shows afterwards.</summary>
    public abstract string Apply(OperationContext ctx);

    /// <summary>Puts the original back; leaves alone what someone else changed since, unless forced.</summary>
    public abstract Undone Undo(OperationContext ctx, bool force);
}

/// <summary>A kernel attribute (sysfs, procfs): restored by writing the original value back.</summary>
public sealed record ValueOperation : Operation
{
    public required string Path { get; init; }

    /// <summary>The value to write back (a choice file's selection, not its whole text).</summary>
    public required string Original { get; init; }
    public required string New { get; init; }

    /// <summary>In a tree under --root, the attribute file's exact bytes (base64), put back byte for byte.</summary>
    public string? OriginalBytes { get; init; }

    public override string Target => Path;

    public override string Describe() => $"{Path}: {Original} -> {New}";

    public override string? Problem(OperationContext ctx) =>
        base.Problem(ctx)
        ?? (
            !WriteAllowlist.IsAllowed(Path, out var why) ? why
            : !Grammar.IsValue(Original) ? $"its original value is not a kernel value ({Grammar.Show(Original)})"
            : !Grammar.IsValue(New) ? $"its new value is not a kernel value ({Grammar.Show(New)})"
            : OriginalBytes is not null && (ctx.Tree.IsLive || OriginalBytes.Length > 8192 || !IsBase64(OriginalBytes))
                ? "its original bytes are not a tree file's base64"
            : null
        );

    private static bool IsBase64(string s)
    {
        try
        {
            _ = Convert.FromBase64String(s);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public override string Apply(OperationContext ctx)
    {
        // SR-IOV changes the VF count only from zero (drivers/pci/iov.c): go through zero first.
        if (Path.EndsWith("/sriov_numvfs", StringComparison.Ordinal) && Original != "0" && New != "0")
            ctx.WriteValue(Path, "0");
        ctx.WriteValue(Path, New);
        return ctx.ReadValue(Path) ?? throw new ApplyFailedException($"{Path} cannot be read back");
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        ctx.CleanTemporaries(Path);
        var current = ctx.ReadValue(Path);
        var bytes = OriginalBytes is null ? null : Convert.FromBase64String(OriginalBytes);
        if (
            current == Original
            && (bytes is null || ctx.ReadTreeBytes(Path) is { } now && now.AsSpan().SequenceEqual(bytes))
        )
            return new($"{Path}: already {current}", false);
        if (current != Original && current != New && current != ReadBack && !force)
            return new(
                $"{Path}: changed since the apply (now {current ?? "unreadable"}, kvmtune wrote {New}); "
                    + $"left alone (--force restores {Original})",
                true
            );
        if (bytes is not null)
        {
            // A tree's file gets its exact bytes back (a choice file's whole line, a missing newline).
            ctx.WriteTreeBytes(Path, bytes);
            return new($"{Path}: restored {Original}", false);
        }
        if (Path.EndsWith("/sriov_numvfs", StringComparison.Ordinal) && current != "0" && Original != "0")
            ctx.WriteValue(Path, "0");
        ctx.WriteValue(Path, Original);
        return new($"{Path}: restored {Original}", false);
    }
}

/// <summary>
/// A PF's VF count (sriov_numvfs), with sriov_drivers_autoprobe off while new VFs appear so that no host VF driver
/// takes them before vfio-pci. Both originals are journaled; undo restores the count with autoprobe as it was, so
/// VFs that come back get the drivers they had.
/// </summary>
public sealed record SriovOperation : Operation
{
    public required string Pf { get; init; }
    public required int OriginalVfs { get; init; }
    public required int NewVfs { get; init; }

    /// <summary>sriov_drivers_autoprobe as it was ("0" or "1"); null where the kernel has no such file.</summary>
    public string? OriginalAutoprobe { get; init; }

    private string Numvfs => $"/sys/bus/pci/devices/{Pf}/sriov_numvfs";
    private string Autoprobe => $"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe";

    public override string Target => Numvfs;

    public override string Describe() =>
        $"{Numvfs}: {OriginalVfs} -> {NewVfs}"
        + (OriginalAutoprobe == "1" && NewVfs > 0 ? " (sriov_drivers_autoprobe 0 while the VFs appear)" : "");

    public override string? Problem(OperationContext ctx) =>
        base.Problem(ctx)
        ?? (
            !KernelText.IsPciAddress(Pf) ? "not a PCI address"
            : OriginalVfs is < 0 or > 65535 || NewVfs is < 0 or > 65535 ? "a VF count is outside 0..65535"
            : OriginalAutoprobe is not (null or "0" or "1") ? "sriov_drivers_autoprobe is not 0 or 1"
            : !WriteAllowlist.IsAllowed(Numvfs, out var why) || !WriteAllowlist.IsAllowed(Autoprobe, out why) ? why
            : null
        );

    public override string Apply(OperationContext ctx)
    {
        var probeOff = OriginalAutoprobe == "1" && NewVfs > 0;
        if (probeOff)
            ctx.WriteValue(Autoprobe, "0");
        try
        {
            SetVfs(ctx, NewVfs);
        }
        finally
        {
            // pci_device_can_probe() reads it only when a VF is added: the VFs made meanwhile stay driverless.
            if (probeOff)
                ctx.WriteValue(Autoprobe, OriginalAutoprobe!);
        }
        return ctx.ReadValue(Numvfs) ?? throw new ApplyFailedException($"{Numvfs} cannot be read back");
    }

    /// <summary>
    /// sriov_numvfs_store() in drivers/pci/iov.c changes a count only through 0 (-EBUSY otherwise), and the
    /// PF driver may refuse or enable another count: the virtfnN links say what the kernel did.
    /// </summary>
    private void SetVfs(OperationContext ctx, int count)
    {
        var now = ctx.Vfs(Pf).Count;
        if (now != 0 && count != 0)
            ctx.WriteValue(Numvfs, "0");
        ctx.WriteValue(Numvfs, count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // sriov_configure() -> pci_enable_sriov()/pci_disable_sriov() add and remove the VFs and their virtfnN links
        // (pci_iov_add_virtfn() in iov.c) before write(2) returns: what the kernel shows now is what it did.
        if (ctx.Vfs(Pf).Count != count)
            throw new ApplyFailedException(
                $"{Pf}: the kernel shows {ctx.Vfs(Pf).Count} VFs after {count} was "
                    + "written to sriov_numvfs (the PF driver refused it or enabled another count)"
            );
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        ctx.CleanTemporaries(Numvfs);
        ctx.CleanTemporaries(Autoprobe);
        var vfs = ctx.Vfs(Pf);
        var probe = OriginalAutoprobe is null ? null : ctx.ReadValue(Autoprobe);
        if (vfs.Count == OriginalVfs && probe == OriginalAutoprobe)
            return new($"{Pf}: already {OriginalVfs} VFs", false);
        if (vfs.Count != NewVfs && vfs.Count != OriginalVfs && vfs.Count != 0 && !force)
            return new(
                $"{Pf}: {vfs.Count} VFs now, not what kvmtune made ({NewVfs}); left alone "
                    + $"(--force restores {OriginalVfs})",
                true
            );
        if (vfs.Count != OriginalVfs && vfs.Count > 0)
        {
            // Removing a VF that QEMU holds blocks until QEMU lets go: never start a write that would hang.
            var holders = PciKernel.Holders(ctx.Fresh(), vfs);
            if (holders.Count > 0)
                return new(
                    $"{Pf}: not restored to {OriginalVfs} VFs: writing sriov_numvfs would block while "
                        + $"{PciKernel.Describe(holders)}; stop those VMs and run the rollback again",
                    true
                );
        }
        if (OriginalAutoprobe is not null && probe != OriginalAutoprobe)
            ctx.WriteValue(Autoprobe, OriginalAutoprobe);
        if (vfs.Count != OriginalVfs)
            SetVfs(ctx, OriginalVfs);
        return new($"{Pf}: {OriginalVfs} VFs restored", false);
    }
}

/// <summary>A file kvmtune owns under /etc: restored byte for byte with its owner and mode, or removed.</summary>
public sealed record FileOperation : Operation
{
    public required string Path { get; init; }
    public required bool OriginalExists { get; init; }

    /// <summary>The original bytes, base64 (null when the file did not exist).</summary>
    public string? Original { get; init; }
    public uint OriginalMode { get; init; }
    public uint OriginalUid { get; init; }
    public uint OriginalGid { get; init; }
    public required string New { get; init; }

    /// <summary>Folders the write creates, outermost first; removed again (when empty) by rollback.</summary>
    public IReadOnlyList<string> CreatedFolders { get; init; } = [];

    public override string Target => Path;

    public override string Describe() => $"{Path}: {(OriginalExists ? "rewrite" : "create")}";

    public override string? Problem(OperationContext ctx)
    {
        if (base.Problem(ctx) is { } p)
            return p;
        if (!SafePaths.IsPersistentFile(Path))
            return "not one of the files kvmtune writes to survive a reboot";
        if (OriginalExists != (Original is not null))
            return "it says the file existed but holds no original (or the reverse)";
        if (Decode(Original) is null && Original is not null || Decode(New) is null)
            return "its bytes are not base64";
        if (OriginalMode > 0xFFF)
            return "its original mode is not a permission mode";
        foreach (var f in CreatedFolders ?? [])
            if (
                f is null
                || !Path.StartsWith(f + "/", StringComparison.Ordinal)
                || !(f == "/etc" || f.StartsWith("/etc/", StringComparison.Ordinal))
                || f.Split('/').Skip(1).Any(c => c is "" or "." or "..")
            )
                return $"created folder '{f}' is not a folder above {Path} under /etc";
        return null;
    }

    private static byte[]? Decode(string? base64)
    {
        if (base64 is null)
            return null;
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public override string Apply(OperationContext ctx)
    {
        ctx.Tree.ReplaceOwnedFile(
            Path,
            Decode(New)!,
            OriginalExists ? OriginalMode : 0b110_100_100,
            OriginalExists ? OriginalUid : 0,
            OriginalExists ? OriginalGid : 0,
            CreatedFolders
        );
        return "written";
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        var current = ctx.Tree.ReadOwnedFile(Path);
        var original = Decode(Original);
        if (OriginalExists)
        {
            if (
                current is not null
                && current.Bytes.AsSpan().SequenceEqual(original)
                && current.Mode == OriginalMode
                && current.Uid == OriginalUid
                && current.Gid == OriginalGid
            )
                return new($"{Path}: already as before", false);
            if (
                !force
                && (
                    current is null
                    || !current.Bytes.AsSpan().SequenceEqual(Decode(New))
                        && !current.Bytes.AsSpan().SequenceEqual(original)
                )
            )
                return new($"{Path}: edited since the apply; left alone (--force restores it)", true);
            ctx.Tree.ReplaceOwnedFile(Path, original!, OriginalMode, OriginalUid, OriginalGid);
            return new($"{Path}: restored", false);
        }
        if (current is not null)
        {
            if (!force && !current.Bytes.AsSpan().SequenceEqual(Decode(New)))
                return new($"{Path}: edited since the apply; left alone (--force removes it)", true);
            ctx.Tree.DeleteOwnedFile(Path);
        }
        // Deepest first; a folder someone has put files in since stays.
        foreach (var folder in (CreatedFolders ?? []).Reverse())
            ctx.Tree.RemoveEmptyFolder(folder);
        return new(current is null ? $"{Path}: already absent" : $"{Path}: removed", false);
    }
}

/// <summary>A hugetlbfs mount: undone by unmounting, and removing the folder if kvmtune made it.</summary>
public sealed record MountOperation : Operation
{
    public required string MountPoint { get; init; }
    public required string PageSize { get; init; }
    public bool FolderExisted { get; init; }

    public override string Target => MountPoint;

    public override string Describe() => $"mount hugetlbfs at {MountPoint} (pagesize={PageSize})";

    public override string? Problem(OperationContext ctx) =>
        base.Problem(ctx)
        ?? (
            !SafePaths.IsMountPoint(MountPoint) ? "not a hugetlbfs mount point kvmtune makes"
            : !Grammar.IsPageSize(PageSize) ? "its page size is not like 2M or 1G"
            : !ctx.Tree.IsLive ? "mounts are made on the live host only, not under --root"
            : null
        );

    public override string Apply(OperationContext ctx)
    {
        if (!FolderExisted)
            Directory.CreateDirectory(MountPoint);
        ctx.Programs.Run(SystemProgram.Mount, ["-t", "hugetlbfs", "-o", $"pagesize={PageSize}", "none", MountPoint]);
        return "mounted";
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        var mounted = File.ReadAllText("/proc/mounts")
            .Split('\n')
            .Any(l => l.Split(' ') is { Length: > 2 } f && f[1] == MountPoint && f[2] == "hugetlbfs");
        if (mounted)
            ctx.Programs.Run(SystemProgram.Umount, [MountPoint]);
        if (!FolderExisted && Directory.Exists(MountPoint) && !Directory.EnumerateFileSystemEntries(MountPoint).Any())
            Directory.Delete(MountPoint);
        return new(mounted ? $"{MountPoint}: unmounted" : $"{MountPoint}: not mounted", false);
    }
}

/// <summary>A module reloaded with new options: undone by reloading it with the original values.</summary>
public sealed record ModuleReloadOperation : Operation
{
    public required string Module { get; init; }
    public required IReadOnlyDictionary<string, string> OriginalParameters { get; init; }
    public required IReadOnlyDictionary<string, string> NewParameters { get; init; }

    public override string Target => Module;

    public override string Describe() =>
        $"reload {Module} with {string.Join(' ', NewParameters.Select(kv => $"{kv.Key}={kv.Value}"))}";

    public override string? Problem(OperationContext ctx)
    {
        if (base.Problem(ctx) is { } p)
            return p;
        if (!Grammar.ReloadableModules.Contains(Module))
            return $"'{Grammar.Show(Module)}' is not a module kvmtune reloads";
        if (!ctx.Tree.IsLive)
            return "modules are reloaded on the live host only, not under --root";
        // A journal is hostile input: missing parameter lists are a refusal with a sentence, not an exception.
        if (OriginalParameters is null || NewParameters is null)
            return "the module's original and new parameters are missing";
        foreach (var (k, v) in OriginalParameters.Concat(NewParameters))
            if (!Grammar.IsName(k) || !Grammar.IsValue(v))
                return $"parameter '{Grammar.Show(k)}={Grammar.Show(v)}' is not well-formed";
        return null;
    }

    public override string Apply(OperationContext ctx)
    {
        ctx.Programs.Run(SystemProgram.Modprobe, ["-r", Module]);
        ctx.Programs.Run(SystemProgram.Modprobe, [Module, .. NewParameters.Select(kv => $"{kv.Key}={kv.Value}")]);
        return "reloaded";
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        ctx.Programs.Run(SystemProgram.Modprobe, ["-r", Module]);
        var keys = NewParameters.Keys;
        ctx.Programs.Run(
            SystemProgram.Modprobe,
            [Module, .. OriginalParameters.Where(kv => keys.Contains(kv.Key)).Select(kv => $"{kv.Key}={kv.Value}")]
        );
        return new($"{Module}: reloaded with its original parameters", false);
    }
}

/// <summary>A PCI device moved to another driver: undone by binding it back to the original one.</summary>
public sealed record DriverOperation : Operation
{
    public required string Device { get; init; }
    public string? OriginalDriver { get; init; }
    public required string NewDriver { get; init; }

    /// <summary>driver_override as it was ("" when unset).</summary>
    public string OriginalOverride { get; init; } = "";

    public override string Target => Device;

    public override string Describe() => $"{Device}: driver {OriginalDriver ?? "none"} -> {NewDriver}";

    public override string? Problem(OperationContext ctx) =>
        base.Problem(ctx)
        ?? (
            !KernelText.IsPciAddress(Device) ? "not a PCI address"
            : OriginalDriver is not null && !Grammar.IsDriver(OriginalDriver) || !Grammar.IsDriver(NewDriver)
                ? "a driver name is not well-formed"
            : OriginalOverride.Length > 0 && !Grammar.IsDriver(OriginalOverride)
                ? "driver_override is not a driver name"
            : null
        );

    public override string Apply(OperationContext ctx)
    {
        ctx.MoveDriver(Device, OriginalDriver, NewDriver, NewDriver);
        return NewDriver;
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        var now = ctx.CurrentDriver(Device);
        var overrideNow = ctx.ReadValue($"/sys/bus/pci/devices/{Device}/driver_override");
        var overrideClean = overrideNow is null or "(null)" or "" ? "" : overrideNow;
        if (now == OriginalDriver && overrideClean == OriginalOverride)
            return new($"{Device}: already on {now ?? "no driver"}", false);
        if (now != NewDriver && now != OriginalDriver && now is not null && !force)
            return new(
                $"{Device}: moved to {now} since the apply; left alone "
                    + $"(--force binds it to {OriginalDriver ?? "no driver"})",
                true
            );
        ctx.MoveDriver(Device, now, OriginalDriver, OriginalOverride, forgetId: NewDriver == "vfio-pci");
        return new($"{Device}: back on {OriginalDriver ?? "no driver"}", false);
    }
}

/// <summary>An nvdimm namespace reconfigured by ndctl: undone by reconfiguring it to its original mode.</summary>
public sealed record NamespaceOperation : Operation
{
    public required string Namespace { get; init; }
    public required string OriginalMode { get; init; }
    public required string NewMode { get; init; }

    /// <summary>ndctl's -a: the alignment the region's devdax devices use (null: the kernel's default).</summary>
    public string? Align { get; init; }

    public override string Target => Namespace;

    private string[] CreateArgs =>
        ["create-namespace", "-e", Namespace, "-m", NewMode, .. Align is null ? [] : new[] { "-a", Align }, "-f"];

    public override string Describe() =>
        $"{Namespace}: mode {OriginalMode} -> {NewMode} (ndctl {string.Join(' ', CreateArgs)})";

    public override string? Problem(OperationContext ctx) =>
        base.Problem(ctx)
        ?? (
            !Grammar.IsNamespace(Namespace) ? "not a namespace name such as namespace0.0"
            : !Grammar.NamespaceModes.Contains(OriginalMode) || !Grammar.NamespaceModes.Contains(NewMode)
                ? "not an ndctl mode"
            : Align is not null && !Grammar.IsAlignment(Align) ? "its alignment is not like 4K, 2M or 1G"
            : !ctx.Tree.IsLive ? "namespaces are reconfigured on the live host only, not under --root"
            : null
        );

    public override string Apply(OperationContext ctx)
    {
        ctx.Programs.Run(SystemProgram.Ndctl, CreateArgs);
        return ctx.NamespaceMode(Namespace) ?? throw new ApplyFailedException($"{Namespace} is gone after ndctl");
    }

    public override Undone Undo(OperationContext ctx, bool force)
    {
        var mode = ctx.NamespaceMode(Namespace);
        if (mode == OriginalMode)
            return new($"{Namespace}: already {mode}", false);
        if (mode != NewMode && !force)
            return new(
                $"{Namespace}: now {mode ?? "gone"}, not what kvmtune made; left alone "
                    + $"(--force reconfigures it to {OriginalMode})",
                true
            );
        ctx.Programs.Run(SystemProgram.Ndctl, ["create-namespace", "-e", Namespace, "-m", OriginalMode, "-f"]);
        return new($"{Namespace}: back to {OriginalMode}", false);
    }
}

/// <summary>
/// The grammars of what a journal, a profile or a plan may carry into a kernel file or a command line.
/// </summary>
public static class Grammar
{
    public static readonly IReadOnlySet<string> ReloadableModules = new[]
    {
        "kvm",
        "kvm_intel",
        "kvm_amd",
        "vhost_net",
        "vfio_pci",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static readonly IReadOnlySet<string> NamespaceModes = new[]
    {
        "raw",
        "fsdax",
        "devdax",
        "sector",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A kernel value kvmtune writes or records: a number, a word, a CPU list, a hex mask.</summary>
    public static bool IsValue(string? v) =>
        v is { Length: > 0 and <= 256 }
        && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ',' or ':' or '+' or '-');

    /// <summary>A kernel command-line argument's value (adds '=' and '/' for root=UUID=... style values).</summary>
    public static bool IsArgumentValue(string? v) =>
        v is { Length: > 0 and <= 256 }
        && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ',' or ':' or '+' or '-' or '=' or '/');

    public static bool IsName(string? v) =>
        v is { Length: > 0 and <= 64 } && v.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    public static bool IsArgumentKey(string? v) =>
        v is { Length: > 0 and <= 64 } && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    public static bool IsDriver(string? v) =>
        v is { Length: > 0 and <= 64 } && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public static bool IsNamespace(string? v) =>
        v is not null
        && v.StartsWith("namespace", StringComparison.Ordinal)
        && v.Length <= 32
        && v[9..].Split('.') is [var a, var b]
        && a.Length > 0
        && b.Length > 0
        && a.All(char.IsAsciiDigit)
        && b.All(char.IsAsciiDigit);

    public static bool IsAlignment(string? v) =>
        v is { Length: >= 2 and <= 8 } && v[^1] is 'K' or 'M' or 'G' && v[..^1].All(char.IsAsciiDigit);

    public static bool IsPageSize(string? v) =>
        v is { Length: >= 2 and <= 8 } && v[^1] is 'M' or 'G' && v[..^1].All(char.IsAsciiDigit);

    public static bool IsSection(string? v) =>
        v is { Length: > 0 and <= 32 } && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    public static bool IsId(string? v) =>
        v is { Length: > 0 and <= 128 } && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':');

    /// <summary>A value for an error message: control characters made visible, long values cut.</summary>
    public static string Show(string? v)
    {
        if (v is null)
            return "(none)";
        var sb = new StringBuilder();
        foreach (var c in v.Length > 80 ? v[..80] + "..." : v)
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c);
        return sb.ToString();
    }
}

/// <summary>
/// The only programs kvmtune runs: fixed names, looked up in fixed system folders, never read from input.
/// </summary>
public enum SystemProgram
{
    Mount,
    Umount,
    Modprobe,
    Ndctl,
    UpdateGrub,
    Grub2Mkconfig,
    GrubMkconfig,
    Ip,
}

/// <summary>Starts one of the fixed programs with an argument vector (no shell).</summary>
public class ProgramRunner
{
    private static readonly string[] Folders = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    public static string NameOf(SystemProgram p) =>
        p switch
        {
            SystemProgram.Mount => "mount",
            SystemProgram.Umount => "umount",
            SystemProgram.Modprobe => "modprobe",
            SystemProgram.UpdateGrub => "update-grub",
            SystemProgram.Grub2Mkconfig => "grub2-mkconfig",
            SystemProgram.GrubMkconfig => "grub-mkconfig",
            SystemProgram.Ip => "ip",
            _ => "ndctl",
        };

    public virtual void Run(SystemProgram program, IReadOnlyList<string> args)
    {
        var name = NameOf(program);
        var path =
            Folders.Select(f => $"{f}/{name}").FirstOrDefault(File.Exists)
            ?? throw new ApplyFailedException($"{name} is not installed (looked in {string.Join(", ", Folders)})");
        var psi = new System.Diagnostics.ProcessStartInfo(path)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new ApplyFailedException($"cannot start {path}");
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new ApplyFailedException($"{name} {string.Join(' ', args)} exited {p.ExitCode}: {err.Result.Trim()}");
    }
}
