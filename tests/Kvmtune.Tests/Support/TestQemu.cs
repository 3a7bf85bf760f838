using System.Text.Json;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Support;

/// <summary>
/// A QEMU started by a test under TCG with the arguments it gives, daemonized, with a QMP socket the test asks
/// through; killed (by its own PID) when disposed.
/// </summary>
public sealed class TestQemu : IDisposable
{
    public TestQemu(string dir, string name, IEnumerable<string> args)
    {
        Directory.CreateDirectory(dir);
        Qmp = Path.Combine(dir, name + ".qmp");
        var pidFile = Path.Combine(dir, name + ".pid");
        var r = Processes.Run(
            "qemu-system-x86_64",
            [.. args, "-display", "none", "-qmp", $"unix:{Qmp},server=on,wait=off", "-daemonize", "-pidfile", pidFile]
        );
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"QEMU did not start: {r.Stderr}");
        Pid = int.Parse(File.ReadAllText(pidFile).Trim());
    }

    public int Pid { get; }
    public string Qmp { get; }

    /// <summary>One QMP command's "return", through a fresh connection.</summary>
    public JsonElement Ask(string command, string? arguments = null)
    {
        using var c = QmpClient.Connect(Qmp, TimeSpan.FromSeconds(10));
        return c.Execute(command, arguments);
    }

    public JsonElement QomGet(string path, string property) =>
        Ask(
            "qom-get",
            JsonSerializer.Serialize(new Dictionary<string, string> { ["path"] = path, ["property"] = property })
        );

    /// <summary>vCPU index to thread id, as QEMU reports them.</summary>
    public Dictionary<int, int> VcpuThreads() =>
        Ask("query-cpus-fast")
            .EnumerateArray()
            .ToDictionary(c => c.GetProperty("cpu-index").GetInt32(), c => c.GetProperty("thread-id").GetInt32());

    /// <summary>The kernel's Cpus_allowed_list of one thread of a process.</summary>
    public static string Allowed(int pid, int tid) =>
        File.ReadAllLines($"/proc/{pid}/task/{tid}/status")
            .Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            .Split(':')[1]
            .Trim();

    public void Dispose()
    {
        if (!Directory.Exists($"/proc/{Pid}"))
            return;
        ProcessEvents.Stop(Pid, [(18, TimeSpan.Zero), (9, TimeSpan.FromSeconds(5))]); // CONT, then KILL
    }
}
