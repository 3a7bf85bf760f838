using System.Globalization;
using System.Text.Json;

namespace Kvmtune.Tests.Support;

/// <summary>
/// A QEMU argument vector read the way QEMU 7.2 reads it, whoever wrote it (kvmtune's "k=v,k=v" or libvirt's JSON
/// objects and -blockdev graph), reduced to the performance-relevant facts: one sorted "key = value" per line, so
/// two renderings of the same VM compare as text. The tables here come from QEMU's documentation, not kvmtune.
/// </summary>
public sealed class QemuArgs
{
    private readonly List<(string Option, string Value)> _options = [];

    private static readonly HashSet<string> Flags =
    [
        "nodefaults",
        "S",
        "no-user-config",
        "no-shutdown",
        "daemonize",
        "no-reboot",
        "enable-kvm",
    ];

    public QemuArgs(IReadOnlyList<string> argv)
    {
        Argv = argv;
        var start = argv.ToList().FindIndex(a => a.Contains("qemu-system", StringComparison.Ordinal));
        for (var i = start + 1; i < argv.Count; i++)
        {
            var option = argv[i].TrimStart('-');
            if (Flags.Contains(option))
            {
                _options.Add((option, ""));
                continue;
            }
            _options.Add((option, i + 1 < argv.Count ? argv[++i] : ""));
        }
    }

    public IReadOnlyList<string> Argv { get; }

    private IEnumerable<string> All(string option) => _options.Where(o => o.Option == option).Select(o => o.Value);

