using System.Globalization;
using Kvmtune.Bench;

// kvmtune's native binary against a peer doing the same job, run alternately in one session; every table says the
// machine it ran on (CPU, kernel, cost of a page fault) and the load while it ran, the median and the interquartile
// range of the wall time, and counts that do not depend on the machine (minor faults, system calls, files opened).
// Usage (from the repository root): dotnet run --project bench/Kvmtune.Bench -c Release --
//   [--runs N] [--scale-runs N] [--only startup,inspect,audit,scale] [--kvmtune PATH] [--fixtures DIR]
var runs = 21;
var scaleRuns = 7;
var only = new HashSet<string>(["startup", "inspect", "audit", "scale"]);
var repo = FindRepo();
var kvmtune = Path.Combine(repo, ".build/aot/kvmtune");
var shared = Environment.GetEnvironmentVariable("KVMTUNE_SHARED") is { Length: > 0 } s
    ? s
    : Path.Combine(repo, "../shared");
var fixtures = Path.Combine(shared, "fixtures/hwloc");
for (var i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--runs":
            runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--scale-runs":
            scaleRuns = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--only":
            only = [.. args[++i].Split(',')];
            break;
        case "--kvmtune":
            kvmtune = Path.GetFullPath(args[++i]);
            break;
        case "--fixtures":
            fixtures = Path.GetFullPath(args[++i]);
            break;
    }
}

if (!Directory.Exists(fixtures))
{
    Console.Error.WriteLine($"bench: no hwloc fixtures at {fixtures}: set KVMTUNE_SHARED or pass --fixtures DIR");
    return 2;
}

var scratch = Path.Combine("/dev/shm", $"kvmtune-bench-{Environment.ProcessId}");
var cache = "/dev/shm/kvmtune-bench-inputs"; // generated trees and inputs, kept between runs
Directory.CreateDirectory(scratch);
Directory.CreateDirectory(cache);
try
{
    // The launcher builds the binary when a source changed: measure what the sources say.
    Spawn.Capture(scratch, Path.Combine(repo, "kvmtune"), "--version");
    var bench = new Bench(kvmtune, scratch, runs);
    Console.WriteLine(
        $"kvmtune {Spawn.Capture(scratch, kvmtune, "--version").Trim()} ({kvmtune}), "
            + $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {runs} alternating runs a figure"
    );
    if (only.Contains("startup"))
        bench.Startup(repo, Hello.Build(repo, scratch));
    if (only.Contains("inspect"))
        bench.Inspect(fixtures, Path.Combine(repo, "bench/hwloc"));
    if (only.Contains("audit"))
        bench.LiveAudit();
    if (only.Contains("scale"))
        bench.Scale(cache, fixtures, scaleRuns);
    return 0;
}
finally
{
    Directory.Delete(scratch, recursive: true);
}

static string FindRepo()
{
    for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "kvmtune.slnx")))
            return d.FullName;
    throw new InvalidOperationException("run the bench from inside the kvmtune repository");
}

/// <summary>The figures, each printed as a Markdown table.</summary>
internal sealed class Bench(string kvmtune, string scratch, int runs)
{
    private static readonly int[] AuditExits = [0, 1];

    private void Header(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
        Console.WriteLine();
        Console.WriteLine($"Machine: {Machine.Describe()}. Load average at the start: {Machine.Load()}.");
        Console.WriteLine();
    }

    private static void Footer() => Console.WriteLine($"\nLoad average at the end: {Machine.Load()}.");

