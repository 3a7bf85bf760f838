using System.CommandLine;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Cli.Commands.Apply;

/// <summary>
/// <c>apply --hugepages NODE:SIZE:COUNT</c>: the pools named, and nothing of a profile, as one finding the change
/// layer journals and applies like any other.
/// </summary>
internal static class HugepageApply
{
    public static AuditReport Report(
        ParseResult parse,
        Option<string> profile,
        Option<string[]> only,
        IReadOnlyList<string> pools,
        HostFacts facts,
        MachineRole role
    )
    {
        // The option reserves pages only: a profile or a selection of its fixes beside it would be silently dropped.
        if (parse.GetResult(profile) is { Implicit: false })
            throw new CliException(
                ExitCodes.BadInput,
                $"{HugepageReservation.Option} sets huge page pools only: run the profile's apply separately"
            );
        if (parse.GetValue(only) is { Length: > 0 })
            throw new CliException(
                ExitCodes.BadInput,
                $"--only selects a profile's fixes; "
                    + $"{HugepageReservation.Option} applies exactly the pools it names"
            );
        // A bad token, node or size is an InputException: exit 2, nothing changed.
        var finding = HugepageReservation.Finding(pools, facts);
        return new AuditReport($"{HugepageReservation.Option} {string.Join(',', pools)}", role, [finding]);
    }
}
