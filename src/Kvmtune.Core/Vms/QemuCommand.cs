using System.Text;
using System.Text.RegularExpressions;
using Kvmtune.Core.Audit.Rules;
using Kvmtune.Core.Host;
using Kvmtune.Core.Parsing;

namespace Kvmtune.Core.Vms;

public sealed record QemuOptions(string Accel, string QmpSocket, string? Console, bool Numactl, string? PidFile = null, bool Daemonize = false, bool Paused = false);

/// <summary>A QEMU invocation: the argument vector, its environment, and what was adjusted and why.</summary>
public sealed partial record QemuCommand(IReadOnlyList<string> Argv, IReadOnlyDictionary<string, string> Env, IReadOnlyList<string> Notes)
{
    /// <summary>The command as a person pastes it into a POSIX shell: every argument quoted where it needs to be.</summary>
    public string ToShell()
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in Env) sb.Append(k).Append('=').Append(Quote(v)).Append(' ');
        for (var i = 0; i < Argv.Count; i++)
        {
            if (i > 0) sb.Append(Argv[i].StartsWith('-') ? " \\\n    " : " ");
            sb.Append(Quote(Argv[i]));
        }
        return sb.Append('\n').ToString();
    }

    public static string Quote(string arg) =>
        arg.Length > 0 && SafeWord().IsMatch(arg) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    [GeneratedRegex(@"^[A-Za-z0-9_./:=,@+%-]+$")]
    private static partial Regex SafeWord();
}

/// <summary>Builds the guide's QEMU command line (sections 3.2.1 to 4.2) for a placed VM.</summary>
public static class QemuCommandBuilder
{
    public const string Binary = "qemu-system-x86_64";

    /// <summary>QEMU's option syntax ends a value at a comma; a comma inside a value is written twice.</summary>
    public static string Esc(string value) => value.Replace(",", ",,");

