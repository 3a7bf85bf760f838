using System.Text.RegularExpressions;

namespace Kvmtune.Guide.Sections;

public static partial class Section5_Qat
{
    // Binding a device to a driver is an action on the devices present now, not a setting the kernel keeps.
    private const string DriverBinding =
        "driver binding acts on the devices present now, not a setting the kernel keeps: bind again after a reboot "
        + "(kvmtune vfio)";

    /// <summary>The kernel attributes the fixes of section 5 write, each with how the write
    /// survives a reboot: its entries in <see cref="WriteAllowlist"/>.</summary>
    internal static IReadOnlyList<Tunable> Writable { get; } =
    [
        new(
            PciSriov(),
            Persistence.NotPersisted(
                "VFs are made by 'kvmtune vfio create-vfs', which checks what the kernel would refuse; run it again "
                    + "after a reboot"
            )
        ),
        new(PciAutoprobe(), Persistence.NotPersisted(DriverBinding)),
        new(PciDriverOverride(), Persistence.NotPersisted(DriverBinding)),
        new(PciDriverBind(), Persistence.NotPersisted(DriverBinding)),
    ];

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_numvfs$")]
    private static partial Regex PciSriov();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_drivers_autoprobe$")]
    private static partial Regex PciAutoprobe();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/driver_override$")]
    private static partial Regex PciDriverOverride();

    [GeneratedRegex(@"^/sys/bus/pci/drivers/[A-Za-z0-9_-]+/(bind|unbind|new_id|remove_id)$")]
    private static partial Regex PciDriverBind();
}
