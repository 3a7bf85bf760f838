using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace Kvmtune.Vms.Audit;

/// <summary>How an option's value is written.</summary>
public enum QemuValueForm
{
    None,
    Text,
    KeyValue,
    Json,
}

/// <summary>
/// The properties of one option value, in order, flattened the way QEMU reads them: "k=v,k=v" with ",," for a comma
/// and an implied first key (QemuOpts), or a JSON object whose nested members become dotted keys (keyval).
/// </summary>
public sealed class QemuProps
{
    private readonly List<KeyValuePair<string, string>> _items;

    public QemuProps(QemuValueForm form, List<KeyValuePair<string, string>> items, string? error = null)
    {
        Form = form;
        _items = items;
        Error = error;
    }

    public QemuValueForm Form { get; }

    /// <summary>Why the value could not be read (bad JSON); the properties read before it are kept.</summary>
    public string? Error { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Items => _items;

    /// <summary>The value QEMU uses: the last occurrence of the key wins, as in QemuOpts.</summary>
    public string? Get(string key)
    {
        for (var i = _items.Count - 1; i >= 0; i--)
            if (_items[i].Key == key)
                return _items[i].Value;
        return null;
    }

    public bool Has(string key) => Get(key) is not null;

    /// <summary>
    /// QEMU's booleans: on/yes/true/y (QemuOpts and JSON true alike); null when absent or not a boolean.
    /// </summary>
    public bool? Bool(string key) => QemuArgv.ParseBool(Get(key));
}

/// <summary>One option of the command line: its name without dashes and its value as written and as read.</summary>
public sealed record QemuOption(string Name, string? Value, QemuProps? Props, bool Known);

/// <summary>
/// A QEMU command line read the way QEMU 7.2 (and libvirt 9, which writes it) reads it: options with and without a
/// value, "-opt" and "--opt" alike, key=value lists with ",," escapes and implied first keys, JSON objects for
/// -device, -netdev, -object, -blockdev and -audiodev, -cpu's +feature/-feature. Options this table does not know are
/// kept and listed, never a failure: a newer QEMU's option takes the following word when that word is no option.
/// </summary>
public sealed class QemuArgv
{
    private enum Grammar
    {
        Flag,
        Text,
        Opts,
        Json,
        Cpu,
    }

    private sealed record Spec(Grammar Grammar, string? Implied = null);

    // From QEMU 7.2's qemu-options.hx: options without HAS_ARG, then options whose value is QemuOpts/keyval with
    // their implied first key ("-device virtio-net-pci" is driver=virtio-net-pci), then plain text values.
    private static readonly FrozenDictionary<string, Spec> Table = BuildTable()
        .ToFrozenDictionary(StringComparer.Ordinal);

    private static Dictionary<string, Spec> BuildTable()
    {
        var t = new Dictionary<string, Spec>(StringComparer.Ordinal);
        foreach (
            var f in new[]
            {
                "nodefaults",
                "S",
                "s",
                "no-user-config",
                "no-shutdown",
                "no-reboot",
                "daemonize",
                "enable-kvm",
                "nographic",
                "snapshot",
                "no-hpet",
                "no-acpi",
                "full-screen",
                "win2k-hack",
                "no-fd-bootchk",
                "portrait",
                "singlestep",
                "mem-prealloc",
                "only-migratable",
                "preconfig",
                "enable-sync-profile",
                "usb",
                "h",
                "help",
                "version",
                "audio-help",
                "no-quit",
                "curses",
                "alt-grab",
                "ctrl-grab",
                "nodefconfig",
                "async-teardown",
                "xen-attach",
                "xen-domid-restrict",
                "rtc-td-hack",
                "no-kvm-pit-reinjection",
                "no-kvm",
                "no-kvm-irqchip",
                "no-kvm-pit",
                "sdl",
                "show-cursor",
                "semihosting",
                "no-frame",
            }
        )
            t[f] = new(Grammar.Flag);
        (string Name, string Implied)[] opts =
        [
            ("machine", "type"),
            ("M", "type"),
            ("accel", "accel"),
            ("smp", "cpus"),
            ("m", "size"),
            ("numa", "type"),
            ("name", "guest"),
            ("nic", "type"),
            ("net", "type"),
            ("chardev", "backend"),
            ("boot", "order"),
            ("rtc", "base"),
            ("mon", "chardev"),
            ("fw_cfg", "name"),
            ("smbios", "type"),
            ("tpmdev", "type"),
            ("fsdev", "fsdriver"),
            ("virtfs", "fsdriver"),
            ("sandbox", "enable"),
            ("trace", "enable"),
            ("icount", "shift"),
            ("display", "type"),
            ("spice", ""),
            ("msg", ""),
            ("overcommit", ""),
            ("drive", ""),
            ("add-fd", ""),
            ("compat", ""),
            ("action", ""),
            ("iscsi", ""),
            ("acpitable", ""),
            ("plugin", "file"),
            ("global", ""),
            ("audio", "driver"),
            ("seed", ""),
            ("option-rom", "romfile"),
            ("incoming", ""),
            ("watchdog-action", ""),
            ("realtime", ""),
            ("semihosting-config", "enable"),
            ("smp-opts", "cpus"),
        ];
        foreach (var (n, i) in opts)
            t[n] = new(Grammar.Opts, i.Length == 0 ? null : i);
        t["device"] = new(Grammar.Json, "driver");
        t["object"] = new(Grammar.Json, "qom-type");
        t["blockdev"] = new(Grammar.Json, "driver");
        t["audiodev"] = new(Grammar.Json, "driver");
        t["netdev"] = new(Grammar.Json, "type");
        t["cpu"] = new(Grammar.Cpu);
        foreach (
            var n in new[]
            {
                "uuid",
                "kernel",
                "initrd",
                "append",
                "dtb",
                "bios",
                "pflash",
                "L",
                "D",
                "d",
                "k",
                "cdrom",
                "fda",
                "fdb",
                "hda",
                "hdb",
                "hdc",
                "hdd",
                "mtdblock",
                "sd",
                "mem-path",
                "pidfile",
                "serial",
                "parallel",
                "monitor",
                "qmp",
                "qmp-pretty",
                "debugcon",
                "vga",
                "vnc",
                "rotate",
                "usbdevice",
                "set",
                "loadvm",
                "runas",
                "chroot",
                "readconfig",
                "writeconfig",
                "gdb",
                "echr",
                "dfilter",
                "xen-domid",
                "watchdog",
                "tb-size",
                "bt",
                "qtest",
                "qtest-log",
                "dump-vmstate",
                "enable-fips",
                "mem-max",
                "numa-mem",
            }
        )
            t[n] = new(Grammar.Text);
        return t;
    }

