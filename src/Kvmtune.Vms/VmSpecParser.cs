using System.Globalization;
using System.Text.RegularExpressions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using YamlDotNet.RepresentationModel;

namespace Kvmtune.Vms;

/// <summary>
/// Reads VM specs (YAML, one VM per document) and checks them against the host they will run on. Every problem
/// names the file, the line and the key; nothing is silently dropped.
/// </summary>
public static partial class VmSpecParser
{
    private static readonly string[] TopKeys =
    [
        "name",
        "vcpus",
        "memory",
        "workload",
        "dedicated_cpus",
        "hugepages",
        "numa_node",
        "cpuset",
        "disks",
        "nics",
        "passthrough",
        "pmem",
        "mem_lock",
        "cpu_pm",
        "mem_merge",
        "boot",
        "guest_numa_nodes",
    ];
    private static readonly string[] DiskKeys = ["path", "format", "cache", "aio", "queues", "iothread", "packed"];
    private static readonly string[] NicKeys =
    [
        "type",
        "ifname",
        "queues",
        "mac",
        "vhost",
        "poll_us",
        "packed",
        "link",
    ];
    private static readonly string[] PmemKeys = ["path", "size", "align"];
    private static readonly string[] BootKeys = ["kernel", "initrd", "append"];

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}\\z")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\\z")]
    private static partial Regex MacRegex();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}\\z")]
    private static partial Regex IfnameRegex();

    [GeneratedRegex("^/dev/dax[0-9]+\\.[0-9]+\\z")]
    private static partial Regex DaxRegex();

    public static IReadOnlyList<VmSpec> ParseFile(string path, HostFacts host)
    {
        // A regular file of at most 1 MiB: /dev/zero or a FIFO is an error, not an out-of-memory crash or a hang.
        return Parse(InputFile.ReadText(path), path, host);
    }

    public static IReadOnlyList<VmSpec> Parse(string text, string file, HostFacts host)
    {
        var specs = new List<VmSpec>();
        // The documents come one at a time, but a spec's error waits for the end of the stream: an error in the
        // YAML itself, anywhere in the file, is reported first, as when the file was read whole.
        InputException? invalid = null;
        foreach (var doc in YamlText.Documents(text, file))
        {
            if (invalid is not null || doc.RootNode is YamlScalarNode { Value: null or "" })
                continue;
            try
            {
                if (doc.RootNode is not YamlMappingNode map)
                    throw new InputException(
                        file,
                        doc.RootNode.Start.Line,
                        null,
                        "a VM spec is a mapping (name, vcpus, memory, ...)"
                    );
                specs.Add(ParseVm(map, file, host));
            }
            catch (InputException e)
            {
                invalid = e;
            }
        }
        if (invalid is not null)
            throw invalid;
        if (specs.Count == 0)
            throw new InputException(file, 1, null, "no VM in the file");
        var dup = specs.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new InputException(
                file,
                dup.Skip(1).First().Line,
                "name",
                $"'{dup.Key}' is used by more than one VM"
            );
        return specs;
    }

    private static VmSpec ParseVm(YamlMappingNode map, string file, HostFacts host)
    {
        var r = new Fields(map, file, TopKeys, "");
        r.RejectUnknown();
        var name = r.Required("name");
        if (!NameRegex().IsMatch(name))
            throw r.Error("name", "may use only letters, digits, '.', '_' and '-' (1 to 64 characters)");
        var workload = r.Choice("workload", ["latency", "throughput", "density"], "throughput");
        var d = WorkloadDefaults.For(workload);
        var vcpus = (int)r.Integer("vcpus", 1, 512, null);
        // A bare number is MiB, as QEMU's -m and virsh read it; never bytes.
        var memory =
            r.Optional("memory") is string mt && mt.Trim().All(char.IsAsciiDigit) && mt.Trim().Length is > 0 and < 12
                ? long.Parse(mt.Trim(), CultureInfo.InvariantCulture) << 20
                : r.Size("memory", null);
        if (memory < 64L << 20)
            throw r.Error("memory", "must be at least 64MiB");
        if (host.Memory.MemTotalKib is long total && memory / 1024 > total)
            throw r.Error(
                "memory",
                $"{Sizes.HumanKib(memory / 1024)} is more than the host has ({Sizes.HumanKib(total)})"
            );
        var dedicated = r.Bool("dedicated_cpus", d.DedicatedCpus);
        var hugeAsked = r.Optional("hugepages") is not null;
        var hp = r.Choice("hugepages", ["1GiB", "2MiB", "none"], d.Hugepages);
        // 1 GiB pages need the CPU's pdpe1gb flag, as the audit checks (guide 3.2.3).
        if (hp == "1GiB" && host.Cpu.FlagKnown("pdpe1gb") == false)
        {
            if (hugeAsked)
                throw r.Error("hugepages", "1GiB pages need the CPU flag pdpe1gb, which this host lacks: use 2MiB");
            hp = "2MiB";
        }
        long? hugeKib = hp switch
        {
            "1GiB" => 1 << 20,
            "2MiB" => 2048,
            _ => null,
        };
        if (hugeKib is long h && memory / 1024 % h != 0)
            throw r.Error("memory", $"must be a whole number of {hp} pages");
        int? node = null;
        var nodeText = r.Optional("numa_node");
        if (nodeText is not null && nodeText != "auto")
        {
            if (!int.TryParse(nodeText, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw r.Error("numa_node", $"'{nodeText}' is not auto or a node number");
            if (host.Numa.Nodes.All(x => x.Id != n))
                throw r.Error(
                    "numa_node",
                    $"node {n} does not exist on this host (nodes: " +
                        $"{string.Join(", ", host.Numa.Nodes.Select(x => x.Id))})"
                );
            node = n;
        }
        IReadOnlyList<int>? cpuset = null;
        if (r.Optional("cpuset") is string cs)
        {
            if (!CpuList.TryParse(cs, out var cpus, out var err) || cpus.Count == 0)
                throw r.Error("cpuset", err ?? "is empty");
            var missing = cpus.Except(host.Cpu.Online).ToList();
            if (missing.Count > 0)
                throw r.Error("cpuset", $"CPUs {CpuList.Format(missing)} are not online on this host");
            cpuset = cpus;
        }
        var disks = r.List("disks").Select(n => ParseDisk(n, file, d)).ToList();
        var nics = r.List("nics").Select(n => ParseNic(n, file, d, vcpus, host)).ToList();
        var passthrough = r.List("passthrough")
            .Select(n =>
            {
                var f = new Fields(Map(n, file, "passthrough"), file, ["pci"], "passthrough.");
                f.RejectUnknown();
                var pci = f.Required("pci").ToLowerInvariant();
                if (!KernelText.IsPciAddress(pci))
                    throw f.Error("pci", $"'{pci}' is not a PCI address such as 0000:31:00.0");
                if (host.Pci.All(p => p.Address != pci))
                    throw f.Error("pci", $"{pci} does not exist on this host");
                // As vfio bind: without IOMMU groups VFIO cannot isolate the device.
                if (host.Virtualization.Iommu.Groups is not > 0)
                    throw f.Error(
                        "pci",
                        $"{pci}: the IOMMU is off or unknown (no IOMMU groups): enable VT-d/AMD-Vi in the BIOS and " +
                            "boot with intel_iommu=on (guide 2.1)"
                    );
                return new PassthroughSpec(pci);
            })
            .ToList();
        var twice = passthrough.GroupBy(x => x.Pci).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw r.Error("passthrough", $"{twice.Key} is listed more than once (a device can be given to a VM once)");
        var pmemNodes = r.List("pmem");
        // QEMU has at most 256 memory slots; a bound also keeps every sum of sizes far from overflowing.
        if (pmemNodes.Count > MaxPmem)
            throw r.Error("pmem", $"{pmemNodes.Count} entries; at most {MaxPmem}");
        var pmem = pmemNodes.Select(n => ParsePmem(n, file, host)).ToList();
        BootSpec? boot = null;
        if (r.Node("boot") is YamlNode b)
        {
            var f = new Fields(Map(b, file, "boot"), file, BootKeys, "boot.");
            f.RejectUnknown();
            var kernel = f.Required("kernel");
            var initrd = f.Optional("initrd");
            if (!kernel.StartsWith('/'))
                throw f.Error("kernel", "must be an absolute path");
            if (initrd is not null && !initrd.StartsWith('/'))
                throw f.Error("initrd", "must be an absolute path");
            boot = new BootSpec(kernel, initrd, f.Optional("append"));
        }
        var memLock = r.Bool("mem_lock", d.MemLock);
        var cpuPm = r.Bool("cpu_pm", d.CpuPm && dedicated);
        if (cpuPm && !dedicated)
            throw r.Error(
                "cpu_pm",
                "cpu-pm=on needs dedicated_cpus: true (guide 3.3.1: an idle vCPU keeps its host CPU)"
            );
        var memMerge = r.Bool("mem_merge", d.MemMerge);
        int? guestNodes = r.Optional("guest_numa_nodes") is null
            ? null
            : (int)r.Integer("guest_numa_nodes", 1, Math.Min(64, vcpus), null);
        r.RejectUnknown();
        return new VmSpec
        {
            Name = name,
            Vcpus = vcpus,
            MemoryKib = memory / 1024,
            Workload = workload,
            DedicatedCpus = dedicated,
            HugepageKib = hugeKib,
            NumaNode = node,
            Cpuset = cpuset,
            Disks = disks,
            Nics = nics,
            Passthrough = passthrough,
            Pmem = pmem,
            MemLock = memLock,
            CpuPm = cpuPm,
            MemMerge = memMerge,
            Boot = boot,
            File = file,
            Line = map.Start.Line,
            GuestNumaNodes = guestNodes,
        };
    }

    private static DiskSpec ParseDisk(YamlNode n, string file, WorkloadDefaults d)
    {
        var f = new Fields(Map(n, file, "disks"), file, DiskKeys, "disks.");
        f.RejectUnknown();
        var path = f.Required("path");
        if (DiskPathProblem(path) is string problem)
            throw f.Error("path", problem);
        var disk = new DiskSpec(
            path,
            f.Choice("format", ["raw", "qcow2"], "raw"),
            f.Choice("cache", ["none", "writethrough", "writeback", "directsync", "unsafe"], "none"),
            f.Choice("aio", ["native", "io_uring", "threads"], d.Aio),
            f.Optional("queues") is null ? null : (int)f.Integer("queues", 1, 64, null),
            f.Bool("iothread", true),
            f.Bool("packed", true)
        );
        if (disk.Aio == "native" && disk.Cache is not ("none" or "directsync"))
            throw f.Error("aio", "aio=native needs cache=none or directsync (O_DIRECT)");
        f.RejectUnknown();
        return disk;
    }

    private static NicSpec ParseNic(YamlNode n, string file, WorkloadDefaults d, int vcpus, HostFacts host)
    {
        var f = new Fields(Map(n, file, "nics"), file, NicKeys, "nics.");
        f.RejectUnknown();
        var type = f.Choice("type", ["tap"], "tap");
        var ifname = f.Required("ifname");
        if (!IfnameRegex().IsMatch(ifname) || ifname is "." or "..")
            throw f.Error(
                "ifname",
                "must be 1 to 15 letters, digits, '_', '.' or '-' (not '.' or '..', as the kernel's dev_valid_name())"
            );
        var mac = f.Optional("mac");
        if (mac is not null && !MacRegex().IsMatch(mac))
            throw f.Error("mac", $"'{mac}' is not a MAC address such as 52:54:00:12:34:56");
        // The low bit of the first octet makes a group address: no NIC may have one (IEEE 802).
        if (mac is not null && (Convert.ToInt32(mac[..2], 16) & 1) != 0)
            throw f.Error("mac", $"{mac} is a multicast address; a NIC needs a unicast one such as 52:54:00:12:34:56");
        var queues = (int)f.Integer("queues", 1, 256, vcpus);
        var poll = f.Optional("poll_us") is string p ? f.Integer("poll_us", 0, 10_000_000, null) : d.PollUs;
        var link = f.Optional("link");
        if (link is not null && host.Net.All(x => x.Name != link))
            throw f.Error("link", $"interface {link} does not exist on this host");
        var nic = new NicSpec(type, ifname, queues, mac, f.Bool("vhost", true), poll, f.Bool("packed", true), link);
        f.RejectUnknown();
        return nic;
    }

    private static PmemSpec ParsePmem(YamlNode n, string file, HostFacts host)
    {
        var f = new Fields(Map(n, file, "pmem"), file, PmemKeys, "pmem.");
        f.RejectUnknown();
        var path = f.Required("path");
        if (PmemPathProblem(path) is string problem)
            throw f.Error("path", problem);
        var size = f.Size("size", null);
        if (size > MaxPmemBytes)
            throw f.Error("size", $"{Sizes.ToQemu(size)} is more than {Sizes.ToQemu(MaxPmemBytes)}");
        var align = f.Size("align", 2L << 20);
        if ((align & (align - 1)) != 0)
            throw f.Error("align", "must be a power of two");
        if (size % align != 0)
            throw f.Error("size", $"must be a multiple of align ({Sizes.ToQemu(align)})");
        if (path.StartsWith("/dev/dax", StringComparison.Ordinal))
        {
            var dax =
                host.Nvdimm.Dax.FirstOrDefault(x => x.DevicePath == path)
                ?? throw f.Error(
                    "path",
                    $"{path} is not a DAX device on this host " +
                        "(" + (host.Nvdimm.Dax.Count == 0 ? "none"
                             : string.Join(", ", host.Nvdimm.Dax.Select(x => x.DevicePath)))
                         + ")"
                );
            if (dax.SizeBytes is long ds && size > ds)
                throw f.Error("size", $"{Sizes.ToQemu(size)} is more than {path} holds ({Sizes.ToQemu(ds)})");
            if (dax.OnlinedAsRam)
                throw f.Error(
                    "path",
                    $"{path} is onlined as system RAM (driver {dax.Driver}): give it back to device_dax "
                        + "(daxctl reconfigure-device --mode=devdax) before a guest maps it"
                );
            if (dax.AlignBytes is long da && align % da != 0)
                throw f.Error("align", $"must be a multiple of the device's alignment ({Sizes.ToQemu(da)})");
        }
        f.RejectUnknown();
        return new PmemSpec(path, size, align);
    }

    /// <summary>
    /// Why QEMU could read a disk path as something other than a local file: a protocol ("nbd:", "json:{...}")
    /// or an option ("-..."); only absolute paths are taken, so nothing comes before the first '/'.
    /// </summary>
    internal static string? DiskPathProblem(string path)
    {
        if (!path.StartsWith('/'))
            return path.IndexOf(':') is > 0 and var colon && !path[..colon].Contains('/')
                ? $"'{path[..(colon + 1)]}' would make QEMU open a protocol, not a file: give an absolute path"
                : "must be an absolute path (a file or a block device)";
        return null;
    }

    private const int MaxPmem = 64;
    private const long MaxPmemBytes = 1L << 48;

    private static readonly string[] PmemForbidden =
    [
        "/etc",
        "/proc",
        "/sys",
        "/boot",
        "/dev/mem",
        "/dev/kmem",
        "/dev/port",
    ];

    /// <summary>
    /// A pmem backend is mapped shared and written by the guest: only a DAX device or a regular file, never a
    /// system file or a device such as /dev/mem, whatever links lie on the way.
    /// </summary>
    internal static string? PmemPathProblem(string path)
    {
        if (!path.StartsWith('/'))
            return "must be an absolute path (a /dev/daxN.M device or a regular file)";
        if (DaxRegex().IsMatch(path))
            return null; // checked against the host's DAX devices
        if (Refused(Path.GetFullPath(path)) is string direct)
            return direct;
        if (NativeSys.Lstat(path) is null)
            return null; // QEMU creates the file
        // A link met on the way is judged too: /proc/self/fd/N or /proc/self/cwd would lead QEMU through its own
        // process, whatever text kvmtune reads there.
        string? through = null;
        var real = LinkWalker.Resolve(
            "/",
            path,
            onLink: (link, _) => through ??= Refused(link) is string r ? $"goes through {link}: {r}" : null
        );
        if (through is not null)
            return through;
        if (real is null)
            return "its symbolic links loop or lead nowhere";
        if (real != Path.GetFullPath(path) && Refused(real) is string linked)
            return $"leads to {real}: {linked}";
        return NativeSys.Lstat(real) is { IsRegular: true } ? null : "is not a regular file (nor a /dev/daxN.M device)";

        static string? Refused(string p)
        {
            if (DaxRegex().IsMatch(p))
                return null;
            var under = PmemForbidden.FirstOrDefault(d => p == d || p.StartsWith(d + "/", StringComparison.Ordinal));
            return under is null
                ? null
                : $"refused: {under} is the system's, not guest memory (use /dev/daxN.M or a regular file)";
        }
    }

    private static YamlMappingNode Map(YamlNode n, string file, string key) =>
        n as YamlMappingNode
        ?? throw new InputException(
            file,
            n.Start.Line,
            key,
            "each entry must be a mapping such as { key: value, ... }"
        );

    /// <summary>Typed access to one mapping's keys; a key not in <paramref name="known"/> is refused.</summary>
    private sealed class Fields(YamlMappingNode map, string file, string[] known, string prefix)
    {
        private const int MaxValue = 4096;

        // The mapping's entries, taken once: each key asked for walked the library's dictionary anew, an enumerator
        // each time, some twenty times a VM.
        private readonly KeyValuePair<YamlNode, YamlNode>[] _entries = [.. map.Children];

        public YamlNode? Node(string key)
        {
            foreach (var (k, v) in _entries)
                if (k is YamlScalarNode { Value: var name } && name == key)
                    return v;
            return null;
        }

        public InputException Error(string key, string problem) =>
            new(file, (Node(key) ?? map).Start.Line, prefix + key, problem);

        public string? Optional(string key) =>
            Node(key) switch
            {
                null => null,
                YamlScalarNode s => Checked(s, key),
                var other => throw new InputException(file, other.Start.Line, prefix + key, "must be a single value"),
            };

        /// <summary>
        /// Every string of a spec ends up in a QEMU argument, a shell line or libvirt XML: no control character
        /// (a newline, an escape, NUL) and nothing longer than a path may be.
        /// </summary>
        private string? Checked(YamlScalarNode s, string key)
        {
            if (s.Value is not string v)
                return null;
            if (v.Length > MaxValue)
                throw Error(key, $"is {v.Length} characters long; at most {MaxValue}");
            if (SafeText.HasControl(v))
                throw Error(key, $"'{SafeText.Visible(v)}' has a control character (a newline, tab, escape or NUL)");
            return v;
        }

        public string Required(string key) => Optional(key) is { Length: > 0 } v ? v : throw Error(key, "is required");

        public long Integer(string key, long min, long max, long? fallback)
        {
            var t = Optional(key);
            if (t is null)
                return fallback ?? throw Error(key, "is required");
            if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
                throw Error(key, $"'{t}' is not a whole number from {min} to {max}");
            return v;
        }

        public long Size(string key, long? fallback)
        {
            var t = Optional(key);
            if (t is null)
                return fallback ?? throw Error(key, "is required");
            if (!Sizes.TryParseBytes(t, out var b) || b <= 0)
                throw Error(key, $"'{t}' is not a size such as 16GiB, 512MiB or 128M");
            return b;
        }

        public bool Bool(string key, bool fallback) =>
            Optional(key) switch
            {
                null => fallback,
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" => false,
                var t => throw Error(key, $"'{t}' is not true or false"),
            };

        public string Choice(string key, string[] choices, string fallback)
        {
            var t = Optional(key);
            if (t is null)
                return fallback;
            return choices.Contains(t) ? t : throw Error(key, $"'{t}' is not one of {string.Join(", ", choices)}");
        }

        public IReadOnlyList<YamlNode> List(string key) =>
            Node(key) switch
            {
                null => [],
                YamlSequenceNode s => s.Children.ToList(),
                var other => throw new InputException(file, other.Start.Line, prefix + key, "must be a list"),
            };

        public void RejectUnknown()
        {
            foreach (var (k, _) in _entries)
            {
                var name = (k as YamlScalarNode)?.Value ?? "";
                if (!known.Contains(name))
                    throw new InputException(
                        file,
                        k.Start.Line,
                        prefix + SafeText.Visible(name),
                        $"unknown key (known: {string.Join(", ", known)})"
                    );
            }
        }
    }
}