    /// <summary>"k=v,k=v" (",," is a comma; a first bare word is <paramref name="first"/>) or a JSON object,
    /// flattened.</summary>
    public static List<(string Key, string Value)> Props(string value, string first = "type")
    {
        var list = new List<(string, string)>();
        if (value.StartsWith('{'))
        {
            using var doc = JsonDocument.Parse(value);
            Flatten(doc.RootElement, "", list);
            return list;
        }
        var parts = new List<string>();
        var cur = new System.Text.StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == ',' && i + 1 < value.Length && value[i + 1] == ',')
            {
                cur.Append(',');
                i++;
            }
            else if (value[i] == ',')
            {
                parts.Add(cur.ToString());
                cur.Clear();
            }
            else
                cur.Append(value[i]);
        }
        parts.Add(cur.ToString());
        for (var i = 0; i < parts.Count; i++)
        {
            var eq = parts[i].IndexOf('=');
            if (eq < 0)
                list.Add(i == 0 ? (first, parts[i]) : (parts[i], "on"));
            else
                list.Add((parts[i][..eq], parts[i][(eq + 1)..]));
        }
        return list;
    }

    private static void Flatten(JsonElement e, string prefix, List<(string, string)> list)
    {
        foreach (var p in e.EnumerateObject())
        {
            var key = prefix + p.Name;
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    Flatten(p.Value, key + ".", list);
                    break;
                case JsonValueKind.Array:
                    list.Add((key, string.Join(",", p.Value.EnumerateArray().Select(x => x.ToString()))));
                    break;
                case JsonValueKind.True:
                    list.Add((key, "on"));
                    break;
                case JsonValueKind.False:
                    list.Add((key, "off"));
                    break;
                default:
                    list.Add((key, p.Value.ToString()));
                    break;
            }
        }
    }

    private static Dictionary<string, string> Map(List<(string Key, string Value)> props) =>
        props.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => string.Join(",", g.Select(p => p.Value)));

    /// <summary>Bytes from QEMU's size syntax: a number with an optional k/M/G/T suffix (bare: bytes, or MiB for
    /// -m).</summary>
    public static long Bytes(string s, bool bareIsMiB = false)
    {
        var unit = s[^1];
        var mult = char.ToUpperInvariant(unit) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 0,
        };
        return mult == 0
            ? long.Parse(s, CultureInfo.InvariantCulture) * (bareIsMiB ? 1L << 20 : 1)
            : long.Parse(s[..^1], CultureInfo.InvariantCulture) * mult;
    }

    private static bool On(string? v) => v is "on" or "true" or "yes";

    /// <summary>"0-1,3" or "0,1,3" (as QEMU's repeated cpus=) -> "0,1,3".</summary>
    private static string Cpus(string list) =>
        string.Join(
            ",",
            list.Split(',')
                .SelectMany(r =>
                {
                    var d = r.Split('-');
                    return d.Length == 2
                        ? Enumerable.Range(int.Parse(d[0]), int.Parse(d[1]) - int.Parse(d[0]) + 1)
                        : [int.Parse(d[0])];
                })
                .Order()
        );

    /// <summary>The hugetlbfs mount a mem-path lies in (libvirt adds a folder of its own under it).</summary>
    private static string Mount(string path)
    {
        var mounts = File.ReadAllLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .Where(f => f.Length > 2 && f[2] == "hugetlbfs")
            .Select(f => f[1]);
        return mounts
                .Where(m => path == m || path.StartsWith(m + "/", StringComparison.Ordinal))
                .OrderByDescending(m => m.Length)
                .FirstOrDefault()
            ?? path;
    }

    /// <summary>The performance facts; NICs only where asked (libvirt's domxml-to-native drops their driver
    /// settings).</summary>
    public SortedDictionary<string, string> Facts(bool nics = true, bool hostNodes = true)
    {
        var f = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var machine = Map(Props(All("machine").Single()));
        f["machine.type"] = machine["type"];
        var merge = machine.GetValueOrDefault("mem-merge", "on");
        f["machine.mem-merge"] = merge;
        f["machine.nvdimm"] = machine.GetValueOrDefault("nvdimm", "off");
        f["accel"] =
            machine.GetValueOrDefault("accel") ?? Map(Props(All("accel").Single())).GetValueOrDefault("type", "?");
        if (All("uuid").SingleOrDefault() is string uuid)
            f["uuid"] = uuid;
        var cpu = Map(Props(All("cpu").Single(), "model"));
        f["cpu.model"] = cpu["model"];
        f["cpu.kvm-hint-dedicated"] = cpu.GetValueOrDefault("kvm-hint-dedicated", "off");
        var smp = Map(Props(All("smp").Single(), "cpus"));
        f["smp"] =
            $"cpus={smp["cpus"]} sockets={smp.GetValueOrDefault("sockets", "1")} " +
                $"dies={smp.GetValueOrDefault("dies", "1")} cores={smp["cores"]} threads={smp["threads"]}";
        // QEMU 7.2 keeps the last -overcommit: each one sets both flags, off where not named.
        var over = All("overcommit").Select(v => Map(Props(v, "mem-lock"))).LastOrDefault() ?? [];
        f["overcommit.mem-lock"] = On(over.GetValueOrDefault("mem-lock")) ? "on" : "off";
        f["overcommit.cpu-pm"] = On(over.GetValueOrDefault("cpu-pm")) ? "on" : "off";
        var m = Map(Props(All("m").Single(), "size"));
        f["memory"] =
            $"size={Bytes(m["size"], bareIsMiB: true)} slots={m.GetValueOrDefault("slots", "0")} " +
                $"maxmem={(m.TryGetValue("maxmem", out var mx) ? Bytes(mx, true) : 0)}";
        var objects = All("object").Select(v => Map(Props(v))).ToList();
        foreach (var o in objects)
        {
            var type = o.GetValueOrDefault("qom-type") ?? o["type"];
            if (type == "iothread")
                f["iothread." + f.Keys.Count(k => k.StartsWith("iothread.", StringComparison.Ordinal))] = "yes";
            if (!o.TryGetValue("id", out var id) || !id.StartsWith("ram-node", StringComparison.Ordinal))
                continue;
            var k = "mem." + id;
            f[k + ".type"] = type;
            f[k + ".size"] = Bytes(o["size"]).ToString(CultureInfo.InvariantCulture);
            f[k + ".prealloc"] = On(o.GetValueOrDefault("prealloc")) ? "on" : "off";
            f[k + ".merge"] = o.GetValueOrDefault("merge", merge);
            f[k + ".share"] = On(o.GetValueOrDefault("share")) ? "on" : "off";
            if (hostNodes)
            {
                f[k + ".host-nodes"] = o.GetValueOrDefault("host-nodes", "-");
                f[k + ".policy"] = o.GetValueOrDefault("policy", "default");
            }
            if (o.TryGetValue("mem-path", out var path))
                f[k + ".hugetlbfs"] = Mount(path);
        }
        foreach (var n in All("numa").Select(v => Props(v)))
        {
            var map = Map(n);
            if (map["type"] == "node")
                f[$"numa.node{map["nodeid"]}"] = $"cpus={Cpus(map["cpus"])} memdev={map["memdev"]}";
            else if (map["type"] == "dist")
                f[$"numa.dist.{map["src"]}.{map["dst"]}"] = map["val"];
        }
        var devices = All("device").Select(v => Map(Props(v, "driver"))).ToList();
        var drives = All("drive").Select(v => Map(Props(v, "file"))).ToDictionary(d => d["id"]);
        var blockdevs = All("blockdev").Select(v => Map(Props(v))).ToDictionary(d => d["node-name"]);
        var disk = 0;
        foreach (var d in devices.Where(d => d["driver"] == "virtio-blk-pci"))
        {
            var k = $"disk{disk++}";
            f[k + ".num-queues"] = d.GetValueOrDefault("num-queues", "default");
            f[k + ".packed"] = d.GetValueOrDefault("packed", "off");
            f[k + ".iothread"] = d.ContainsKey("iothread") ? "yes" : "no";
            bool direct,
                writeback,
                noflush;
            string file,
                format,
                aio;
            if (drives.TryGetValue(d["drive"], out var drive))
            {
                // QEMU's cache= table (qemu-system-x86_64 -drive documentation).
                (direct, writeback, noflush) = drive.GetValueOrDefault("cache", "writeback") switch
                {
                    "none" => (true, true, false),
                    "directsync" => (true, false, false),
                    "writethrough" => (false, false, false),
                    "unsafe" => (false, true, true),
                    _ => (false, true, false),
                };
                (file, format, aio) = (drive["file"], drive["format"], drive.GetValueOrDefault("aio", "threads"));
            }
            else
            {
                var fmt = blockdevs[d["drive"]];
                var storage = blockdevs[fmt["file"]];
                direct = On(storage.GetValueOrDefault("cache.direct"));
                noflush = On(storage.GetValueOrDefault("cache.no-flush"));
                writeback = d.GetValueOrDefault("write-cache", "on") == "on";
                (file, format, aio) = (storage["filename"], fmt["driver"], storage.GetValueOrDefault("aio", "threads"));
            }
            f[k + ".cache"] = $"direct={direct} writeback={writeback} no-flush={noflush}";
            f[k + ".file"] = file;
            f[k + ".format"] = format;
            f[k + ".aio"] = aio;
        }
        if (nics)
        {
            var netdevs = All("netdev").Select(v => Map(Props(v))).ToDictionary(d => d["id"]);
            var nic = 0;
            foreach (var d in devices.Where(d => d["driver"] == "virtio-net-pci"))
            {
                var k = $"nic{nic++}";
                var nd = netdevs[d["netdev"]];
                var queues =
                    nd.TryGetValue("queues", out var q) ? q
                    : nd.TryGetValue("fds", out var fds) ? fds.Split(':').Length.ToString()
                    : "1";
                f[k + ".queues"] = queues;
                f[k + ".vhost"] =
                    On(nd.GetValueOrDefault("vhost")) || nd.ContainsKey("vhostfds") || nd.ContainsKey("vhostfd")
                        ? "on"
                        : "off";
                f[k + ".poll-us"] = nd.GetValueOrDefault("poll-us", "0");
                f[k + ".mq"] = d.GetValueOrDefault("mq", "off");
                f[k + ".vectors"] = d.GetValueOrDefault("vectors", "default");
                f[k + ".packed"] = d.GetValueOrDefault("packed", "off");
                f[k + ".mac"] = d.GetValueOrDefault("mac", "auto");
            }
        }
        var dimm = 0;
        foreach (var d in devices.Where(d => d["driver"] == "nvdimm"))
        {
            var k = $"nvdimm{dimm++}";
            var o = objects.Single(x => x.GetValueOrDefault("id") == d["memdev"]);
            f[k + ".mem-path"] = o["mem-path"];
            f[k + ".size"] = Bytes(o["size"]).ToString(CultureInfo.InvariantCulture);
            f[k + ".align"] = Bytes(o.GetValueOrDefault("align", "0")).ToString(CultureInfo.InvariantCulture);
            f[k + ".share"] = On(o.GetValueOrDefault("share")) ? "on" : "off";
            f[k + ".pmem"] = On(o.GetValueOrDefault("pmem")) ? "on" : "off";
            f[k + ".label-size"] = Bytes(d.GetValueOrDefault("label-size", "0")).ToString(CultureInfo.InvariantCulture);
            f[k + ".node"] = d.GetValueOrDefault("node", "0");
        }
        var vfio = devices.Where(d => d["driver"] == "vfio-pci").Select(d => d["host"]).ToList();
        if (vfio.Count > 0)
            f["vfio-pci"] = string.Join(",", vfio);
        foreach (var o in new[] { "kernel", "initrd", "append" })
            if (All(o).SingleOrDefault() is string v)
                f[o] = v;
        return f;
    }

    public static string Text(SortedDictionary<string, string> facts) =>
        string.Join("\n", facts.Select(kv => $"{kv.Key} = {kv.Value}"));
}