    /// <summary>Whether QEMU 7.2 knows an option (null: not), and whether it takes a value.</summary>
    public static bool? TakesValue(string name) =>
        Table.TryGetValue(name, out var s) ? s.Grammar != Grammar.Flag : null;

    public string? Binary { get; }
    public IReadOnlyList<QemuOption> Options { get; }

    /// <summary>
    /// Words that are no option's value: a disk image ("qemu-system-x86_64 disk.img" is -hda disk.img).
    /// </summary>
    public IReadOnlyList<string> Positional { get; }

    /// <summary>Options QEMU 7.2 does not have: kept above, and listed here for the report.</summary>
    public IReadOnlyList<string> Unknown { get; }

    /// <summary>Values that could not be read (bad JSON, a missing value), as sentences.</summary>
    public IReadOnlyList<string> Problems { get; }

    private QemuArgv(
        string? binary,
        List<QemuOption> options,
        List<string> positional,
        List<string> unknown,
        List<string> problems
    )
    {
        Binary = binary;
        Options = options;
        Positional = positional;
        Unknown = unknown;
        Problems = problems;
    }

    /// <summary>Reads an argument vector whose first word is the program. Never throws.</summary>
    public static QemuArgv Parse(IReadOnlyList<string> argv)
    {
        var options = new List<QemuOption>();
        var positional = new List<string>();
        var unknown = new List<string>();
        var problems = new List<string>();
        var binary = argv.Count > 0 ? argv[0] : null;
        for (var i = 1; i < argv.Count; i++)
        {
            var word = argv[i];
            if (word.Length < 2 || word[0] != '-')
            {
                positional.Add(word);
                continue;
            }
            var name = word.StartsWith("--", StringComparison.Ordinal) ? word[2..] : word[1..];
            if (!Table.TryGetValue(name, out var spec))
            {
                // A newer QEMU's option: it takes the next word when that word is not an option itself.
                string? value = i + 1 < argv.Count && !argv[i + 1].StartsWith('-') ? argv[++i] : null;
                unknown.Add(value is null ? "-" + name : $"-{name} {value}");
                options.Add(new QemuOption(name, value, value is null ? null : ReadOpts(value, null), Known: false));
                continue;
            }
            if (spec.Grammar == Grammar.Flag)
            {
                options.Add(new QemuOption(name, null, null, Known: true));
                continue;
            }
            if (i + 1 >= argv.Count)
            {
                problems.Add($"-{name} has no value (the command line ends)");
                options.Add(new QemuOption(name, null, null, Known: true));
                continue;
            }
            var v = argv[++i];
            var props = spec.Grammar switch
            {
                Grammar.Text => new QemuProps(QemuValueForm.Text, [new(name, v)]),
                Grammar.Cpu => ReadCpu(v),
                Grammar.Json when v.StartsWith('{') => ReadJson(v),
                _ => ReadOpts(v, spec.Implied),
            };
            if (props.Error is not null)
                problems.Add($"-{name}: {props.Error}");
            options.Add(new QemuOption(name, v, props, Known: true));
        }
        return new QemuArgv(binary, options, positional, unknown, problems);
    }

