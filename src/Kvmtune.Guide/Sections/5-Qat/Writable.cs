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
            ),
            Values.Number()
        ),
        new(PciAutoprobe(), Persistence.NotPersisted(DriverBinding), Values.Flag()),
        // A driver's name, or nothing to clear it (ABI/testing/sysfs-bus-pci, driver_override).
        new(PciDriverOverride(), Persistence.NotPersisted(DriverBinding), DriverName()),
        // bind and unbind take a device's address, new_id and remove_id "vendor device" in hex (sysfs-bus-pci).
        new(PciDriverBind(), Persistence.NotPersisted(DriverBinding), BindValue()),
    ];

    [GeneratedRegex(@"^[A-Za-z0-9_-]{0,64}$")]
    private static partial Regex DriverName();

    [GeneratedRegex(@"^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]|[0-9a-f]{4} [0-9a-f]{4})$")]
    private static partial Regex BindValue();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_numvfs$")]
    private static partial Regex PciSriov();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/sriov_drivers_autoprobe$")]
    private static partial Regex PciAutoprobe();

    [GeneratedRegex(@"^/sys/bus/pci/devices/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/driver_override$")]
    private static partial Regex PciDriverOverride();

    [GeneratedRegex(@"^/sys/bus/pci/drivers/[A-Za-z0-9_-]+/(bind|unbind|new_id|remove_id)$")]
    private static partial Regex PciDriverBind();
}