    public static QemuCommand Build(VmSpec s, PlannedVm p, HostFacts host, QemuOptions o)
    {
        var notes = new List<string>();
        var a = new List<string>();
        var kvm = o.Accel == "kvm";
        var qemu = host.Userspace.QemuVersion;
        var packedOk = qemu is null || qemu >= Section3_3_Qemu.PackedRingsQemu;
        var uringOk = qemu is null || qemu >= Section3_3_Qemu.IoUringQemu;
        if (!packedOk) notes.Add($"QEMU {qemu} predates packed virtqueues (4.2): packed=on left out");

        if (o.Numactl)
        {
            if (p.Nodes.Count != 1) throw new InputException(s.File, s.Line, "name", "--numactl binds one node; this VM spans several (its memory backends are bound per node instead)");
            a.AddRange(["numactl", "-N", p.Nodes[0].ToString(), "-m", p.Nodes[0].ToString()]);
        }
        a.Add(Binary);
        a.AddRange(["-name", $"guest={s.Name},debug-threads=on"]);
        var machine = $"q35,accel={o.Accel},mem-merge={(s.MemMerge ? "on" : "off")}";
        if (s.Pmem.Count > 0) machine += ",nvdimm=on";
        a.AddRange(["-machine", machine]);
        a.AddRange(["-cpu", kvm ? "host" : "max"]);
        if (!kvm) notes.Add("-cpu max: the host CPU model needs KVM");
        a.AddRange(["-smp", $"{s.Vcpus},sockets={p.Topology.Sockets},cores={p.Topology.Cores},threads={p.Topology.Threads}"]);
        var memory = $"{Sizes.ToQemu(s.MemoryKib * 1024)}";
        if (s.Pmem.Count > 0)
        {
            var maxBytes = s.MemoryKib * 1024 + s.Pmem.Sum(x => x.SizeBytes);
            memory += $",slots={Math.Max(2, s.Pmem.Count + 1)},maxmem={Sizes.ToQemu(maxBytes)}";
        }
        a.AddRange(["-m", memory]);
        foreach (var g in p.GuestNodes)
        {
            string backend;
            if (s.HugepageKib is long page)
            {
                var mount = host.Memory.HugetlbfsMounts.FirstOrDefault(m => m.PageSizeKib == page)?.Path ?? Section3_2_3_HugePages.MountPointFor(page);
                backend = $"memory-backend-file,id=ram-node{g.Id},size={Sizes.ToQemu(g.MemoryKib * 1024)},mem-path={Esc(mount)},prealloc=on,share=off";
            }
            else backend = $"memory-backend-ram,id=ram-node{g.Id},size={Sizes.ToQemu(g.MemoryKib * 1024)}";
            backend += $",merge={(s.MemMerge ? "on" : "off")},host-nodes={g.HostNode},policy=bind";
            a.AddRange(["-object", backend]);
            var cpus = string.Concat(RangesOf(g.Vcpus).Select(r => $",cpus={r}"));
            a.AddRange(["-numa", $"node,nodeid={g.Id}{cpus},memdev=ram-node{g.Id}"]);
        }
        var overcommit = new List<string>();
        if (s.MemLock) overcommit.Add("mem-lock=on");
        if (s.CpuPm && kvm) overcommit.Add("cpu-pm=on");
        else if (s.CpuPm) notes.Add("cpu-pm=on left out: it hands the host's idle states to the guest, which only KVM can do");
        if (overcommit.Count > 0) a.AddRange(["-overcommit", string.Join(',', overcommit)]);

        foreach (var io in p.IothreadPins) a.AddRange(["-object", $"iothread,id={io.Iothread}"]);
        for (var i = 0; i < s.Disks.Count; i++)
        {
            var d = s.Disks[i];
            var aio = d.Aio;
            if (aio == "io_uring" && !uringOk) { aio = d.Cache is "none" or "directsync" ? "native" : "threads"; notes.Add($"disk {i}: QEMU {qemu} has no io_uring (5.0): aio={aio}"); }
            a.AddRange(["-drive", $"if=none,id=drive{i},file={Esc(d.Path)},format={d.Format},cache={d.Cache},aio={aio}"]);
            var dev = $"virtio-blk-pci,drive=drive{i},id=disk{i},num-queues={d.Queues}";
            if (d.Packed && packedOk) dev += ",packed=on";
            if (d.Iothread) dev += $",iothread=io{i}";
            if (i == 0) dev += ",bootindex=1";
            a.AddRange(["-device", dev]);
        }
        for (var i = 0; i < s.Nics.Count; i++)
        {
            var n = s.Nics[i];
            var netdev = $"tap,id=net{i},ifname={n.Ifname},script=no,downscript=no,vhost={(n.Vhost ? "on" : "off")}";
            if (n.Queues > 1) netdev += $",queues={n.Queues}";
            if (n.PollUs is long poll && n.Vhost) netdev += $",poll-us={poll}";
            else if (n.PollUs is not null) notes.Add($"nic {i}: poll-us needs vhost=on: left out");
            if (n.Vhost && !host.Virtualization.VhostNet.Exists) notes.Add($"nic {i}: /dev/vhost-net is missing on this host: load vhost_net before starting (guide 3.3.3)");
            a.AddRange(["-netdev", netdev]);
            var dev = $"virtio-net-pci,netdev=net{i},id=nic{i}";
            if (n.Mac is not null) dev += $",mac={n.Mac}";
            if (n.Queues > 1) dev += $",mq=on,vectors={2 * n.Queues + 2}";
            if (n.Packed && packedOk) dev += ",packed=on";
            a.AddRange(["-device", dev]);
        }
        for (var i = 0; i < s.Pmem.Count; i++)
        {
            var m = s.Pmem[i];
            a.AddRange(["-object", $"memory-backend-file,id=pmem{i},share=on,mem-path={Esc(m.Path)},size={Sizes.ToQemu(m.SizeBytes)},align={Sizes.ToQemu(m.AlignBytes)}"]);
            var guestNode = p.GuestNodes.FirstOrDefault(g => g.HostNode == p.Devices.FirstOrDefault(d => d.Kind == "pmem" && d.Id == m.Path)?.Node)?.Id ?? 0;
            a.AddRange(["-device", $"nvdimm,memdev=pmem{i},id=nvdimm{i},label-size=128k,node={guestNode}"]);
        }
        for (var i = 0; i < s.Passthrough.Count; i++) a.AddRange(["-device", $"vfio-pci,host={s.Passthrough[i].Pci},id=hostdev{i}"]);
        if (s.Boot is BootSpec b)
        {
            a.AddRange(["-kernel", b.Kernel]);
            if (b.Initrd is not null) a.AddRange(["-initrd", b.Initrd]);
            if (b.Append is not null) a.AddRange(["-append", b.Append]);
        }
        a.AddRange(["-qmp", $"unix:{Esc(o.QmpSocket)},server=on,wait=off"]);
        a.AddRange(["-nodefaults", "-display", "none", "-vga", "none"]);
        if (o.Console is not null) a.AddRange(["-serial", $"file:{o.Console}"]);
        if (o.PidFile is not null) a.AddRange(["-pidfile", o.PidFile]);
        if (o.Paused) a.Add("-S");
        if (o.Daemonize) a.Add("-daemonize");
        return new QemuCommand(a, new Dictionary<string, string>(), notes);
    }

    /// <summary>"0-3", "6" ... for QEMU's -numa cpus= (one range per occurrence).</summary>
    internal static IEnumerable<string> RangesOf(IReadOnlyList<int> cpus) =>
        CpuList.Format(cpus).Split(',', StringSplitOptions.RemoveEmptyEntries);
}
