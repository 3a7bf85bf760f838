using System.Text.Json.Serialization;

namespace Kvmtune.Facts.Host.Devices;

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
    IReadOnlyList<int> MsiIrqs
)
{
    /// <summary>The class code's top byte: 0x02 network, 0x01 storage, 0x0b processor/co-processor...</summary>
    public int? BaseClass =>
        Class is { Length: >= 4 }
        && int.TryParse(Class.AsSpan(2, 2), System.Globalization.NumberStyles.HexNumber, null, out var c)
            ? c
            : null;

    /// <summary>The class code's base and sub-class, 0x0c06 for InfiniBand.</summary>
    public int? SubClass =>
        Class is { Length: >= 6 }
        && int.TryParse(Class.AsSpan(2, 4), System.Globalization.NumberStyles.HexNumber, null, out var c)
            ? c
            : null;

    /// <summary>
    /// A device a VM may be placed by or given: one with a category (storage, network, display, accelerator ...),
    /// one that can create VFs, or one bound to vfio-pci; not bridges and chipset functions. The one definition
    /// inspect's device list and the host picture share (a method: not a field of the inspect document).
    /// </summary>
    public bool IsOfInterest() => Category is not null || SriovTotalvfs > 0 || Driver == "vfio-pci";

    /// <summary>
    /// What the device is for placement: storage, network, display, co-processor, accelerator, or null for
    /// bridges and chipset functions. InfiniBand (0x0c06) is a network and Fibre Channel (0x0c04) storage,
    /// although PCI files both under serial bus controllers (PCI Code and ID Assignment, class 0Ch).
    /// </summary>
    public string? Category =>
        SubClass switch
        {
            0x0c06 => "network",
            0x0c04 => "storage",
            _ => BaseClass switch
            {
                0x01 => "storage",
                0x02 => "network",
                0x03 => "display",
                0x0b => "co-processor",
                0x12 => "accelerator",
                _ => null,
            },
        };

    /// <summary>
    /// The node whose CPUs hold every CPU of local_cpulist, when numa_node is -1: the firmware gave no
    /// proximity domain but the kernel still knows which CPUs are near (hwloc places such devices the same way).
    /// Set by <see cref="HostFacts.Read"/>, which knows the nodes.
    /// </summary>
    public int? LocalityNode { get; init; }

    /// <summary>The node to place the device's VMs and IRQs on: numa_node, else its CPU locality.</summary>
    public int? PlacementNode => NumaNode ?? LocalityNode;
}

/// <summary>
/// An interrupt and the CPUs it may and does run on. <paramref name="Managed"/>: the kernel manages its
/// affinity (IRQD_AFFINITY_MANAGED, multi-queue drivers) and refuses writes to smp_affinity with EIO
/// (kernel/irq/manage.c irq_can_set_affinity_usr). Only debugfs shows the flag
/// (/sys/kernel/debug/irq/irqs/N, CONFIG_GENERIC_IRQ_DEBUGFS): null where that file is not there.
/// <para>Its <see cref="Name"/>, the action names that end its /proc/interrupts line, is read when first asked
/// for: that file has a count column per CPU (22 MB on a 1,024-CPU host with 2,000 IRQs) and only inspect shows the
/// names.</para>
/// </summary>
public sealed record IrqFacts(
    [property: JsonPropertyOrder(-2)] int Irq,
    IReadOnlyList<int>? Affinity,
    IReadOnlyList<int>? Effective,
    int? Node,
    bool? Managed = null
)
{
    private readonly Func<string?> _name = static () => null;

    public IrqFacts(
        int irq,
        Func<string?> name,
        IReadOnlyList<int>? affinity,
        IReadOnlyList<int>? effective,
        int? node,
        bool? managed = null
    )
        : this(irq, affinity, effective, node, managed) => _name = name;

    // Second, as in the inspect document, where it came before the name was read on demand.
    [JsonPropertyOrder(-1)]
    public string? Name => _name();

    /// <summary>Equal when every field and the name are (each side reads its own).</summary>
    public bool Equals(IrqFacts? other) =>
        other is not null
        && Irq == other.Irq
        && Node == other.Node
        && Managed == other.Managed
        && (Affinity ?? []).SequenceEqual(other.Affinity ?? [])
        && (Effective ?? []).SequenceEqual(other.Effective ?? [])
        && (Affinity is null) == (other.Affinity is null)
        && (Effective is null) == (other.Effective is null)
        && Name == other.Name;

    public override int GetHashCode() => HashCode.Combine(Irq, Node);
}

/// <summary>A block device and its blk-mq queues.</summary>
public sealed record BlockDevice(
    string Name,
    string? Pci,
    int? NumaNode,
    int? HardwareQueues,
    int? RqAffinity,
    string? Scheduler,
    bool? Rotational,
    string? Driver
);

/// <summary>A network interface, the device behind it and its queues.</summary>
public sealed record NetInterface(
    string Name,
    string? Pci,
    bool Virtual,
    int? NumaNode,
    int? RxQueues,
    int? TxQueues,
    string? Driver,
    string? OperState,
    string? Mac
);

/// <summary>Persistent memory: nvdimm regions, their namespaces, and DAX devices.</summary>
public sealed record NvdimmFacts(
    IReadOnlyList<NvdimmRegion> Regions,
    IReadOnlyList<NvdimmNamespace> Namespaces,
    IReadOnlyList<DaxDevice> Dax
);

public sealed record NvdimmRegion(
    string Name,
    long? SizeBytes,
    int? NumaNode,
    string? Devtype,
    long? AvailableSizeBytes
);

/// <summary>A namespace of a region: mode fsdax/devdax/sector/raw as ndctl names them.</summary>
public sealed record NvdimmNamespace(
    string Name,
    string Region,
    string? Devtype,
    string? Mode,
    long? SizeBytes,
    long? AlignBytes,
    int? NumaNode,
    string? Driver
);

/// <summary>A /dev/daxX.Y character device: a devdax namespace handed to device_dax, or to kmem as system
/// RAM.</summary>
public sealed record DaxDevice(
    string Name,
    string DevicePath,
    string? Region,
    long? SizeBytes,
    long? AlignBytes,
    int? NumaNode,
    int? TargetNode,
    string? Driver
)
{
    /// <summary>Onlined as system RAM: bound to drivers/dax/kmem.c, whose dax driver takes its module name,
    /// kmem.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool OnlinedAsRam => Driver is "kmem" or "dax_kmem";
}
