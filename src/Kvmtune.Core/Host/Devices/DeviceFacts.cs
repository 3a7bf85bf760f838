namespace Kvmtune.Core.Host.Devices;

/// <summary>A PCI function and where it sits.</summary>
public sealed record PciDevice(
    string Address,
    string? Class,
    string? Vendor,
    string? Device,
    int? NumaNode,
    IReadOnlyList<int>? LocalCpus,
    string? Driver,
    string? DriverOverride,
    int? IommuGroup,
    int? SriovTotalvfs,
    int? SriovNumvfs,
    string? Physfn,
    IReadOnlyList<string> Virtfns,
    IReadOnlyList<int> MsiIrqs)
{
    /// <summary>The class code's top byte: 0x02 network, 0x01 storage, 0x0b processor/co-processor...</summary>
    public int? BaseClass => Class is { Length: >= 4 } && int.TryParse(Class.AsSpan(2, 2), System.Globalization.NumberStyles.HexNumber, null, out var c) ? c : null;
}

/// <summary>An interrupt and the CPUs it may and does run on.</summary>
public sealed record IrqFacts(int Irq, string? Name, IReadOnlyList<int>? Affinity, IReadOnlyList<int>? Effective, int? Node);

/// <summary>A block device and its blk-mq queues.</summary>
public sealed record BlockDevice(string Name, string? Pci, int? NumaNode, int? HardwareQueues, int? RqAffinity, string? Scheduler, bool? Rotational, string? Driver);

/// <summary>A network interface, the device behind it and its queues.</summary>
public sealed record NetInterface(string Name, string? Pci, bool Virtual, int? NumaNode, int? RxQueues, int? TxQueues, string? Driver, string? OperState, string? Mac);

/// <summary>Persistent memory: nvdimm regions, their namespaces, and DAX devices.</summary>
public sealed record NvdimmFacts(IReadOnlyList<NvdimmRegion> Regions, IReadOnlyList<NvdimmNamespace> Namespaces, IReadOnlyList<DaxDevice> Dax);

public sealed record NvdimmRegion(string Name, long? SizeBytes, int? NumaNode, string? Devtype, long? AvailableSizeBytes);

/// <summary>A namespace of a region: mode fsdax/devdax/sector/raw as ndctl names them.</summary>
public sealed record NvdimmNamespace(string Name, string Region, string? Devtype, string? Mode, long? SizeBytes, long? AlignBytes, int? NumaNode, string? Driver);

/// <summary>A /dev/daxX.Y character device: a devdax namespace handed to device_dax, or to kmem as system RAM.</summary>
public sealed record DaxDevice(string Name, string DevicePath, string? Region, long? SizeBytes, long? AlignBytes, int? NumaNode, int? TargetNode, string? Driver);
