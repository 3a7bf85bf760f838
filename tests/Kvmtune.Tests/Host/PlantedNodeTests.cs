using System.Net.Sockets;
using System.Text.Json.Nodes;
using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// Device nodes, FIFOs and sockets planted in a --root tree (a snapshot extracted by root keeps them) are not
/// evidence. In a folder kvmtune lists (a PCI device's, a CPU's), the listing's d_type says what each name is, so
/// they are not even opened: opening a device can act (a watchdog starts counting). Oracles: strace's record of
/// the opens, and lstat of each planted name.
/// </summary>
public sealed class PlantedNodeTests
{
    [Fact]
    public void A_device_fifo_or_socket_in_a_listed_folder_is_unknown_and_never_opened()
    {
        using var h = new SyntheticHost();
        var device = $"/sys/devices/pci0000:30/{SyntheticHost.Nic}";
        h.Remove($"{device}/class").Remove($"{device}/vendor").Remove($"{device}/device");
        // /dev/null's numbers (1, 3): harmless if the test fails and kvmtune opens it.
        Processes.Run("mknod", h.Tree.Physical($"{device}/class"), "c", "1", "3").ExitCode.Should().Be(0);
        Processes.Run("mkfifo", h.Tree.Physical($"{device}/vendor")).ExitCode.Should().Be(0);
        // A socket's path must fit sun_path (108 bytes): bound at a short name, then moved into the tree.
        var bound = Path.Combine(Paths.Scratch, $"ks-{Guid.NewGuid():N}"[..11]);
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(bound));
            // Moved while open: .NET removes a bound socket's file when the socket is disposed.
            File.Move(bound, h.Tree.Physical($"{device}/device"));
        }
        NativeSys.Lstat(h.Tree.Physical($"{device}/class"))!.Value.IsCharDevice.Should().BeTrue();
        NativeSys.Lstat(h.Tree.Physical($"{device}/vendor"))!.Value.IsFifo.Should().BeTrue();
        NativeSys.Lstat(h.Tree.Physical($"{device}/device"))!.Value.IsSocket.Should().BeTrue();

        var (run, opens) = Measured.Opens("inspect", "--format", "json", "--root", h.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        opens
            .Should()
            .Contain(
                p => p.EndsWith($"{SyntheticHost.Nic}/numa_node", StringComparison.Ordinal),
                "the device's regular files are read"
            );
        foreach (var name in new[] { "class", "vendor", "device" })
            opens.Should().NotContain(p => p.EndsWith($"{SyntheticHost.Nic}/{name}", StringComparison.Ordinal));
        var nic = JsonNode
            .Parse(run.Stdout)!["pci"]!.AsArray()
            .Single(d => (string?)d!["address"] == SyntheticHost.Nic)!;
        nic["class"].Should().BeNull();
        nic["vendor"].Should().BeNull();
        nic["device"].Should().BeNull();
        nic["numa_node"]!.GetValue<int>().Should().Be(1);
    }
}
