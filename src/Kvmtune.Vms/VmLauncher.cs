using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Vms;

/// <summary>A thread of a running VM and the CPUs it is pinned to.</summary>
public sealed record ThreadPin(string Role, int Tid, IReadOnlyList<int> Cpus);

/// <summary>What <c>vm run</c> leaves in the run folder for <c>vm status</c> and <c>vm stop</c>.</summary>
public sealed record RunState(
    string Name,
    int Pid,
    string QmpSocket,
    string Console,
    string Accel,
    IReadOnlyList<ThreadPin> Pins,
    IReadOnlyList<string>? CreatedTaps = null
);

/// <summary>A thread as the kernel reports it now.</summary>
public sealed record ThreadStatus(int Tid, string Name, string? CpusAllowed);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(RunState))]
public sealed partial class RunStateJsonContext : JsonSerializerContext;

/// <summary>
/// Starts QEMU paused in the background, reads its vCPU and I/O thread ids over QMP, pins every thread to its
/// planned CPUs (the rest of QEMU's threads to the emulator CPUs), then lets the guest run.
/// </summary>
public sealed partial class VmLauncher(string runDir)
{
    public string RunDir { get; } = runDir;

    /// <summary>Runs ip(8) for the taps vm run creates and vm stop deletes.</summary>
    public Changes.ProgramRunner Programs { get; init; } = new();

    private string StatePath(string name) => Path.Combine(RunDir, CheckName(name) + ".json");