    public IEnumerable<QemuOption> All(string name) => Options.Where(o => o.Name == name);

    public QemuOption? Last(string name) => Options.LastOrDefault(o => o.Name == name);

    public bool HasFlag(string name) => Options.Any(o => o.Name == name);

    /// <summary>
    /// QemuOpts: ",," is a comma; the first part without '=' is the implied key; "flag" alone is flag=on.
    /// </summary>
    public static QemuProps ReadOpts(string value, string? implied)
    {
        var items = new List<KeyValuePair<string, string>>();
        var parts = SplitCommas(value);
        for (var i = 0; i < parts.Count; i++)
        {
            var p = parts[i];
            var eq = p.IndexOf('=');
            if (eq < 0)
            {
                if (i == 0 && implied is not null)
                    items.Add(new(implied, p));
                else if (p.Length > 0)
                    items.Add(new(p, "on"));
                continue;
            }
            items.Add(new(p[..eq], p[(eq + 1)..]));
        }
        return new QemuProps(QemuValueForm.KeyValue, items);
    }

    /// <summary>Splits at single commas; ",," stands for one comma inside a value.</summary>
    public static List<string> SplitCommas(string value)
    {
        var parts = new List<string>();
        var cur = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != ',')
            {
                cur.Append(value[i]);
                continue;
            }
            if (i + 1 < value.Length && value[i + 1] == ',')
            {
                cur.Append(',');
                i++;
                continue;
            }
            parts.Add(cur.ToString());
            cur.Clear();
        }
        parts.Add(cur.ToString());
        return parts;
    }

    /// <summary>"-cpu model,+feat,-feat,feat=value": the model, then each feature on or off.</summary>
    private static QemuProps ReadCpu(string value)
    {
        var items = new List<KeyValuePair<string, string>>();
        var parts = SplitCommas(value);
        items.Add(new("model", parts[0]));
        foreach (var p in parts.Skip(1))
        {
            if (p.Length == 0)
                continue;
            var eq = p.IndexOf('=');
            if (eq >= 0)
                items.Add(new(p[..eq], p[(eq + 1)..]));
            else if (p[0] == '+')
                items.Add(new(p[1..], "on"));
            else if (p[0] == '-')
                items.Add(new(p[1..], "off"));
            else
                items.Add(new(p, "on"));
        }
        return new QemuProps(QemuValueForm.KeyValue, items);
    }

    private static QemuProps ReadJson(string value)
    {
        var items = new List<KeyValuePair<string, string>>();
        try
        {
            using var doc = JsonDocument.Parse(value, new JsonDocumentOptions { MaxDepth = 32 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return new QemuProps(QemuValueForm.Json, items, "the JSON value is not an object");
            Flatten(doc.RootElement, "", items);
            return new QemuProps(QemuValueForm.Json, items);
        }
        catch (JsonException e)
        {
            return new QemuProps(QemuValueForm.Json, items, $"not valid JSON ({e.Message})");
        }
    }

    /// <summary>
    /// Nested members as dotted keys, array members by index, booleans as on/off: QEMU's keyval view.
    /// </summary>
    private static void Flatten(JsonElement e, string prefix, List<KeyValuePair<string, string>> items)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
                Flatten(p.Value, prefix.Length == 0 ? p.Name : prefix + "." + p.Name, items);
            return;
        }
        if (e.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var x in e.EnumerateArray())
                Flatten(x, prefix + "." + i++, items);
            return;
        }
        items.Add(
            new(
                prefix,
                e.ValueKind switch
                {
                    JsonValueKind.True => "on",
                    JsonValueKind.False => "off",
                    JsonValueKind.String => e.GetString() ?? "",
                    _ => e.GetRawText(),
                }
            )
        );
    }

    public static bool? ParseBool(string? v) =>
        v switch
        {
            "on" or "yes" or "true" or "y" => true,
            "off" or "no" or "false" or "n" => false,
            _ => null,
        };

    /// <summary>
    /// Bytes from QEMU's size syntax: a number, optionally with k/M/G/T/P/E (bare: bytes, or MiB for -m).
    /// </summary>
    public static long? Bytes(string? s, bool bareIsMiB = false)
    {
        if (string.IsNullOrEmpty(s))
            return null;
        var unit = char.ToUpperInvariant(s[^1]);
        var shift = unit switch
        {
            'B' => 0,
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            'P' => 50,
            'E' => 60,
            _ => -1,
        };
        var digits = shift < 0 ? s : s[..^1];
        if (shift < 0)
            shift = bareIsMiB ? 20 : 0;
        if (
            digits.Length == 0
            || digits.Length > 30
            || !decimal.TryParse(
                digits,
                System.Globalization.NumberStyles.AllowDecimalPoint,
                System.Globalization.CultureInfo.InvariantCulture,
                out var n
            )
        )
            return null;
        try
        {
            var bytes = n * (decimal)(1L << Math.Min(shift, 62));
            return bytes > long.MaxValue ? null : (long)bytes;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
