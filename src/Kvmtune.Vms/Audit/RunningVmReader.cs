using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms.Audit;

/// <summary>What a thread of QEMU is, from the name QEMU gives it (with -name debug-threads=on).</summary>
public enum VmThreadRole
{
    Main,
    Vcpu,
    Iothread,
    Other,
}

/// <summary>A thread of a QEMU process: its name, and the CPUs the kernel lets it run on (null: unreadable).</summary>
public sealed record VmThread(int Tid, string? Name, VmThreadRole Role, int? Vcpu, IReadOnlyList<int>? Cpus);

/// <summary>The libvirt domain a QEMU process belongs to, from the live XML libvirt keeps while it runs.</summary>
public sealed record LibvirtDomainInfo(string Name, string XmlPath, IReadOnlyDictionary<string, string> Devices);

/// <summary>A passthrough device of a VM: its node, and the CPUs each of its MSI vectors' IRQs may go to.</summary>
public sealed record VmPassthrough(string Address, int? Node, IReadOnlyList<(int Irq, IReadOnlyList<int>? Cpus)> Irqs);

/// <summary>A running VM: its QEMU process, the command line as QEMU reads it, and what /proc says about it.</summary>
public sealed record RunningVm(
    string Name,
    int Pid,
    string Source,
    IReadOnlyList<string> Argv,
    QemuVmConfig Config,
    IReadOnlyList<VmThread> Threads,
    IReadOnlyDictionary<int, long>? NumaKib,
    IReadOnlyList<int>? MemsAllowed,
    IReadOnlyDictionary<string, long>? SmapsKib,
    IReadOnlyDictionary<string, long>? StatusKib,
    long? KsmMergingPages,
    IReadOnlyList<VmPassthrough> Passthrough,
    LibvirtDomainInfo? Libvirt
)
{
    public string ProcDir => $"/proc/{Pid}";

    public bool IsLibvirt => Libvirt is not null;

    public IEnumerable<VmThread> Vcpus => Threads.Where(t => t.Role == VmThreadRole.Vcpu).OrderBy(t => t.Vcpu);
}

/// <summary>
/// Finds every running QEMU through a <see cref="HostReader"/> (so a snapshot reads like the live host): the
/// /proc/PID/cmdline of each process whose program is qemu-system-* (or qemu-kvm), each joined to the libvirt
/// domain whose live status XML (/run/libvirt/qemu/NAME.xml) names its PID. Only a VM's own files are remembered.
/// </summary>
public static partial class RunningVmReader
{
    public const string LibvirtStateDir = "/run/libvirt/qemu";

    /// <summary>The largest status XML read: libvirt's are tens of KiB.</summary>
    public const int MaxXmlBytes = 4 << 20;

    [GeneratedRegex(@"^CPU (\d{1,5})/[A-Za-z]+$")]
    private static partial Regex VcpuName();

    public static IReadOnlyList<RunningVm> Read(HostReader r)
    {
        var domains = LibvirtDomains(r);
        var vms = new List<RunningVm>();
        foreach (var entry in r.List("/proc") ?? [])
        {
            if (!int.TryParse(entry, out var pid) || pid <= 0 || entry != pid.ToString())
                continue;
            var raw = r.Peek($"/proc/{pid}/cmdline");
            if (raw is null || raw.Length == 0 || !IsQemu(raw))
                continue;
            // A QEMU: from here on its files are read through the reader, and so remembered for snapshot.
            var argv = SplitArgv(r.ReadBytes($"/proc/{pid}/cmdline") ?? raw);
            var status = r.ReadAll($"/proc/{pid}/status");
            if (status is not null && StatusField(status, "State")?.StartsWith('Z') == true)
                continue;
            var config = QemuVmConfig.From(QemuArgv.Parse(argv));
            domains.TryGetValue(pid, out var domain);
            var name = domain?.Name ?? config.Name ?? $"qemu-{pid}";
            vms.Add(
                new RunningVm(
                    name,
                    pid,
                    domain is null ? "qemu" : "libvirt",
                    argv,
                    config,
                    Threads(r, pid),
                    NumaMaps(r.ReadAll($"/proc/{pid}/numa_maps")),
                    status is not null
                    && CpuList.TryParse(StatusField(status, "Mems_allowed_list"), out var mems, out _)
                        ? mems
                        : null,
                    Kib(r.ReadAll($"/proc/{pid}/smaps_rollup")),
                    status is null ? null : Kib(status),
                    r.ReadLong($"/proc/{pid}/ksm_merging_pages"),
                    config.Passthrough.Select(a => Passthrough(r, a)).ToList(),
                    domain
                )
            );
        }
        return vms;
    }

