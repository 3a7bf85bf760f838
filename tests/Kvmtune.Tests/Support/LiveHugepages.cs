namespace Kvmtune.Tests.Support;

/// <summary>
/// A few 2 MiB huge pages reserved on this machine and a hugetlbfs mounted for them, for as long as a test
/// class needs them; the original page count is written back and the mount removed afterwards.
/// </summary>
public sealed class LiveHugepages : IDisposable
{
    private const string Pages = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
    private readonly string? _original;

    public LiveHugepages()
    {
        if (Environment.UserName != "root" || !File.Exists(Pages))
        {
            Reason = "needs root and 2 MiB huge pages";
            return;
        }
        RemoveStaleMounts();
        _original = File.ReadAllText(Pages).Trim();
        File.WriteAllText(Pages, (long.Parse(_original) + 256).ToString());
        Mount = Path.Combine("/tmp", $"kvmtune-hugetlbfs-{Environment.ProcessId}");
        Directory.CreateDirectory(Mount);
        var r = Processes.Run("mount", ["-t", "hugetlbfs", "-o", "pagesize=2M", "none", Mount]);
        if (r.ExitCode != 0)
        {
            Reason = "cannot mount hugetlbfs: " + r.Stderr;
            Mount = null;
        }
    }

    /// <summary>
    /// A test run that was killed leaves its mount behind, and kvmtune would then find two hugetlbfs mounts of the
    /// same size: remove those whose process is gone.
    /// </summary>
    private static void RemoveStaleMounts()
    {
        foreach (var line in File.ReadAllLines("/proc/mounts"))
        {
            var f = line.Split(' ');
            if (
                f.Length < 3
                || f[2] != "hugetlbfs"
                || !f[1].StartsWith("/tmp/kvmtune-hugetlbfs-", StringComparison.Ordinal)
            )
                continue;
            if (
                int.TryParse(f[1]["/tmp/kvmtune-hugetlbfs-".Length..], out var pid) && !Directory.Exists($"/proc/{pid}")
            )
            {
                Processes.Run("umount", [f[1]]);
                try
                {
                    Directory.Delete(f[1]);
                }
                catch (IOException) { }
            }
        }
    }

    public string? Mount { get; }
    public string? Reason { get; }

    public void Dispose()
    {
        if (Mount is not null)
        {
            Processes.Run("umount", [Mount]);
            try
            {
                Directory.Delete(Mount);
            }
            catch (IOException) { }
        }
        if (_original is not null)
            File.WriteAllText(Pages, _original);
    }
}