    /// <summary>Runs the command once with its output kept, to check it did its job before it is timed.</summary>
    private RunResult Check(
        string file,
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? env,
        int[]? exits
    )
    {
        var o = Path.Combine(scratch, "check.out");
        var e = Path.Combine(scratch, "check.err");
        var r = Spawn.Run(file, args, env, o, e);
        if (!(exits ?? [0]).Contains(r.ExitCode) || new FileInfo(o).Length == 0)
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', args)} exited {r.ExitCode} with {new FileInfo(o).Length} bytes out: "
                    + File.ReadAllText(e)
            );
        return r;
    }

    private Func<RunResult> Job(
        string file,
        IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string>? env = null,
        int[]? exits = null
    )
    {
        Check(file, args, env, exits);
        return () =>
        {
            var r = Spawn.Run(file, args, env);
            if (!(exits ?? [0]).Contains(r.ExitCode))
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {r.ExitCode}");
            return r;
        };
    }

    private static string Ratio(Sample a, Sample b) =>
        (a.Median / b.Median).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>One comparison row: times, ratio, and the counts of both side by side ("kvmtune / peer").</summary>
    private void Compare(
        string job,
        string input,
        string peerName,
        (string File, string[] Args, Dictionary<string, string>? Env, int[]? Exits) k,
        (string File, string[] Args, Dictionary<string, string>? Env, int[]? Exits) p
    )
    {
        var (a, b) = Measure.Alternate(runs, Job(k.File, k.Args, k.Env, k.Exits), Job(p.File, p.Args, p.Env, p.Exits));
        var ca = Counts.Of(scratch, a, k.File, k.Args, k.Env);
        var cb = Counts.Of(scratch, b, p.File, p.Args, p.Env);
        Console.WriteLine(
            $"| {job} | {input} | {a.Ms()} | {peerName} | {b.Ms()} | {Ratio(a, b)} | "
                + $"{ca.Faults} / {cb.Faults} | {ca.Syscalls} / {cb.Syscalls} | {ca.Opened} / {cb.Opened} | "
                + $"{ca.PeakRssMib:0.0} / {cb.PeakRssMib:0.0} |"
        );
    }

    private static void CompareHeader()
    {
        Console.WriteLine(
            "| job | input | kvmtune ms, median (IQR) | peer | peer ms, median (IQR) | ratio | "
                + "minor faults kvmtune / peer | system calls | files opened | peak RSS MiB |"
        );
        Console.WriteLine("|---|---|---:|---|---:|---:|---:|---:|---:|---:|");
    }

    public void Startup(string repo, string hello)
    {
        Header("Start-up");
        CompareHeader();
        Compare("--version", "-", "Native AOT hello", (kvmtune, ["--version"], null, null), (hello, [], null, null));
        Compare(
            "`./kvmtune --version` (launcher)",
            "built",
            "the binary, `.build/aot/kvmtune --version`",
            (Path.Combine(repo, "kvmtune"), ["--version"], null, null),
            (kvmtune, ["--version"], null, null)
        );
        // The floor of any launcher that is a script: the shell's own start and a second execve.
        var execOnly = Path.Combine(scratch, "exec-only.sh");
        var quoted = "'" + kvmtune.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        File.WriteAllText(execOnly, $"#!/bin/sh\nexec {quoted} \"$@\"\n");
        File.SetUnixFileMode(execOnly, (UnixFileMode)0b111_101_101);
        Compare(
            "a `/bin/sh` script that only `exec`s the binary",
            "built",
            "the binary, `.build/aot/kvmtune --version`",
            (execOnly, ["--version"], null, null),
            (kvmtune, ["--version"], null, null)
        );
        Footer();
        Console.WriteLine();
        Console.WriteLine("What each read-only command pays (live machine, or the named input):");
        Console.WriteLine();
        Console.WriteLine("| command | ms, median (IQR) | minor faults | system calls | files opened | peak RSS MiB |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var spec = Path.Combine(scratch, "one-vm.yaml");
        File.WriteAllText(spec, "name: vm1\nvcpus: 2\nmemory: 1GiB\nhugepages: none\n");
        foreach (
            var (name, a, exits) in new (string, string[], int[]?)[]
            {
                ("--version", ["--version"], null),
                ("--help", ["--help"], null),
                ("profiles list", ["profiles", "list"], null),
                ("inspect --format json", ["inspect", "--format", "json"], null),
                ("inspect (text)", ["inspect"], null),
                ("audit --format json", ["audit", "--format", "json"], AuditExits),
                ("vm plan (1 VM)", ["vm", "plan", spec], AuditExits),
                ("history", ["history"], null),
            }
        )
        {
            var sample = Measure.Repeat(runs, Job(kvmtune, a, null, exits));
            var c = Counts.Of(scratch, sample, kvmtune, a);
            Console.WriteLine(
                $"| {name} | {sample.Ms()} | {c.Faults} | {c.Syscalls} | {c.Opened} | {c.PeakRssMib:0.0} |"
            );
        }
    }

    public void Inspect(string fixtures, string bigTrees)
    {
        Header("inspect --format json against lstopo-no-graphics --whole-io --of xml");
        // lstopo loads every hwloc plugin installed (Debian's libhwloc15 recommends libhwloc-plugins: libxml2,
        // OpenCL, an X display tried for GL), which doubled its time on the 8-CPU tree here and changed none of its
        // output under HWLOC_FSROOT. The peer runs with no plugin folder, so its figure does not depend on them.
        var noPlugins = Path.Combine(scratch, "no-hwloc-plugins");
        Directory.CreateDirectory(noPlugins);
        var installed = Directory.Exists("/usr/lib/x86_64-linux-gnu/hwloc")
            ? Directory.GetFiles("/usr/lib/x86_64-linux-gnu/hwloc", "*.so").Length
            : 0;
        Console.WriteLine(
            $"lstopo runs with HWLOC_PLUGINS_PATH set to an empty folder ({installed} hwloc plugins installed).\n"
        );
        CompareHeader();
        var trees = Directory
            .GetFiles(fixtures, "*.tar.bz2")
            .Order(StringComparer.Ordinal)
            .Concat(
                Directory.Exists(bigTrees)
                    ? Directory.GetFiles(bigTrees, "*.tar.bz2").Order(StringComparer.Ordinal)
                    : []
            )
            .ToList();
        foreach (var tarball in trees)
        {
            var name = Path.GetFileName(tarball)[..^".tar.bz2".Length];
            var dest = Path.Combine(scratch, "trees", name);
            Directory.CreateDirectory(dest);
            Spawn.Capture(scratch, "tar", "-xjf", tarball, "-C", dest);
            var root = Directory.GetDirectories(dest).Single();
            var cpus = Directory
                .GetDirectories(Path.Combine(root, "sys/devices/system/cpu"), "cpu*")
                .Count(d => int.TryParse(Path.GetFileName(d)[3..], out _));
            var pci = Directory.Exists(Path.Combine(root, "sys/bus/pci/devices"))
                ? Directory.GetFileSystemEntries(Path.Combine(root, "sys/bus/pci/devices")).Length
                : 0;
            var label =
                (tarball.StartsWith(bigTrees, StringComparison.Ordinal) ? "hwloc corpus: " : "")
                + $"{name} ({cpus} CPUs, {pci} PCI)";
            Compare(
                "inspect --format json",
                label,
                "lstopo",
                (kvmtune, ["inspect", "--format", "json", "--root", root], null, null),
                (
                    "lstopo-no-graphics",
                    ["--whole-io", "--of", "xml", "-"],
                    new() { ["HWLOC_FSROOT"] = root, ["HWLOC_PLUGINS_PATH"] = noPlugins },
                    null
                )
            );
        }
        Footer();
    }

    public void LiveAudit()
    {
        Header("Live audit against virt-host-validate qemu");
        var findings = System
            .Text.Json.JsonDocument.Parse(
                Spawn.Run(kvmtune, ["audit", "--format", "json"], null, Path.Combine(scratch, "a.json")) is { } _
                    ? File.ReadAllText(Path.Combine(scratch, "a.json"))
                    : "{}"
            )
            .RootElement.GetProperty("findings")
            .GetArrayLength();
        Spawn.Run("virt-host-validate", ["qemu"], null, Path.Combine(scratch, "v.txt"));
        var vhv = File.ReadAllLines(Path.Combine(scratch, "v.txt"))
            .Count(l => l.Contains(": ", StringComparison.Ordinal));
        CompareHeader();
        Compare(
            "audit --format json",
            $"this machine ({findings} checks)",
            $"virt-host-validate qemu ({vhv} checks)",
            (kvmtune, ["audit", "--format", "json"], null, AuditExits),
            ("virt-host-validate", ["qemu"], null, [0, 1, 2])
        );
        Footer();
    }

    public void Scale(string cache, string fixtures, int scaleRuns)
    {
        Header("Scale");
        Console.WriteLine(
            "| figure | size | ms, median (IQR) | growth (time / size, from the size before) | "
                + "peak RSS MiB | minor faults | target |"
        );
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|");
        void Row(string figure, IReadOnlyList<(string Size, double Units, string[] Args)> sizes, string target)
        {
            Sample? previous = null;
            double previousUnits = 0;
            foreach (var (size, units, a) in sizes)
            {
                Console.Error.WriteLine($"bench: {figure} {size}...");
                var sample = Measure.Repeat(scaleRuns, Job(kvmtune, a, null, AuditExits));
                var rss = Counts.PeakRss(scratch, kvmtune, a);
                var growth = previous is null
                    ? "-"
                    : string.Create(
                        CultureInfo.InvariantCulture,
                        $"x{sample.Median / previous.Median:0.0} / x{units / previousUnits:0}"
                    );
                Console.WriteLine(
                    $"| {figure} | {size} | {sample.Ms()} | {growth} | {rss:0.0} | {sample.Faults} | {target} |"
                );
                previous = sample;
                previousUnits = units;
            }
        }

        // fleet: real audits of the fixtures, each copied under many host names.
        var templates = new List<string>();
        foreach (var tarball in Directory.GetFiles(fixtures, "*.tar.bz2").Order(StringComparer.Ordinal))
        {
            var dest = Path.Combine(scratch, "fleet-src", Path.GetFileName(tarball));
            Directory.CreateDirectory(dest);
            Spawn.Capture(scratch, "tar", "-xjf", tarball, "-C", dest);
            var o = Path.Combine(scratch, "t.json");
            Spawn.Run(
                kvmtune,
                ["audit", "--format", "json", "--root", Directory.GetDirectories(dest).Single()],
                null,
                o
            );
            templates.Add(File.ReadAllText(o));
        }
        Row(
            "fleet DIR (audit JSON files)",
            [
                .. new[] { 10, 100, 1000, 10000 }.Select(n =>
                    ($"{n} hosts", (double)n, new[] { "fleet", ScaleInputs.Fleet(cache, n, templates) })
                ),
            ],
            "10,000 < 2 s"
        );

        Row(
            "audit --format json --root (synthetic host)",
            [
                .. new[] { (2, 32, 250, 62), (4, 32, 500, 125), (8, 32, 1000, 250), (16, 32, 2000, 500) }
                    .Select(x => new SyntheticHost(x.Item1, x.Item2, x.Item3, x.Item4, 64))
                    .Select(h =>
                        (
                            $"{h.Cpus} CPUs, {h.Name.Split('-')[2]}",
                            (double)h.Cpus,
                            new[] { "audit", "--format", "json", "--root", h.Write(cache) }
                        )
                    ),
            ],
            "1,024 CPUs, 16 nodes, 2,000 IRQs, 500 PCI < 0.5 s"
        );

        // 2 TiB a node: room for every VM of the mix (a host that runs out makes each VM left over try every split).
        var host = new SyntheticHost(32, 48, 64, 32, 512, 2048).Write(cache);
        Row(
            "vm plan --format json (32 nodes, 3,072 CPUs, 2 TiB a node)",
            [
                .. new[] { 10, 100, 1000, 10000 }.Select(n =>
                    (
                        $"{n} VMs",
                        (double)n,
                        new[] { "vm", "plan", ScaleInputs.VmSpecs(cache, n), "--format", "json", "--root", host }
                    )
                ),
            ],
            "10,000 VMs < 1 s"
        );
        Footer();
    }
}