    /// <summary>The program is QEMU's system emulator: qemu-system-ARCH, or qemu-kvm as RHEL names it.</summary>
    private static bool IsQemu(byte[] cmdline)
    {
        var end = Array.IndexOf(cmdline, (byte)0);
        var arg0 = Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
        var program = arg0[(arg0.LastIndexOf('/') + 1)..];
        return program.StartsWith("qemu-system-", StringComparison.Ordinal) || program == "qemu-kvm";
    }

    public static List<string> SplitArgv(byte[] cmdline)
    {
        var text = Encoding.UTF8.GetString(cmdline);
        if (text.EndsWith('\0'))
            text = text[..^1];
        return [.. text.Split('\0')];
    }

    public static string? StatusField(string status, string key)
    {
        foreach (var line in status.Split('\n'))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return line[(key.Length + 1)..].Trim();
        return null;
    }

    /// <summary>"Key:   123 kB" lines (status, smaps_rollup) as KiB.</summary>
    public static Dictionary<string, long>? Kib(string? text)
    {
        if (text is null)
            return null;
        var d = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
                continue;
            var rest = line[(colon + 1)..].Trim();
            if (!rest.EndsWith(" kB", StringComparison.Ordinal))
                continue;
            if (long.TryParse(rest[..^3].Trim(), out var v))
                d[line[..colon]] = v;
        }
        return d;
    }

    /// <summary>KiB per node from numa_maps: each mapping's N&lt;node&gt;=pages times its kernelpagesize_kB.</summary>
    public static Dictionary<int, long>? NumaMaps(string? text)
    {
        if (text is null)
            return null;
        var d = new Dictionary<int, long>();
        foreach (var line in text.Split('\n'))
        {
            long pageKib = 4;
            var counts = new List<(int Node, long Pages)>();
            foreach (var word in line.Split(' '))
            {
                if (
                    word.StartsWith("kernelpagesize_kB=", StringComparison.Ordinal)
                    && long.TryParse(word["kernelpagesize_kB=".Length..], out var k)
                )
                    pageKib = k;
                else if (
                    word.Length > 2
                    && word[0] == 'N'
                    && word.IndexOf('=') is var eq and > 1
                    && int.TryParse(word[1..eq], out var node)
                    && long.TryParse(word[(eq + 1)..], out var pages)
                )
                    counts.Add((node, pages));
            }
            foreach (var (node, pages) in counts)
                d[node] = d.GetValueOrDefault(node) + pages * pageKib;
        }
        return d;
    }

    private static List<VmThread> Threads(HostReader r, int pid)
    {
        var list = new List<VmThread>();
        foreach (var entry in r.List($"/proc/{pid}/task") ?? [])
        {
            if (!int.TryParse(entry, out var tid))
                continue;
            var dir = $"/proc/{pid}/task/{tid}";
            var comm = r.ReadText(dir + "/comm");
            var status = r.ReadAll(dir + "/status");
            IReadOnlyList<int>? cpus =
                status is not null && CpuList.TryParse(StatusField(status, "Cpus_allowed_list"), out var c, out _)
                    ? c
                    : null;
            if (comm is null && status is null)
                continue; // the thread ended while we looked
            int? vcpu =
                comm is not null
                && VcpuName().Match(comm) is { Success: true } m
                && int.TryParse(m.Groups[1].Value, out var v)
                    ? v
                    : null;
            var role =
                tid == pid ? VmThreadRole.Main
                : vcpu is not null ? VmThreadRole.Vcpu
                : comm?.StartsWith("IO ", StringComparison.Ordinal) == true ? VmThreadRole.Iothread
                : VmThreadRole.Other;
            list.Add(new VmThread(tid, comm, role, vcpu, cpus));
        }
        return list;
    }

    private static VmPassthrough Passthrough(HostReader r, string address)
    {
        var dir = $"/sys/bus/pci/devices/{address}";
        var node = r.ReadInt(dir + "/numa_node");
        var irqs = new List<(int, IReadOnlyList<int>?)>();
        // A device name from the command line: only a PCI address leads into sysfs.
        if (PciAddress().IsMatch(address))
            foreach (var e in r.List(dir + "/msi_irqs") ?? [])
                if (int.TryParse(e, out var irq))
                    irqs.Add(
                        (
                            irq,
                            CpuList.TryParse(r.ReadText($"/proc/irq/{irq}/smp_affinity_list"), out var c, out _)
                                ? c
                                : null
                        )
                    );
        return new VmPassthrough(address, node is >= 0 ? node : null, irqs);
    }

    [GeneratedRegex(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")]
    private static partial Regex PciAddress();

    /// <summary>Running libvirt domains by QEMU PID, from each &lt;domstatus pid='N'&gt;&lt;domain&gt;...</summary>
    private static Dictionary<int, LibvirtDomainInfo> LibvirtDomains(HostReader r)
    {
        var map = new Dictionary<int, LibvirtDomainInfo>();
        foreach (var file in r.List(LibvirtStateDir) ?? [])
        {
            if (!file.EndsWith(".xml", StringComparison.Ordinal))
                continue;
            var path = $"{LibvirtStateDir}/{file}";
            var bytes = r.ReadBytes(path);
            if (bytes is null || bytes.Length > MaxXmlBytes)
                continue;
            if (ParseStatus(bytes, path) is { } d)
                map.TryAdd(d.Pid, d.Info);
        }
        return map;
    }

    /// <summary>
    /// libvirt's status XML, read without DTDs, entities or external resources: the PID, the domain name, and each
    /// device alias (the -device id libvirt gives) with the element a person edits for it.
    /// </summary>
    public static (int Pid, LibvirtDomainInfo Info)? ParseStatus(byte[] bytes, string path)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 0,
            MaxCharactersInDocument = MaxXmlBytes,
            IgnoreComments = true,
        };
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), settings);
            int? pid = null;
            string? name = null;
            var devices = new Dictionary<string, string>(StringComparer.Ordinal);
            var stack = new List<string>();
            string? target = null,
                source = null,
                mac = null,
                kind = null;
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.EndElement)
                {
                    if (stack.Count > 0)
                        stack.RemoveAt(stack.Count - 1);
                    continue;
                }
                if (reader.NodeType == XmlNodeType.Text && stack is ["domstatus", "domain", "name"])
                    name = reader.Value.Trim();
                if (reader.NodeType != XmlNodeType.Element)
                    continue;
                var el = reader.LocalName;
                var depth = stack.Count;
                if (depth == 0 && el == "domstatus" && int.TryParse(reader.GetAttribute("pid"), out var p))
                    pid = p;
                if (depth == 3 && stack[2] == "devices")
                {
                    kind = el;
                    target = source = mac = null;
                }
                if (depth == 4 && kind is not null)
                {
                    if (el == "target")
                        target ??= reader.GetAttribute("dev");
                    if (el == "source")
                        source ??=
                            reader.GetAttribute("file")
                            ?? reader.GetAttribute("dev")
                            ?? reader.GetAttribute("bridge")
                            ?? reader.GetAttribute("network");
                    if (el == "mac")
                        mac = reader.GetAttribute("address");
                    if (el == "alias" && reader.GetAttribute("name") is string alias)
                        devices[alias] =
                            kind switch
                            {
                                "disk" => $"<disk> with <target dev='{target}'/>",
                                "interface" => mac is null ? "<interface>" : $"<interface> with <mac address='{mac}'/>",
                                _ => $"<{kind}>",
                            } + (source is null ? "" : $" (source {source})");
                }
                if (!reader.IsEmptyElement)
                    stack.Add(el);
            }
            if (pid is null || string.IsNullOrEmpty(name))
                return null;
            return (pid.Value, new LibvirtDomainInfo(name, path, devices));
        }
        catch (XmlException)
        {
            return null;
        }
    }
}
