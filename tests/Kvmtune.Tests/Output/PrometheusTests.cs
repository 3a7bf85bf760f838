using System.Diagnostics;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>The textfile output as Prometheus's own tools see it: promtool, and a real node_exporter on
/// loopback.</summary>
public sealed class PrometheusTests
{
    private static string WriteProm(SyntheticHost h)
    {
        var dir = h.Tree.Physical("/textfile");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "kvmtune.prom");
        KvmtuneRunner
            .Run("audit", "--root", h.Root, "--format", "prometheus", "--output", file)
            .ExitCode.Should()
            .BeOneOf([0, 1]);
        return file;
    }

    [Fact]
    public void Promtool_accepts_the_metrics()
    {
        Assert.SkipUnless(
            Processes.OnPath("promtool"),
            "promtool is not installed (Debian prometheus; test.sh installs it)"
        );
        using var h = new SyntheticHost();
        var file = WriteProm(h);
        var psi = new ProcessStartInfo("promtool")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("check");
        psi.ArgumentList.Add("metrics");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(File.ReadAllText(file));
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.Should().Be(0, output);
    }

    [Fact]
    public async Task Node_exporter_serves_kvmtune_s_series_over_loopback()
    {
        Assert.SkipUnless(
            Processes.OnPath("prometheus-node-exporter"),
            "prometheus-node-exporter is not installed (test.sh installs it)"
        );
        using var h = new SyntheticHost();
        var file = WriteProm(h);
        // Port 0: the kernel picks a free port and node_exporter logs it ("Listening on" address=127.0.0.1:N), so no
        // port is chosen, released and raced for, and the test waits for that line rather than polling.
        var psi = new ProcessStartInfo("prometheus-node-exporter")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (
            var a in new[]
            {
                "--collector.disable-defaults",
                "--collector.textfile",
                $"--collector.textfile.directory={Path.GetDirectoryName(file)}",
                "--web.listen-address=127.0.0.1:0",
            }
        )
            psi.ArgumentList.Add(a);
        using var exporter = Process.Start(psi)!;
        try
        {
            string? address = null;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
            {
                cts.CancelAfter(TimeSpan.FromSeconds(30));
                while (address is null && await exporter.StandardError.ReadLineAsync(cts.Token) is { } line)
                    if (line.Contains("msg=\"Listening on\"", StringComparison.Ordinal))
                        address = line[(line.LastIndexOf("address=", StringComparison.Ordinal) + "address=".Length)..]
                            .Trim();
            }
            address.Should().NotBeNull("node_exporter says where it listens");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var body = await http.GetStringAsync($"http://{address}/metrics", TestContext.Current.CancellationToken);
            body.Should().NotBeNull("node_exporter answered on loopback");
            body.Should().Contain("kvmtune_check{id=\"host.cpu.governor\",section=\"3.2.2\",status=\"fail\"} 1");
            body.Should()
                .Contain("kvmtune_findings{status=\"pass\"}")
                .And.Contain("kvmtune_audit_info{profile=\"balanced\",role=\"host\"} 1");
            body.Should().Contain("node_textfile_scrape_error 0", "node_exporter parsed the file without error");
        }
        finally
        {
            exporter.Kill(true);
            exporter.WaitForExit(5000);
        }
    }
}
