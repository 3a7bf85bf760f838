using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Profiles;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>
/// Issue #10, as a property: a VM spec or a custom profile full of hostile strings either parses into values with
/// no control character in any string, or is refused with an <see cref="InputException"/>; never anything else.
/// </summary>
public sealed class HostileInputPropertyTests : IDisposable
{
    private const long Iterations = 2_000;
    private readonly SyntheticHost _host = new();
    private readonly TestTree _files = new();
    private readonly HostFacts _facts;

    public HostileInputPropertyTests() => _facts = HostFacts.Read(new HostReader(_host.Root));

    public void Dispose()
    {
        _host.Dispose();
        _files.Dispose();
    }

    private static readonly string[] Pieces =
    [
        "a\nb",
        "..",
        "../../etc/shadow",
        "json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}",
        "nbd:host:10809",
        "-readconfig",
        "/etc/shadow",
        "/dev/mem",
        "/dev/zero",
        "/dev/dax0.0",
        "/proc/self/mem",
        "/sys/kernel",
        "\u001b[2J",
        "\0",
        "99999999999999999999999",
        "-1",
        "9223372036854775807",
        "1PiB",
        "18446744073709551616GiB",
        "8EiB",
        "0-3",
        "0000:31:00.0",
        "01:00:5e:00:00:01",
        "52:54:00:12:34:56",
        "/img/a,b.raw",
        "tap0",
        "",
        " ",
        "~",
        "*",
        "&x",
        "!!binary",
        "{a: b}",
        "[1, 2]",
        "\ud800",
        "\u0085",
        "\u202e",
        "\u009b31m",
        "never\nw /etc/shadow - - - - pwned",
        "0\nkernel.core_pattern = |/tmp/evil %p",
        "$(reboot)",
        "`id`",
        "a;b|c&d",
        "'\"",
        "\\",
        "\r\n",
        "\t",
    ];

    private const string Alphabet = "ab/.:-_,019 \n\t\u001b\0\"'\\$;|&<>{}[]#!%@`\u0085\u009b\u2028\u00e9\ud800";

    private static readonly Gen<string> Hostile = Gen.Frequency(
        (4, Gen.OneOf(Pieces)),
        (3, Gen.Char[Alphabet].Array[0, 24].Select(a => new string(a))),
        (1, Gen.String),
        (1, Gen.Int[200, 6000].Select(n => "/" + new string('x', n))),
        (1, Gen.Select(Gen.OneOf(Pieces), Gen.OneOf(Pieces), (a, b) => a + b))
    );

    /// <summary>Mostly a good value or none, sometimes a hostile one: so whole specs are fine now and then.</summary>
    private static Gen<string?> Value(params string[] good) =>
        Gen.Frequency(
            (10, Gen.OneOf(good).Select(s => (string?)s)),
            (1, Hostile.Select(s => (string?)s)),
            (3, Gen.Const((string?)null))
        );

    private static Gen<string?> Required(params string[] good) =>
        Gen.Frequency((20, Gen.OneOf(good).Select(s => (string?)s)), (1, Hostile.Select(s => (string?)s)));

