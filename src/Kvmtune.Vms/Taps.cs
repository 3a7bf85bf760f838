using System.Globalization;
using System.Text.RegularExpressions;
using Kvmtune.Changes;

namespace Kvmtune.Vms;

/// <summary>
/// The tap devices a VM's NICs name. QEMU opens a tap by name and libvirt's managed='no' needs it to exist; either
/// way the kernel refuses to attach a queue whose multi_queue flag differs from the tap's (tun_set_iff() in
/// drivers/net/tun.c returns EINVAL: libvirt says "Unable to create tap device ... Invalid argument"): a NIC with
/// more than one queue needs a multi_queue tap, a NIC with one queue a plain one. <c>vm run</c> creates the missing
/// taps with <c>ip tuntap add</c> (one of kvmtune's fixed programs, an argument vector), refuses a tap of the other
/// kind before anything starts, and <c>vm stop</c> deletes only the taps it created.
/// </summary>
public static partial class Taps
{
    /// <summary>IFF_TAP and IFF_MULTI_QUEUE, include/uapi/linux/if_tun.h.</summary>
    private const int IffTap = 0x0002,
        IffMultiQueue = 0x0100;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}\\z")]
    private static partial Regex NameRegex();

    /// <summary>A name the kernel takes for an interface (dev_valid_name()) and that stays inside
    /// /sys/class/net.</summary>
    public static bool IsName(string name) => NameRegex().IsMatch(name) && name is not ("." or "..");

    /// <summary>
    /// The tap's flags from /sys/class/net/NAME/tun_flags ("0x%x", tun_flags_show() in drivers/net/tun.c); null
    /// where no interface has the name; -1 where one does but it is not a tun/tap device.
    /// </summary>
    public static int? Flags(string name, string sysClassNet = "/sys/class/net")
    {
        if (!IsName(name))
            throw new ArgumentException($"'{name}' is not an interface name", nameof(name));
        var dir = Path.Combine(sysClassNet, name);
        if (!Directory.Exists(dir))
            return null;
        try
        {
            var text = File.ReadAllText(Path.Combine(dir, "tun_flags")).Trim();
            return
                text.StartsWith("0x", StringComparison.Ordinal)
                && int.TryParse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var f)
                ? f
                : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>
    /// Creates the VM's missing taps (multi_queue exactly where a NIC has several queues) and returns their names;
    /// refuses, before creating any, a name that is not a tap or a tap of the other kind.
    /// </summary>
    public static IReadOnlyList<string> Prepare(
        ResolvedVm vm,
        ProgramRunner programs,
        string sysClassNet = "/sys/class/net"
    )
    {
        var missing = new List<ResolvedNic>();
        foreach (var nic in vm.Nics)
        {
            var multi = nic.Queues > 1;
            switch (Flags(nic.Ifname, sysClassNet))
            {
                case null:
                    if (missing.All(m => m.Ifname != nic.Ifname))
                        missing.Add(nic);
                    break;
                case -1:
                    throw new InvalidOperationException(
                        $"{vm.Name}: nic {nic.Index}: {nic.Ifname} exists and is not a "
                            + "tap device (no tun_flags): name a tap, or a free name for kvmtune to create one"
                    );
                case int f when (f & IffTap) == 0:
                    throw new InvalidOperationException(
                        $"{vm.Name}: nic {nic.Index}: {nic.Ifname} is a tun device, "
                            + "not a tap: QEMU's virtio-net needs a tap"
                    );
                case int f when ((f & IffMultiQueue) != 0) != multi:
                    throw new InvalidOperationException(
                        $"{vm.Name}: nic {nic.Index}: {nic.Ifname} exists "
                            + (multi ? "without" : "with")
                            + $" multi_queue, and the NIC has {nic.Queues} queue(s): the "
                            + "kernel refuses to attach them (EINVAL). Delete it (ip link delete "
                            + nic.Ifname
                            + ") for "
                            + "kvmtune to create it, or create it "
                            + (multi ? "with" : "without")
                            + " multi_queue"
                    );
            }
        }
        var created = new List<string>();
        try
        {
            foreach (var nic in missing)
            {
                programs.Run(
                    SystemProgram.Ip,
                    [
                        "tuntap",
                        "add",
                        "dev",
                        nic.Ifname,
                        "mode",
                        "tap",
                        .. nic.Queues > 1 ? new[] { "multi_queue" } : [],
                    ]
                );
                created.Add(nic.Ifname);
            }
        }
        catch (ApplyFailedException e)
        {
            Remove(created, programs, sysClassNet);
            throw new InvalidOperationException($"{vm.Name}: cannot create its taps: {e.Message}", e);
        }
        return created;
    }

    /// <summary>Deletes taps kvmtune created (a name read back from a state file is checked first); returns what it
    /// could not delete, with why.</summary>
    public static IReadOnlyList<string> Remove(
        IEnumerable<string> names,
        ProgramRunner programs,
        string sysClassNet = "/sys/class/net"
    )
    {
        var problems = new List<string>();
        foreach (var name in names)
        {
            if (!IsName(name))
            {
                problems.Add($"'{name}' is not an interface name: left alone");
                continue;
            }
            var flags = Flags(name, sysClassNet);
            if (flags is null)
                continue; // gone already
            if (flags == -1 || (flags & IffTap) == 0)
            {
                problems.Add($"{name} is no longer a tap: left alone");
                continue;
            }
            try
            {
                programs.Run(SystemProgram.Ip, ["link", "delete", "dev", name]);
            }
            catch (ApplyFailedException e)
            {
                problems.Add($"{name}: {e.Message}");
            }
        }
        return problems;
    }
}
