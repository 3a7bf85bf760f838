using System.Text.Json.Serialization;

namespace Kvmtune.Facts.Host.Virtualization;

[JsonConverter(typeof(JsonStringEnumConverter<MachineRole>))]
public enum MachineRole
{
    [JsonStringEnumMemberName("unknown")]
    Unknown,

    [JsonStringEnumMemberName("host")]
    Host,

    [JsonStringEnumMemberName("guest")]
    Guest,
}

/// <summary>Whether this machine is a hypervisor host or a guest, and what KVM and the IOMMU offer.</summary>
public sealed record VirtualizationFacts(
    MachineRole Role,
    IReadOnlyList<string> RoleEvidence,
    string? Hypervisor,
    DmiFacts Dmi,
    DeviceNode Kvm,
    DeviceNode VhostNet,
    DeviceNode Tun,
    DeviceNode Vfio,
    IommuFacts Iommu,
    IReadOnlyList<string>? CgroupControllers,
    string? CgroupVersion
);

public sealed record DmiFacts(string? SysVendor, string? ProductName, string? BiosVendor, string? BoardVendor);

/// <summary>A /dev node: whether it exists and its permission bits (octal), for "exists and is accessible".</summary>
public sealed record DeviceNode(string Path, bool Exists, string? Mode)
{
    /// <summary>Whether the node's folder was there to look in: a tree without /dev proves nothing about
    /// /dev/kvm.</summary>
    public bool FolderPresent { get; init; } = true;

    /// <summary>true present, false absent from a folder that exists, null when the folder itself is missing.</summary>
    public bool? Present =>
        Exists ? true
        : FolderPresent ? false
        : null;
}

public sealed record IommuFacts(bool? DmarTable, bool? IvrsTable, int? Groups, IReadOnlyList<string>? Units);