    /// <summary>A YAML mapping whose keys and values are double-quoted scalars holding exactly the text.</summary>
    private static string Mapping(IEnumerable<(string Key, string? Value)> fields, string indent)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in fields)
            if (v is not null)
                sb.Append(indent).Append(Quote(k)).Append(": ").Append(Quote(v)).Append('\n');
        return sb.ToString();
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '"' or '\\')
                sb.Append('\\').Append(c);
            else if (c < 0x20 || c is >= '\u007f' and <= '\u009f' || char.IsSurrogate(c))
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else
                sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    private static Gen<string> List(string key, Gen<string> entry) =>
        entry
            .Array[0, 3]
            .Select(items =>
                items.Length == 0 ? "" : key + ":\n" + string.Concat(items.Select(i => "  - " + i.TrimStart()))
            );

    private static Gen<string> Entry(params (string Key, Gen<string?> Value)[] fields) =>
        Gen.Select(
            fields
                .Select(f => f.Value)
                .ToArray()
                .Aggregate(
                    Gen.Const(Array.Empty<string?>()),
                    (acc, g) => Gen.Select(acc, g, (a, v) => a.Append(v).ToArray())
                ),
            values =>
            {
                var body = Mapping(fields.Select((f, i) => (f.Key, values[i])), "    ");
                return body.Length == 0 ? "{}\n" : body.TrimStart();
            }
        );

    private static readonly Gen<string> Disks = List(
        "disks",
        Entry(
            ("path", Required("/img/a.raw", "/dev/sdb", "/var/lib/x,y.qcow2")),
            ("format", Value("raw", "qcow2")),
            ("cache", Value("none", "writeback")),
            ("aio", Value("threads", "io_uring")),
            ("queues", Value("1", "4"))
        )
    );

    private static readonly Gen<string> Nics = List(
        "nics",
        Entry(
            ("ifname", Required("tap0", "kvt-1")),
            ("mac", Value("52:54:00:12:34:56", "02:00:00:00:00:01")),
            ("queues", Value("1", "2")),
            ("poll_us", Value("0", "50"))
        )
    );

    private static readonly Gen<string> Pmem = List(
        "pmem",
        Entry(
            ("path", Required("/var/tmp/kvmtune-prop-pmem.img", "/var/tmp/kvmtune-prop-pmem2.img")),
            ("size", Required("64MiB", "2GiB")),
            ("align", Value("2MiB", "4KiB"))
        )
    );

    private static readonly Gen<string> Boot = Gen.Select(
        Value("/boot/vmlinuz"),
        Value("/boot/initrd.img"),
        Value("console=ttyS0 quiet"),
        (k, i, a) =>
            k is null && i is null && a is null
                ? ""
                : "boot:\n" + Mapping([("kernel", k), ("initrd", i), ("append", a)], "  ")
    );

    private static readonly Gen<string> Specs = Gen.Frequency(
        (1, Hostile),
        (
            12,
            Gen.Select(
                Gen.Select(
                    Required("vm1", "db-2", "a.b_c"),
                    Required("1", "2", "4"),
                    Required("1GiB", "2GiB", "2G"),
                    Value("latency", "throughput", "density"),
                    Value("none", "2MiB", "1GiB"),
                    Value("auto", "0", "1"),
                    Value("0-3", "1,3", "4-7")
                ),
                Gen.Select(Value("true", "false"), Value("true", "false"), Value("1")),
                Disks,
                Nics,
                Pmem,
                List("passthrough", Entry(("pci", Required("0000:31:00.0", "0000:6b:00.0")))),
                Boot,
                (top, flags, disks, nics, pmem, passthrough, boot) =>
                {
                    var (name, vcpus, memory, workload, hugepages, node, cpuset) = top;
                    var (dedicated, memLock, guestNodes) = flags;
                    return Mapping(
                            [
                                ("name", name),
                                ("vcpus", vcpus),
                                ("memory", memory),
                                ("workload", workload),
                                ("hugepages", hugepages),
                                ("numa_node", node),
                                ("cpuset", cpuset),
                                ("dedicated_cpus", dedicated),
                                ("mem_lock", memLock),
                                ("guest_numa_nodes", guestNodes),
                            ],
                            ""
                        )
                        + disks
                        + nics
                        + pmem
                        + passthrough
                        + boot;
                }
            )
        )
    );

    [Fact]
    public void A_hostile_vm_spec_parses_into_safe_values_or_is_refused_as_bad_input()
    {
        var accepted = 0;
        Specs.Sample(
            yaml =>
            {
                IReadOnlyList<VmSpec> specs;
                try
                {
                    specs = VmSpecParser.Parse(yaml, "vms.yaml", _facts);
                }
                catch (InputException e)
                {
                    e.Message.Should().NotBeNullOrWhiteSpace();
                    return;
                }
                foreach (var s in specs)
                {
                    string?[] strings =
                    [
                        s.Name,
                        s.Workload,
                        s.File,
                        s.Boot?.Kernel,
                        s.Boot?.Initrd,
                        s.Boot?.Append,
                        .. s.Disks.SelectMany(d => new[] { d.Path, d.Format, d.Cache, d.Aio }),
                        .. s.Nics.SelectMany(n => new[] { n.Type, n.Ifname, n.Mac, n.Link }),
                        .. s.Passthrough.Select(p => p.Pci),
                        .. s.Pmem.Select(p => p.Path),
                    ];
                    strings.OfType<string>().Should().NotContain(x => SafeText.HasControl(x), yaml);
                    s.Disks.Should().OnlyContain(d => d.Path.StartsWith('/'), yaml);
                    s.Pmem.Should().OnlyContain(p => p.Path.StartsWith('/') && !p.Path.StartsWith("/etc/"), yaml);
                    s.MemoryKib.Should().BePositive();
                }
                // What parses also plans and renders: a QEMU command line and well-formed libvirt XML.
                var plan = new Planner(_facts).Plan(specs);
                foreach (var vm in plan.Vms)
                {
                    var spec = specs.Single(x => x.Name == vm.Name);
                    QemuCommandBuilder
                        .Build(spec, vm, _facts, new QemuOptions("tcg", "/run/kvmtune/x.qmp", null, false))
                        .Argv.Should()
                        .NotContain(a => SafeText.HasControl(a), yaml);
                    System.Xml.Linq.XDocument.Parse(LibvirtDomain.Build(spec, vm, _facts, "tcg"));
                }
                Interlocked.Increment(ref accepted);
            },
            iter: Iterations,
            print: Quote
        );
        accepted.Should().BeGreaterThan(20, "the generator also makes specs that are fine");
    }

    private static readonly string[] SysfsPaths =
    [
        "/sys/kernel/mm/transparent_hugepage/defrag",
        "/sys/kernel/mm/ksm/pages_to_scan",
        "/proc/irq/120/smp_affinity_list",
    ];

    private static readonly Gen<string> Profiles = Gen.Frequency(
        (1, Hostile),
        (
            8,
            Gen.Select(
                Value("mine", "x-1"),
                Value("A profile"),
                Required("balanced", "latency", "density"),
                Gen.Select(
                    Gen.Frequency((3, Gen.OneOf(ProfileSchema.Settings.Select(s => s.Key).ToArray())), (1, Hostile)),
                    Value("performance", "25", "100000-300000", "true", "madvise"),
                    (k, v) => (k, v)
                ).Array[0, 4],
                Gen.Select(
                    Gen.Frequency((3, Gen.OneOf(SysfsPaths)), (1, Hostile)),
                    Value("never", "0-3,8", "200", "ff"),
                    (k, v) => (k, v)
                ).Array[0, 4],
                (name, description, inherits, settings, sysfs) =>
                    Mapping([("name", name), ("description", description), ("inherits", inherits)], "")
                    + (settings.Length == 0 ? "" : "settings:\n" + Mapping(settings.DistinctBy(s => s.k), "  "))
                    + (sysfs.Length == 0 ? "" : "sysfs:\n" + Mapping(sysfs.DistinctBy(s => s.k), "  "))
            )
        )
    );

    [Fact]
    public void A_hostile_custom_profile_loads_with_safe_values_or_is_refused_as_bad_input()
    {
        var catalog = new ProfileCatalog(_files.Physical("/profiles"));
        var accepted = 0;
        var token = new Regex(@"^[A-Za-z0-9_.,:+-]{1,256}\z");
        Profiles.Sample(
            yaml =>
            {
                var file = _files.Physical($"/p-{Guid.NewGuid():N}.yaml");
                File.WriteAllText(file, yaml, new UTF8Encoding(false)); // a lone surrogate becomes U+FFFD
                Profile p;
                try
                {
                    p = catalog.Resolve(file);
                }
                catch (InputException e)
                {
                    e.Message.Should().NotBeNullOrWhiteSpace();
                    return;
                }
                finally
                {
                    File.Delete(file);
                }
                new[] { p.Name, p.Description, p.Inherits }
                    .OfType<string>()
                    .Should()
                    .NotContain(x => SafeText.HasControl(x), yaml);
                p.Settings.Values.Select(s => s.Value.Text).Should().NotContain(x => SafeText.HasControl(x), yaml);
                p.SysfsWrites.Keys.Should().NotContain(x => SafeText.HasControl(x), yaml);
                p.SysfsWrites.Values.Should().OnlyContain(v => token.IsMatch(v), yaml);
                Interlocked.Increment(ref accepted);
            },
            iter: Iterations,
            print: Quote
        );
        accepted.Should().BeGreaterThan(20, "the generator also makes profiles that are fine");
    }
}