    private string QmpPath(string name) => Path.Combine(RunDir, CheckName(name) + ".qmp");

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}\\z")]
    private static partial Regex NameRegex();

    public static bool IsName(string name) => NameRegex().IsMatch(name) && name is not ("." or "..");

    /// <summary>The name, if it is a VM name: a name like "../x" must not lead outside the run folder.</summary>
    public static string CheckName(string name) =>
        IsName(name)
            ? name
            : throw new InputException(
                null,
                null,
                "NAME",
                $"'{SafeText.Visible(name)}' is not a VM name "
                    + "(1 to 64 letters, digits, '.', '_' and '-'; not '.' or '..')"
            );

    public RunState Run(VmSpec spec, PlannedVm vm, HostFacts host, string accel, TimeSpan timeout) =>
        Run(VmResolver.Resolve(spec, vm, host, accel), timeout);

    public RunState Run(ResolvedVm resolved, TimeSpan timeout)
    {
        var vm = resolved.Plan;
        var spec = resolved;
        var accel = resolved.Accel;
        Directory.CreateDirectory(RunDir);
        if (TryLoad(spec.Name) is { } old && Alive(old.Pid))
            throw new InvalidOperationException(
                $"{spec.Name} is already running (PID {old.Pid}); 'kvmtune vm stop {spec.Name}' first"
            );
        var qmp = QmpPath(spec.Name);
        var pidFile = Path.Combine(RunDir, spec.Name + ".pid");
        var console = Path.Combine(RunDir, spec.Name + ".console");
        foreach (var f in new[] { qmp, pidFile })
            if (File.Exists(f))
                File.Delete(f);
        var cmd = QemuCommandBuilder.Render(
            resolved,
            new QemuOptions(accel, qmp, console, false, pidFile, Daemonize: true, Paused: true)
        );
        // The taps QEMU will open, multi_queue where a NIC has several queues; deleted again if QEMU does not start.
        var taps = Taps.Prepare(resolved, Programs);
        try
        {
            return Start(resolved, cmd, qmp, pidFile, console, taps, timeout);
        }
        catch
        {
            if (
                !(
                    File.Exists(pidFile)
                    && int.TryParse(File.ReadAllText(pidFile).Trim(), out var started)
                    && Alive(started)
                )
            )
                Taps.Remove(taps, Programs);
            throw;
        }
    }

    private RunState Start(
        ResolvedVm resolved,
        QemuCommand cmd,
        string qmp,
        string pidFile,
        string console,
        IReadOnlyList<string> taps,
        TimeSpan timeout
    )
    {
        var vm = resolved.Plan;
        var spec = resolved;
        var accel = resolved.Accel;
        var psi = new ProcessStartInfo(cmd.Argv[0])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in cmd.Argv.Skip(1))
            psi.ArgumentList.Add(arg);
        using (var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {cmd.Argv[0]}"))
        {
            // With -daemonize the first process exits once the VM is set up (or has failed to be).
            var err = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds))
            {
                p.Kill(true);
                throw new TimeoutException($"QEMU did not finish starting in {timeout.TotalSeconds} s");
            }
            if (p.ExitCode != 0)
                throw new InvalidOperationException(
                    $"QEMU refused the command line (exit {p.ExitCode}): {err.Result.Trim()}"
                );
        }
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        var pins = new List<ThreadPin>();
        using (var client = QmpClient.Connect(qmp, timeout))
        {
            foreach (var cpu in client.Execute("query-cpus-fast").EnumerateArray())
            {
                var index = cpu.GetProperty("cpu-index").GetInt32();
                var tid = cpu.GetProperty("thread-id").GetInt32();
                var plan = vm.VcpuPins.First(x => x.Vcpu == index);
                pins.Add(Pin($"vcpu {index}", tid, plan.Cpus));
            }
            foreach (var io in client.Execute("query-iothreads").EnumerateArray())
            {
                var id = io.GetProperty("id").GetString()!;
                var plan = vm.IothreadPins.FirstOrDefault(x => x.Iothread == id);
                pins.Add(Pin($"iothread {id}", io.GetProperty("thread-id").GetInt32(), plan?.Cpus ?? vm.EmulatorCpus));
            }
            var pinned = pins.Select(x => x.Tid).ToHashSet();
            foreach (
                var task in Directory
                    .GetDirectories($"/proc/{pid}/task")
                    .Select(d => int.Parse(Path.GetFileName(d)))
                    .Where(t => !pinned.Contains(t))
            )
                pins.Add(Pin(task == pid ? "emulator" : "emulator worker", task, vm.EmulatorCpus));
            client.Execute("cont");
        }
        var state = new RunState(spec.Name, pid, qmp, console, accel, pins, taps.Count > 0 ? taps : null);
        File.WriteAllText(StatePath(spec.Name), JsonSerializer.Serialize(state, RunStateJsonContext.Default.RunState));
        return state;
    }

    private static ThreadPin Pin(string role, int tid, IReadOnlyList<int> cpus)
    {
        var errno = NativeSys.SetAffinity(tid, cpus);
        if (errno != 0)
            throw new InvalidOperationException(
                $"cannot pin {role} (thread {tid}) to CPUs {CpuList.Format(cpus)}: {NativeSys.ErrorText(errno)}"
            );
        return new ThreadPin(role, tid, cpus);
    }

    public RunState? TryLoad(string name)
    {
        var path = StatePath(name);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize(InputFile.ReadText(path), RunStateJsonContext.Default.RunState);
        }
        catch (JsonException e)
        {
            throw new InputException(path, null, null, $"not a state file of kvmtune: {e.Message}");
        }
    }

    public IReadOnlyList<RunState> All() =>
        Directory.Exists(RunDir)
            ? Directory
                .GetFiles(RunDir, "*.json")
                .Select(Path.GetFileNameWithoutExtension)
                .OfType<string>()
                .Where(IsName)
                .Select(TryLoad)
                .OfType<RunState>()
                .ToList()
            : [];

    public static bool Alive(int pid) =>
        Directory.Exists($"/proc/{pid}")
        && !(File.ReadAllText($"/proc/{pid}/stat").Split(' ') is { Length: > 2 } f && f[2] == "Z");

    /// <summary>Each thread of the VM's QEMU with the CPUs the kernel lets it run on now.</summary>
    public static IReadOnlyList<ThreadStatus> Threads(int pid)
    {
        var list = new List<ThreadStatus>();
        if (!Directory.Exists($"/proc/{pid}/task"))
            return list;
        foreach (var dir in Directory.GetDirectories($"/proc/{pid}/task").OrderBy(d => int.Parse(Path.GetFileName(d))))
        {
            try
            {
                var status = File.ReadAllLines(dir + "/status");
                var name =
                    status.FirstOrDefault(l => l.StartsWith("Name:", StringComparison.Ordinal))?[5..].Trim() ?? "?";
                var allowed = status
                    .FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
                    ?["Cpus_allowed_list:".Length..].Trim();
                list.Add(new ThreadStatus(int.Parse(Path.GetFileName(dir)), name, allowed));
            }
            catch (IOException) { } // the thread ended while we looked
        }
        return list;
    }

    /// <summary>Stops a VM through QMP: an ACPI power-down first, then quit if the guest does not go in time.</summary>
    public bool Stop(string name, TimeSpan grace, Action<string>? warn = null)
    {
        var state = TryLoad(name) ?? throw new InvalidOperationException($"no VM '{name}' in {RunDir}");
        if (Alive(state.Pid))
        {
            // The socket kvmtune made for this name, not whatever path the state file holds.
            using var client = QmpClient.Connect(QmpPath(name), TimeSpan.FromSeconds(5));
            client.Execute("system_powerdown");
            var deadline = DateTime.UtcNow + grace;
            while (Alive(state.Pid) && DateTime.UtcNow < deadline)
                Thread.Sleep(50);
            if (Alive(state.Pid))
            {
                try
                {
                    client.Execute("quit");
                }
                catch (IOException) { }
                deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
                while (Alive(state.Pid) && DateTime.UtcNow < deadline)
                    Thread.Sleep(50);
            }
        }
        var stopped = !Alive(state.Pid);
        if (stopped)
            foreach (var problem in Taps.Remove(state.CreatedTaps ?? [], Programs))
                warn?.Invoke($"{name}: tap {problem}");
        if (stopped)
            foreach (var f in new[] { StatePath(name), QmpPath(name), Path.Combine(RunDir, name + ".pid") })
                if (File.Exists(f))
                    File.Delete(f);
        return stopped;
    }
}
