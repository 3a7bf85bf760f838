using System.Diagnostics;
using System.Globalization;

// Wall-time comparisons of kvmtune's native binary against the peer tool doing the same job, run
// alternately in one session so both see the same machine state; prints a Markdown table for BENCHMARKS.md.
// Usage: bench [--runs N] [--kvmtune PATH] [--fixtures DIR]

if (args.Contains("--plan")) return PlanBench.Run();
var runs = 31;
var kvmtune = Path.GetFullPath(".build/aot/kvmtune");
var fixtures = Path.GetFullPath("../shared/fixtures/hwloc");
for (var i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--kvmtune": kvmtune = Path.GetFullPath(args[++i]); break;
        case "--fixtures": fixtures = Path.GetFullPath(args[++i]); break;
    }
}
if (!File.Exists(kvmtune)) { Console.Error.WriteLine($"no kvmtune binary at {kvmtune}: run ./kvmtune --version first"); return 2; }

var scratch = Path.Combine("/dev/shm", $"kvmtune-bench-{Environment.ProcessId}");
Directory.CreateDirectory(scratch);
try
{
    Console.WriteLine($"kvmtune {kvmtune}, {runs} alternating runs each, median wall time; {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:yyyy-MM-dd}");
    Console.WriteLine();
    Console.WriteLine("| job | tree | kvmtune ms | peer | peer ms | ratio |");
    Console.WriteLine("|---|---|---:|---|---:|---:|");
    foreach (var tarball in Directory.GetFiles(fixtures, "*.tar.bz2").Order())
    {
        var name = Path.GetFileName(tarball)[..^".tar.bz2".Length];
        var dest = Path.Combine(scratch, name);
        Directory.CreateDirectory(dest);
        Run("tar", ["-xjf", tarball, "-C", dest], null);
        var root = Directory.GetDirectories(dest).Single();
        var (k, p) = Alternate(runs,
            () => Run(kvmtune, ["inspect", "--format", "json", "--root", root], null),
            () => Run("lstopo-no-graphics", ["--whole-io", "--of", "xml", "-"], new() { ["HWLOC_FSROOT"] = root }));
        Console.WriteLine($"| inspect --format json | {name} | {k:0.0} | lstopo-no-graphics --whole-io --of xml | {p:0.0} | {k / p:0.00} |");
    }
    var (a, v) = Alternate(runs,
        () => Run(kvmtune, ["audit", "--format", "json"], null, acceptExit: [0, 1]),
        () => Run("virt-host-validate", ["qemu"], null, acceptExit: [0, 1, 2]));
    Console.WriteLine($"| audit --format json | this machine (live) | {a:0.0} | virt-host-validate qemu | {v:0.0} | {a / v:0.00} |");
    var (n, numactl) = Alternate(runs,
        () => Run(kvmtune, ["inspect"], null),
        () => Run("numactl", ["-H"], null));
    Console.WriteLine($"| inspect (text) | this machine (live) | {n:0.0} | numactl -H | {numactl:0.0} | {n / numactl:0.00} |");
    var version = Median(Enumerable.Range(0, runs).Select(_ => Run(kvmtune, ["--version"], null)).ToList());
    Console.WriteLine();
    Console.WriteLine($"kvmtune --version: median {version:0.0} ms");
    Console.WriteLine($"peak RSS of kvmtune inspect --format json (largest fixture and live): {PeakRssKib(kvmtune, fixtures, scratch) / 1024.0:0.0} MiB");
    return 0;
}
finally
{
    Directory.Delete(scratch, recursive: true);
}

static (double A, double B) Alternate(int runs, Func<double> a, Func<double> b)
{
    a(); b(); // warm the page cache and the binaries
    var ta = new List<double>();
    var tb = new List<double>();
    for (var i = 0; i < runs; i++) { ta.Add(a()); tb.Add(b()); }
    return (Median(ta), Median(tb));
}

static double Median(List<double> xs)
{
    xs.Sort();
    return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
}

static double Run(string file, string[] args, Dictionary<string, string>? env, int[]? acceptExit = null)
{
    var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in args) psi.ArgumentList.Add(a);
    if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
    var sw = Stopwatch.StartNew();
    using var p = Process.Start(psi)!;
    var o = p.StandardOutput.ReadToEndAsync();
    var e = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    sw.Stop();
    _ = o.Result; _ = e.Result;
    if (!(acceptExit ?? [0]).Contains(p.ExitCode)) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {e.Result}");
    return sw.Elapsed.TotalMilliseconds;
}

// Peak resident set of each kvmtune run, measured by GNU time (Debian package "time") around that one process.
static long PeakRssKib(string kvmtune, string fixtures, string scratch)
{
    var roots = Directory.GetDirectories(scratch).Select(d => Directory.GetDirectories(d).Single()).ToList();
    long peak = 0;
    foreach (var root in roots.Append("/"))
    {
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-f", "%M", kvmtune, "inspect", "--format", "json", "--root", root }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        peak = Math.Max(peak, long.Parse(err.Trim().Split('\n').Last(), CultureInfo.InvariantCulture));
    }
    return peak;
}

/// <summary>vm plan's placement on synthetic hosts: how time grows with VMs and with nodes (in-process, median of 7).</summary>
static class PlanBench
{
    public static int Run()
    {
        Console.WriteLine("| nodes | CPUs | VMs | median ms |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var (nodes, vms) in new[] { (8, 10), (8, 100), (8, 1000), (8, 2000), (2, 1000), (4, 1000), (16, 1000), (32, 1000) })
        {
            var host = Host(nodes, 28);
            var specs = Specs(vms);
            var times = new List<double>();
            for (var i = 0; i < 7; i++)
            {
                var sw = Stopwatch.StartNew();
                var plan = new Kvmtune.Vms.Planner(host, Kvmtune.Vms.DeviceLocator.None).Plan(specs);
                sw.Stop();
                times.Add(sw.Elapsed.TotalMilliseconds);
                if (plan.Vms.Count + plan.Unplaced.Count != vms) throw new InvalidOperationException("lost a VM");
            }
            times.Sort();
            Console.WriteLine($"| {nodes} | {nodes * 56} | {vms} | {times[3]:0.0} |");
        }
        return 0;
    }

    /// <summary>nodes x 28 cores x 2 threads (8 nodes: 448 CPUs), 64 free 1 GiB pages and 256 GiB per node.</summary>
    private static Kvmtune.Vms.HostModel Host(int nodes, int cores)
    {
        var list = new List<Kvmtune.Vms.NodeModel>();
        var cpu = 0;
        for (var n = 0; n < nodes; n++)
        {
            var nodeCores = Enumerable.Range(0, cores).Select(_ => new[] { cpu++, cpu++ }).ToList();
            var cpus = nodeCores.SelectMany(c => c).ToList();
            list.Add(new Kvmtune.Vms.NodeModel(n, cpus, nodeCores, [cpus[0]], new Dictionary<long, long> { [1 << 20] = 64 }, 256L << 20));
        }
        return new Kvmtune.Vms.HostModel(list, 2);
    }

    /// <summary>A mix: a quarter dedicated on 1 GiB pages, the rest shared 2-8 vCPU VMs.</summary>
    private static List<Kvmtune.Vms.VmSpec> Specs(int count) =>
        Enumerable.Range(0, count).Select(i => new Kvmtune.Vms.VmSpec($"vm{i}", 2 + i % 4 * 2, (1L + i % 4) << 20, "throughput", i % 4 == 0, i % 4 == 0 ? 1 << 20 : null,
            null, null, [], [], [], [], false, false, false, null, "bench", i)).ToList();
}
