using System.Collections.Concurrent;

[assembly: AssemblyFixture(typeof(Kvmtune.Tests.Support.FixtureTrees))]

namespace Kvmtune.Tests.Support;

/// <summary>
/// The hwloc fixture tarballs, each extracted once per test run onto tmpfs and shared read-only by every
/// test; a test that changes a tree copies only what it changes (<see cref="TestTree"/>).
/// </summary>
public sealed class FixtureTrees : IDisposable
{
    private readonly string _dir = Path.Combine(Paths.Scratch, $"kvmtune-fixtures-{Environment.ProcessId}");
    private readonly ConcurrentDictionary<string, Lazy<string>> _roots = new();

    public static IReadOnlyList<string> Names { get; } =
        Directory.Exists(Paths.HwlocFixtures)
            ? Directory
                .GetFiles(Paths.HwlocFixtures, "*.tar.bz2")
                .Select(f => Path.GetFileName(f)[..^".tar.bz2".Length])
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];

    /// <summary>The bench's bigger trees from hwloc's own test corpus (bench/hwloc): kernels built for 4,096 CPUs,
    /// Itanium and POWER, 17 and 64 nodes.</summary>
    public static IReadOnlyList<string> CorpusNames { get; } =
        Directory.Exists(CorpusFolder)
            ? Directory
                .GetFiles(CorpusFolder, "*.tar.bz2")
                .Select(f => Path.GetFileName(f)[..^".tar.bz2".Length])
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];

    private static string CorpusFolder => Path.Combine(Paths.RepoRoot, "bench", "hwloc");

    public static TheoryData<string> All() => Data(Names);

    public static TheoryData<string> Corpus() => Data(CorpusNames);

    private static TheoryData<string> Data(IEnumerable<string> names)
    {
        var data = new TheoryData<string>();
        foreach (var n in names)
            data.Add(n);
        return data;
    }

    /// <summary>The folder to pass as --root for a fixture or a corpus tree (the tarball's one top
    /// folder).</summary>
    public string Root(string name) => _roots.GetOrAdd(name, n => new Lazy<string>(() => Extract(n))).Value;

    public static string ExpectedJson(string name) =>
        File.ReadAllText(Path.Combine(Paths.HwlocFixtures, name + ".expected.json"));

    private string Extract(string name)
    {
        var target = Path.Combine(_dir, name);
        Directory.CreateDirectory(target);
        var tarball = Path.Combine(Paths.HwlocFixtures, name + ".tar.bz2");
        if (!File.Exists(tarball))
            tarball = Path.Combine(CorpusFolder, name + ".tar.bz2");
        var r = Processes.Run("tar", ["-xjf", tarball, "-C", target]);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"extracting {name}: {r.Stderr}");
        var top = Directory.GetDirectories(target);
        return top.Length == 1 ? top[0] : target;
    }

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(_dir))
                Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }
}
