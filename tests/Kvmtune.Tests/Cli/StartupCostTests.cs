using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// Start-up cost as counts that do not depend on the machine's speed (BENCHMARKS.md has the timings): minor page
/// faults, from GNU time's %R, and the files a command opens, from strace. Bounds are generous; they catch a
/// regression such as a return to a PIE image (970 faults) or building every command for every run.
/// </summary>
public sealed class StartupCostTests
{
    private static int MinorFaults(params string[] args)
    {
        var run = Processes.Run("/usr/bin/time", ["-f", "minflt=%R", KvmtuneProcess.Binary, .. args]);
        var line = run.Stderr.Split('\n').Last(l => l.StartsWith("minflt=", StringComparison.Ordinal));
        return int.Parse(line["minflt=".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Version_starts_with_few_page_faults()
    {
        File.Exists("/usr/bin/time").Should().BeTrue("test.sh installs GNU time");
        // 291 measured when this was written (an AOT hello: 195); a PIE image took 970.
        MinorFaults("--version").Should().BeLessThan(450);
    }

    [Fact]
    public void A_read_only_command_opens_only_what_it_reads()
    {
        using var t = new TestTree();
        var log = t.Physical("/trace");
        var run = Processes.Run("strace", ["-f", "-qq", "-o", log, "-e", "trace=openat,openat2,open",
            KvmtuneProcess.Binary, "--version"]);
        run.ExitCode.Should().Be(0, run.Stderr);
        var opens = File.ReadAllLines(log).Count(l => l.Contains("open", StringComparison.Ordinal));
        // The loader's libraries and the .NET runtime's own start (cgroup limits, cache sizes, meminfo for the GC):
        // 27 when this was written. None of kvmtune's readers runs for --version.
        opens.Should().BeLessThan(40, string.Join('\n', File.ReadAllLines(log)));
        File.ReadAllText(log).Should().NotContain("/proc/cpuinfo").And.NotContain("/sys/kernel/mm")
            .And.NotContain("/sys/bus/pci").And.NotContain("/var/lib/dpkg");
    }
}
