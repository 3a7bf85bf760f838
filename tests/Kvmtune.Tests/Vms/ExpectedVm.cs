using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// What a VM spec asks for, read by the test itself (YamlDotNet's document model, not kvmtune's parser), with the
/// defaults README.md's "VM spec defaults" table documents. QEMU's answers are compared with this, so a parser that
/// misread a field cannot agree with itself.
/// </summary>
internal sealed record ExpectedVm(
    int Vcpus,
    IReadOnlyList<ExpectedDisk> Disks,
    IReadOnlyList<ExpectedNic> Nics,
    IReadOnlyList<ExpectedPmem> Pmem,
    bool MemMerge,
    long? HugepageKib,
    int? GuestNumaNodes)
{
    public static ExpectedVm From(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;
        var workload = Text(root, "workload") ?? "throughput";
        var hugepages = Text(root, "hugepages") ?? (workload == "density" ? "none" : "1GiB");
        var aio = workload == "density" ? "threads" : "io_uring";
        var vcpus = int.Parse(Text(root, "vcpus")!, CultureInfo.InvariantCulture);
        return new ExpectedVm(
            vcpus,
            [.. Items(root, "disks").Select(d => new ExpectedDisk(
                Text(d, "path")!, Int(d, "queues"), Bool(d, "packed") ?? true, Bool(d, "iothread") ?? true,
                Text(d, "cache") ?? "none", Text(d, "aio") ?? aio))],
            [.. Items(root, "nics").Select(n => new ExpectedNic(
                Int(n, "queues") ?? vcpus, Bool(n, "packed") ?? true, Text(n, "mac")))],
            [.. Items(root, "pmem").Select(p => new ExpectedPmem(Text(p, "path")!, Bytes(Text(p, "align")!)))],
            Bool(root, "mem_merge") ?? workload == "density",
            hugepages == "none" ? null : Bytes(hugepages) / 1024,
            Int(root, "guest_numa_nodes"));
    }

    private static string? Text(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? ((YamlScalarNode)v).Value : null;

    private static int? Int(YamlMappingNode m, string key) =>
        Text(m, key) is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : null;

    private static bool? Bool(YamlMappingNode m, string key) => Text(m, key) is { } t ? t == "true" : null;

    private static IEnumerable<YamlMappingNode> Items(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v)
            ? ((YamlSequenceNode)v).Children.Cast<YamlMappingNode>() : [];

    /// <summary>"2MiB", "1GiB", "64MiB" as the spec format writes sizes.</summary>
    private static long Bytes(string size) =>
        long.Parse(size[..^3], CultureInfo.InvariantCulture) * size[^3..] switch
        {
            "KiB" => 1L << 10,
            "MiB" => 1L << 20,
            "GiB" => 1L << 30,
            _ => throw new FormatException(size),
        };
}

internal sealed record ExpectedDisk(string Path, int? Queues, bool Packed, bool Iothread, string Cache, string Aio);

internal sealed record ExpectedNic(int Queues, bool Packed, string? Mac);

internal sealed record ExpectedPmem(string Path, long AlignBytes);
