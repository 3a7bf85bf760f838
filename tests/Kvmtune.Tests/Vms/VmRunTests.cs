using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Facts.Parsing;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Vms;

/// <summary>vm run, status and stop with a real QEMU under TCG; the text command line parsed back by bash.</summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class VmRunTests : IDisposable
{
    private readonly TestTree _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Vm_run_pins_each_vcpu_thread_where_the_plan_says_and_stop_ends_it()
    {
        Assert.SkipUnless(Processes.OnPath("qemu-system-x86_64"), "qemu-system-x86_64 is not installed");
        var online = CpuList.Parse(File.ReadAllText("/sys/devices/system/cpu/online"));
        Assert.SkipWhen(online.Count < 2, "needs two CPUs");
        var vmCpu = online[^1];
        _dir.File("/vm.yaml", $"name: pin2\nvcpus: 2\nmemory: 128MiB\nhugepages: none\ncpuset: {vmCpu}\n");
        var runDir = _dir.Physical("/run");
        var plan = KvmtuneRunner.Run("vm", "plan", _dir.Physical("/vm.yaml"), "--format", "json");
        using var planDoc = JsonDocument.Parse(plan.Stdout);
        var vm = planDoc.RootElement.GetProperty("vms")[0];
        var planned = vm.GetProperty("vcpu_pins")
            .EnumerateArray()
            .ToDictionary(
                p => p.GetProperty("vcpu").GetInt32(),
                p => CpuList.Format(p.GetProperty("cpus").EnumerateArray().Select(c => c.GetInt32()))
            );
        var emulator = CpuList.Format(vm.GetProperty("emulator_cpus").EnumerateArray().Select(c => c.GetInt32()));
        planned.Values.Should().AllBe(vmCpu.ToString());
        emulator.Should().NotBe(vmCpu.ToString());

        var run = KvmtuneProcess.Run("vm", "run", _dir.Physical("/vm.yaml"), "--accel", "tcg", "--run-dir", runDir);
        run.ExitCode.Should().Be(0, run.Stderr);
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "pin2.json"))).RootElement;
        var pid = state.GetProperty("pid").GetInt32();
        try
        {
            // The kernel's own view of each thread: QEMU names vCPU threads "CPU n/TCG" (debug-threads=on).
            var threads = Directory
                .GetDirectories($"/proc/{pid}/task")
                .Select(d =>
                    (
                        Name: File.ReadAllText(d + "/comm").Trim(),
                        Allowed: File.ReadAllLines(d + "/status")
                            .Single(l => l.StartsWith("Cpus_allowed_list:"))
                            .Split(':')[1]
                            .Trim()
                    )
                )
                .ToList();
            for (var v = 0; v < 2; v++)
                threads.Single(t => t.Name == $"CPU {v}/TCG").Allowed.Should().Be(planned[v], $"vCPU {v}");
            threads
                .Single(t => t.Name == "qemu-system-x86")
                .Allowed.Should()
                .Be(emulator, "the main (emulator) thread");
            var status = KvmtuneRunner.Run("vm", "status", "pin2", "--run-dir", runDir);
            status
                .Stdout.Should()
                .Contain("running")
                .And.Contain("(vcpu 0, as planned)")
                .And.Contain("(vcpu 1, as planned)")
                .And.NotContain("planned ");
        }
        finally
        {
            var stop = KvmtuneRunner.Run("vm", "stop", "pin2", "--run-dir", runDir, "--grace", "1");
            stop.ExitCode.Should().Be(0, stop.Stderr);
        }
        // Gone, or a zombie waiting for its parent (the daemonized QEMU is reparented) to reap it.
        (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z")
            .Should()
            .BeTrue("vm stop ends QEMU");
        KvmtuneRunner.Run("vm", "status", "--run-dir", runDir).Stdout.Should().Contain("no VMs");
    }

    [Fact]
    public void The_text_command_line_parses_back_in_bash_to_the_same_argument_vector()
    {
        var odd = _dir.Physical("/imgs/it's a \"disk\", $(rm -rf x); `y` \\ z.raw");
        _dir.File(
            "/vm.yaml",
            "name: q1\nvcpus: 1\nmemory: 128MiB\nhugepages: none\ndisks:\n  - { path: '"
                + odd.Replace("'", "''")
                + "' }\n"
        );
        var json = KvmtuneRunner.Run("vm", "qemu", _dir.Physical("/vm.yaml"), "--format", "json");
        json.ExitCode.Should().Be(0, json.Stderr);
        var argv = JsonDocument
            .Parse(json.Stdout)
            .RootElement.GetProperty("argv")
            .EnumerateArray()
            .Select(a => a.GetString()!)
            .ToList();
        argv.Should()
            .Contain(a => a.Contains("file=" + odd.Replace(",", ",,") + ","), "QEMU's own syntax doubles the comma");
        var text = KvmtuneRunner.Run("vm", "qemu", _dir.Physical("/vm.yaml")).Stdout;
        var lines = text.Split('\n').Where(l => !l.StartsWith('#')).ToList();
        lines[0].Should().Be("mkdir -p -m 0700 /run/kvmtune && \\", "the QMP socket's folder is made first");
        var command = string.Join('\n', lines.Skip(1));
        // bash is the person pasting it: print each word it sees, NUL-separated.
        var parsed = Processes.Run(
            "bash",
            [
                "-c",
                "set -- "
                    + command.Replace("qemu-system-x86_64", "", StringComparison.Ordinal)
                    + "\nprintf '%s\\0' qemu-system-x86_64 \"$@\"",
            ]
        );
        parsed.ExitCode.Should().Be(0, parsed.Stderr);
        parsed.Stdout.TrimEnd('\0').Split('\0').Should().Equal(argv);
        File.Exists(_dir.Physical("/x")).Should().BeFalse();
    }

    [Theory]
    [InlineData("web 1")]
    [InlineData("web;1")]
    [InlineData("$(id)")]
    [InlineData("a,b")]
    [InlineData("\"q\"")]
    public void Names_with_shell_or_qemu_syntax_are_rejected(string name)
    {
        _dir.File("/vm.yaml", $"name: '{name.Replace("'", "''")}'\nvcpus: 1\nmemory: 128MiB\n");
        var run = KvmtuneRunner.Run("vm", "plan", _dir.Physical("/vm.yaml"));
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("vm.yaml:1: name:");
    }
}
