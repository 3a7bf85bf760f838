using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section5_Qat
{
    /// <summary>The kernel attributes the fixes of section 5 write: its entries in <see
    /// cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Regex> Writable { get; } =
    [PciSriov(), PciAutoprobe(), PciDriverOverride(), PciDriverBind()];

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_numvfs$")]
    private static partial Regex PciSriov();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_drivers_autoprobe$")]
    private static partial Regex PciAutoprobe();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/driver_override$")]
    private static partial Regex PciDriverOverride();

    [GeneratedRegex(@"^/sys/bus/pci/drivers/[A-Za-z0-9_-]+/(bind|unbind|new_id|remove_id)$")]
    private static partial Regex PciDriverBind();
}
