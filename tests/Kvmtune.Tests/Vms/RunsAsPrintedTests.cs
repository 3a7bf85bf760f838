using AwesomeAssertions;
using Kvmtune.Tests.Support;
using Kvmtune.Vms;

namespace Kvmtune.Tests.Vms;

/// <summary>The text `vm qemu` prints, pasted into bash as it is, on a host without the QMP socket's folder.</summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class RunsAsPrintedTests : IDisposable
{
    private readonly string _dir = Path.Combine(
        "/var/tmp",
        $"kvmtune-print-{Environment.ProcessId}-{Guid.NewGuid():N}"[..38]
    );

    public RunsAsPrintedTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_printed_command_line_starts_qemu_where_the_run_folder_does_not_exist_yet()
    {
        var runDir = Path.Combine(_dir, "run", "kvmtune");
        File.WriteAllText(Path.Combine(_dir, "vm.yaml"), "name: printed\nvcpus: 1\nmemory: 128MiB\nhugepages: none\n");
        var text = KvmtuneRunner.Run(
            "vm",
            "qemu",
            Path.Combine(_dir, "vm.yaml"),
            "--accel",
            "tcg",
            "--run-dir",
            runDir
        );
        text.ExitCode.Should().Be(0, text.Stderr);
        Directory.Exists(runDir).Should().BeFalse("printing makes nothing");
        text.Stdout.Should().Contain("taskset -pc", "the pinning that vm run would do is spelled out");
        var script = Path.Combine(_dir, "printed.sh");
        // Exactly as printed, then the guest is left to run in the background for the check.
        File.WriteAllText(script, text.Stdout.TrimEnd() + " &\n");
        var bash = new System.Diagnostics.ProcessStartInfo("bash", [script])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        using var shell = System.Diagnostics.Process.Start(bash)!;
        var qmp = Path.Combine(runDir, "printed.qmp");
        using (var client = QmpClient.Connect(qmp, TimeSpan.FromSeconds(30)))
        {
            client.Execute("query-status").GetProperty("running").GetBoolean().Should().BeTrue();
            client.Execute("quit");
        }
        shell.WaitForExit(10_000).Should().BeTrue();
        shell.ExitCode.Should().Be(0, shell.StandardError.ReadToEnd());
    }
}
