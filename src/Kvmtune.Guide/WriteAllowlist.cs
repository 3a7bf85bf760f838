using Kvmtune.Guide.Sections;

namespace Kvmtune.Guide;

/// <summary>
/// The only kernel paths kvmtune ever writes. A profile that names any other path, or a path with "..",
/// "." or doubled slashes in it, is refused before anything is written.
/// </summary>
public static class WriteAllowlist
{
    /// <summary>
    /// Each section of the guide names the attributes its fixes write, next to its rule, each with its persistent
    /// form.
    /// </summary>
    private static readonly Tunable[] Entries =
    [
        .. Section3_2_1_Numa.Writable,
        .. Section3_2_2_Frequency.Writable,
        .. Section3_2_3_HugePages.Writable,
        .. Section3_2_4_CStates.Writable,
        .. Section3_2_5_Ksm.Writable,
        .. Section3_2_6_HaltPolling.Writable,
        .. Section3_3_Qemu.Writable,
        .. Section3_4_Guest.Writable,
        .. Section5_Qat.Writable,
        .. ProfileSysfs.Writable,
    ];

    public static bool IsAllowed(string path, out string? reason)
    {
        reason = null;
        if (!path.StartsWith('/'))
        {
            reason = "the path is not absolute";
            return false;
        }
        if (path.Split('/').Skip(1).Any(p => p is "" or "." or ".."))
        {
            reason = "the path has empty, '.' or '..' components";
            return false;
        }
        if (path.Any(char.IsControl))
        {
            reason = "the path has control characters";
            return false;
        }
        if (Entries.Any(e => e.Path.IsMatch(path)))
            return true;
        reason =
            "kvmtune writes only the kernel tunables the guide names (THP, KSM, cpufreq, cpuidle, huge pages, KVM " +
                "and haltpoll parameters, block queues, numa_balancing, IRQ affinity, SR-IOV and PCI driver binding)";
        return false;
    }

    /// <summary>
    /// Whether <paramref name="value"/> is what the attribute at <paramref name="path"/> takes, by the grammar the
    /// section that allows it declares (the first entry that matches decides); the reason when not.
    /// </summary>
    public static bool AcceptsValue(string path, string value, out string? reason)
    {
        reason = null;
        if (!IsAllowed(path, out reason))
            return false;
        var entry = Entries.First(e => e.Path.IsMatch(path));
        // The whole value: a grammar's '$' also matches before a final newline, and "1\n1" is not "1".
        if (entry.Value.Match(value) is { Success: true, Index: 0 } m && m.Length == value.Length)
            return true;
        reason = $"'{value}' is not a value {path[(path.LastIndexOf('/') + 1)..]} takes";
        return false;
    }

    /// <summary>Every section's entries, in the order the sections come.</summary>
    public static IReadOnlyList<Tunable> Tunables => Entries;

    /// <summary>
    /// How a write to <paramref name="path"/> survives a reboot, as the section that allows it declares; null when
    /// the path is not allowed (the first section's entry that matches it decides).
    /// </summary>
    public static Persistence? FormOf(string path) =>
        IsAllowed(path, out _) ? Entries.First(e => e.Path.IsMatch(path)).Form : null;

    /// <summary>
    /// Whether a kernel attribute that really lies at <paramref name="real"/> may be written for
    /// <paramref name="machinePath"/>: the real place is itself allowed, or it is the same-named attribute of a device
    /// under /sys/devices that a sysfs link such as /sys/block/sda or /sys/bus/pci/devices/X leads to.
    /// </summary>
    public static bool AcceptsRealPath(string machinePath, string real) =>
        real == machinePath
        || IsAllowed(real, out _)
        || (
            machinePath.StartsWith("/sys/", StringComparison.Ordinal)
            && real.StartsWith("/sys/devices/", StringComparison.Ordinal)
            && !real.Split('/').Any(p => p is "." or "..")
            && real[(real.LastIndexOf('/') + 1)..] == machinePath[(machinePath.LastIndexOf('/') + 1)..]
        );
}
