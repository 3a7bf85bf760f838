namespace Kvmtune.Tests.Support;

/// <summary>Where the repository and the shared fixtures are, from wherever the test binary runs.</summary>
public static class Paths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared { get; } =
        Environment.GetEnvironmentVariable("KVMTUNE_SHARED") is { Length: > 0 } s
            ? s
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string HwlocFixtures => Path.Combine(Shared, "fixtures", "hwloc");

    /// <summary>tmpfs: the disk here is slow at creating files.</summary>
    public static string Scratch { get; } = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "kvmtune.slnx")))
                return dir.FullName;
        throw new InvalidOperationException(
            "cannot find the repository root (kvmtune.slnx) above " + AppContext.BaseDirectory
        );
    }
}
