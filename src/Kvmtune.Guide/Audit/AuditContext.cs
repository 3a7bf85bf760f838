using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Guide.Audit;

/// <summary>A VM size for sizing questions: "4c8g" is 4 vCPUs and 8 GiB.</summary>
public sealed partial record VmSize(int Vcpus, long MemoryKib)
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d+)c(\d+)(g|gib|m|mib)$")]
    private static partial System.Text.RegularExpressions.Regex Shape();

    public static VmSize Parse(string text)
    {
        var m = Shape().Match(text.Trim().ToLowerInvariant());
        if (
            !m.Success
            || !int.TryParse(m.Groups[1].Value, out var cpus)
            || cpus == 0
            || !long.TryParse(m.Groups[2].Value, out var mem)
            || mem == 0
        )
            throw new InputException(
                null,
                null,
                "--vm-size",
                $"'{text}' is not a VM size such as 4c8g (vCPUs 'c' memory 'g' or 'm')"
            );
        return new VmSize(cpus, m.Groups[3].Value.StartsWith('g') ? mem << 20 : mem << 10);
    }

    public override string ToString() => $"{Vcpus} vCPUs, {Sizes.HumanKib(MemoryKib)}";
}

/// <summary>
/// What every rule reads: the machine's facts, the profile, the role the audit runs for, and the current value
/// of each extra kernel path a custom profile sets (read through the same reader: null when unreadable).
/// </summary>
public sealed record AuditContext(
    HostFacts Facts,
    Profile Profile,
    MachineRole Role,
    VmSize? VmSize,
    IReadOnlyDictionary<string, string?>? ProfileValues = null
)
{
    /// <summary>Reads the paths a custom profile's sysfs section names, for <see cref="Rules.ProfileSysfs"/>.</summary>
    public static IReadOnlyDictionary<string, string?> ReadProfileValues(HostReader reader, Profile profile) =>
        profile.SysfsWrites.Keys.ToDictionary(
            p => p,
            p => KernelText.Choice(reader.ReadText(p)) is { Selected: { } sel } ? sel : reader.ReadText(p),
            StringComparer.Ordinal
        );
}
