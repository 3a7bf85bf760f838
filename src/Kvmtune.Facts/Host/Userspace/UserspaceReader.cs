using Kvmtune.Facts.Host.Cpu;
using Kvmtune.Facts.IO;

namespace Kvmtune.Facts.Host.Userspace;

/// <summary>
/// Reads program locations, the Debian package database, /proc/PID/comm and irqbalance's settings, all through
/// the root, so a snapshot answers the same. Nothing is executed.
/// </summary>
public static class UserspaceReader
{
    public static readonly IReadOnlyList<string> ToolNames =
    [
        "qemu-system-x86_64",
        "qemu-kvm",
        "ndctl",
        "ipmctl",
        "daxctl",
        "ksmtuned",
        "irqbalance",
        "numactl",
        "virsh",
        "update-grub",
        "grub2-mkconfig",
        "grub-mkconfig",
        "ethtool",
        "tuned-adm",
        "modprobe",
    ];

    private static readonly string[] SearchDirs =
    [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/libexec",
    ];

    public static UserspaceFacts Read(HostReader r)
    {
        var tools = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        // Arrays and loops rather than LINQ: fewer interface calls to resolve at every start (BENCHMARKS.md).
        var dirs = Array.FindAll(SearchDirs, d => r.Probe(d) == EntryKind.Directory);
        for (var i = 0; i < ToolNames.Count; i++)
        {
            var t = ToolNames[i];
            tools[t] = null;
            foreach (var d in dirs)
            {
                if (r.Probe($"{d}/{t}") == EntryKind.File)
                {
                    tools[t] = $"{d}/{t}";
                    break;
                }
            }
        }
        var qemu = tools["qemu-system-x86_64"] ?? tools["qemu-kvm"];
        var pkg = DpkgVersion(r, "qemu-system-x86") ?? DpkgVersion(r, "qemu-kvm");
        var irqbalance = r.ReadAll("/etc/default/irqbalance") ?? r.ReadAll("/etc/sysconfig/irqbalance");
        var processes = ReadProcesses(r);
        var qemus = new List<QemuProcess>();
        foreach (var p in processes ?? [])
        {
            if (!(p.Comm.StartsWith("qemu-system", StringComparison.Ordinal) || p.Comm is "qemu-kvm" or "kvm"))
                continue;
            if (r.ReadBytes($"/proc/{p.Pid}/cmdline") is byte[] raw)
                qemus.Add(new QemuProcess(p.Pid, System.Text.Encoding.UTF8.GetString(raw).TrimEnd('\0').Split('\0')));
        }
        int? euid = null;
        foreach (var line in (r.ReadAll("/proc/self/status") ?? "").Split('\n'))
            if (
                line.StartsWith("Uid:", StringComparison.Ordinal)
                && line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 3 } f
                && int.TryParse(f[2], out var uid)
            )
                euid = uid;
        return new UserspaceFacts(
            tools,
            qemu,
            pkg,
            UpstreamVersion(pkg),
            processes,
            BannedCpus(irqbalance),
            irqbalance is null ? null
                : r.Exists("/etc/default/irqbalance") ? "/etc/default/irqbalance"
                : "/etc/sysconfig/irqbalance",
            euid,
            qemus
        )
        {
            IrqbalanceVersion = UpstreamVersion(DpkgVersion(r, "irqbalance")),
            ProgramFoldersPresent = dirs.Length > 0,
        };
    }

    private static IReadOnlyList<RunningProcess>? ReadProcesses(HostReader r)
    {
        var names = r.List("/proc");
        if (names is null)
            return null;
        var list = new List<RunningProcess>();
        var folders = 0;
        foreach (var n in names)
        {
            if (!int.TryParse(n, out var pid))
                continue;
            folders++;
            if (r.ReadText($"/proc/{n}/comm") is string comm)
                list.Add(new RunningProcess(pid, comm));
        }
        // A live /proc always has PID 1; without any PID folder (a gathered tree) the process list is unknown,
        // and without any readable comm nothing can be said to run or not.
        return folders == 0 || list.Count == 0 ? null : list;
    }

    /// <summary>The Version of an installed package in /var/lib/dpkg/status, or null.</summary>
    internal static string? DpkgVersion(HostReader r, string package)
    {
        // The status file is a megabyte of text: search its bytes, decode only the stanza found.
        var status = r.ReadBytes("/var/lib/dpkg/status");
        if (status is null)
            return null;
        ReadOnlySpan<byte> all = status;
        var marker = System.Text.Encoding.UTF8.GetBytes($"Package: {package}\n");
        var at = all.StartsWith(marker) ? 0 : IndexOfLineStart(all, marker);
        if (at < 0)
            return null;
        var rest = all[at..];
        var end = rest.IndexOf("\n\n"u8);
        var stanza = System.Text.Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
        if (!stanza.Contains("Status: install ok installed", StringComparison.Ordinal))
            return null;
        var v = stanza.IndexOf("\nVersion: ", StringComparison.Ordinal);
        if (v < 0)
            return null;
        var lineEnd = stanza.IndexOf('\n', v + 1);
        return (lineEnd < 0 ? stanza[(v + 10)..] : stanza[(v + 10)..lineEnd]).Trim();
    }

    private static int IndexOfLineStart(ReadOnlySpan<byte> all, ReadOnlySpan<byte> marker)
    {
        var offset = 0;
        while (true)
        {
            var i = all[offset..].IndexOf(marker);
            if (i < 0)
                return -1;
            if (all[offset + i - 1] == (byte)'\n')
                return offset + i;
            offset += i + 1;
        }
    }

    /// <summary>"1:7.2+dfsg-7+deb12u18" -> 7.2: drop the epoch and everything after the upstream numbers.</summary>
    public static Version? UpstreamVersion(string? packageVersion)
    {
        if (packageVersion is null)
            return null;
        var s = packageVersion;
        var colon = s.IndexOf(':');
        if (colon >= 0)
            s = s[(colon + 1)..];
        var end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
            end++;
        var parts = s[..end].Trim('.').Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            return null;
        if (parts.Length == 1)
            parts = [parts[0], "0"];
        return Version.TryParse(string.Join('.', parts.Take(4)), out var version) ? version : null;
    }

    private static IReadOnlyList<int>? BannedCpus(string? config)
    {
        if (config is null)
            return null;
        foreach (var raw in config.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("IRQBALANCE_BANNED_CPULIST=", StringComparison.Ordinal))
                return CpuReader.ParseList(line[26..].Trim('"', '\''));
            if (line.StartsWith("IRQBALANCE_BANNED_CPUS=", StringComparison.Ordinal))
                return CpuReader.ParseMask(line[23..].Trim('"', '\''));
        }
        return [];
    }
}
