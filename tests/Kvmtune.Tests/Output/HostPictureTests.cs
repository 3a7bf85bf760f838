using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>The host picture and the HTML report: legible from 2 to 448 CPUs, and what a browser really
/// shows.</summary>
public sealed class HostPictureTests(FixtureTrees fixtures)
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>An 8-node host of 28 two-thread cores per node: 448 CPUs.</summary>
    internal static TestTree LargeHost()
    {
        var t = new TestTree();
        for (var n = 0; n < 8; n++)
        {
            var first = n * 56;
            t.File($"/sys/devices/system/node/node{n}/cpulist", $"{first}-{first + 55}\n")
                .File(
                    $"/sys/devices/system/node/node{n}/meminfo",
                    $"Node {n} MemTotal: 134217728 kB\nNode {n} MemFree: 120000000 kB\n"
                );
            for (var c = 0; c < 28; c++)
                foreach (var cpu in new[] { first + c, first + 28 + c })
                    t.File(
                            $"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list",
                            $"{first + c},{first + 28 + c}\n"
                        )
                        .File($"/sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id", $"{n / 2}\n");
        }
        t.File("/sys/devices/system/cpu/online", "0-447\n");
        return t;
    }

    private static void AssertLegible(string svg, int nodes, IEnumerable<int> cpus)
    {
        var doc = XDocument.Parse(svg);
        var boxes = new List<(int Node, double X, double Y, double W, double H)>();
        foreach (var g in doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "numa-node"))
        {
            var translate = Regex.Match((string)g.Parent!.Attribute("transform")!, @"translate\(([\d.]+),([\d.]+)\)");
            var (x, y) = (
                double.Parse(translate.Groups[1].Value, CultureInfo.InvariantCulture),
                double.Parse(translate.Groups[2].Value, CultureInfo.InvariantCulture)
            );
            var rect = g.Elements(Svg + "rect").First();
            var box = (
                (int)g.Attribute("data-node")!,
                x,
                y,
                (double)rect.Attribute("width")!,
                (double)rect.Attribute("height")!
            );
            boxes.Add(box);
            foreach (var cpu in g.Descendants(Svg + "rect").Where(r => r.Attribute("data-cpu") is not null))
            {
                var cx = (double)cpu.Attribute("x")!;
                var cy = (double)cpu.Attribute("y")!;
                (
                    cx >= 0
                    && cy >= 0
                    && cx + (double)cpu.Attribute("width")! <= box.Item4
                    && cy + (double)cpu.Attribute("height")! <= box.Item5
                )
                    .Should()
                    .BeTrue($"CPU {cpu.Attribute("data-cpu")} lies inside node {box.Item1}'s box");
            }
        }
        boxes.Should().HaveCount(nodes);
        for (var i = 0; i < boxes.Count; i++)
            for (var j = i + 1; j < boxes.Count; j++)
            {
                var (a, b) = (boxes[i], boxes[j]);
                var apart = a.X + a.W <= b.X || b.X + b.W <= a.X || a.Y + a.H <= b.Y || b.Y + b.H <= a.Y;
                apart.Should().BeTrue($"nodes {a.Node} and {b.Node} do not overlap");
            }
        var ids = doc.Descendants(Svg + "rect")
            .Select(r => (string?)r.Attribute("data-cpu"))
            .OfType<string>()
            .Select(int.Parse)
            .ToList();
        ids.Should().BeEquivalentTo(cpus, "every CPU is drawn once");
        foreach (Match m in Regex.Matches(svg, @"font-size: (\d+)px"))
            int.Parse(m.Groups[1].Value).Should().BeGreaterThanOrEqualTo(11, "text readable at 100%");
    }

    [Fact]
    public void The_picture_of_a_448_cpu_host_has_every_cpu_and_nothing_overlaps()
    {
        using var t = LargeHost();
        var run = KvmtuneRunner.Run("inspect", "--format", "svg", "--root", t.Root);
        run.ExitCode.Should().Be(0, run.Stderr);
        AssertLegible(run.Stdout, 8, Enumerable.Range(0, 448));
    }

    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void Every_fixture_draws_legibly(string name)
    {
        var facts = Kvmtune.Facts.Host.HostFacts.Read(new Kvmtune.Facts.IO.HostReader(fixtures.Root(name)));
        var svg = KvmtuneRunner.Run("inspect", "--format", "svg", "--root", fixtures.Root(name)).Stdout;
        AssertLegible(svg, facts.Numa.Nodes.Count, facts.Numa.Nodes.SelectMany(n => n.Cpus));
    }

    [Fact]
    public void This_small_guest_draws_legibly() =>
        AssertLegible(
            KvmtuneRunner.Run("inspect", "--format", "svg").Stdout,
            Kvmtune.Facts.Host.HostFacts.Read(new Kvmtune.Facts.IO.HostReader("/")).Numa.Nodes.Count,
            Kvmtune.Facts.Host.HostFacts.Read(new Kvmtune.Facts.IO.HostReader("/")).Numa.Nodes.SelectMany(n => n.Cpus)
        );

    [Fact]
    public void Headless_chromium_shows_every_node_cpu_and_vm_of_the_report_without_console_errors()
    {
        Assert.SkipUnless(Processes.OnPath("chromium"), "chromium is not installed (test.sh installs it)");
        using var t = LargeHost();
        t.File(
            "/plan.yaml",
            "name: db1\nvcpus: 8\nmemory: 16GiB\nhugepages: none\ndedicated_cpus: true\n---\nname: web1\nvcpus: " +
                "4\nmemory: 8GiB\nhugepages: none\nnuma_node: 5\n"
        );
        var html = t.Physical("/report.html");
        var audit = KvmtuneRunner.Run(
            "audit",
            "--root",
            t.Root,
            "--role",
            "host",
            "--format",
            "html",
            "--plan",
            t.Physical("/plan.yaml"),
            "--output",
            html
        );
        audit.ExitCode.Should().BeOneOf([0, 1], audit.Stderr);
        var text = File.ReadAllText(html);
        // Self-contained: nothing fetched (the SVG namespace URI is a name, not a fetch).
        Regex
            .IsMatch(text, @"<script|<link |@import|(src|href)\s*=\s*""https?:")
            .Should()
            .BeFalse("the report fetches no script, style, font or image");
        var chrome = new[]
        {
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            $"--user-data-dir={t.Physical("/chrome")}",
            "--enable-logging=stderr",
            "--v=0",
        };
        var dom = Processes.Run("chromium", [.. chrome, "--dump-dom", "file://" + html], timeoutMs: 120_000);
        dom.ExitCode.Should().Be(0, dom.Stderr);
        dom.Stderr.Should().NotContain("CONSOLE", "the page logs nothing to the console");
        for (var n = 0; n < 8; n++)
            dom.Stdout.Should().Contain($"id=\"node-{n}\"");
        for (var c = 0; c < 448; c++)
            dom.Stdout.Should().Contain($"id=\"cpu-{c}\"");
        dom.Stdout.Should().Contain("data-vm=\"db1\"").And.Contain("data-vm=\"web1\"");
        var png = t.Physical("/shot.png");
        var shot = Processes.Run(
            "chromium",
            [.. chrome, "--hide-scrollbars", "--window-size=1500,1400", $"--screenshot={png}", "file://" + html],
            timeoutMs: 120_000
        );
        shot.ExitCode.Should().Be(0, shot.Stderr);
        File.ReadAllBytes(png)
            .Take(8)
            .Should()
            .Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG screenshot was taken");
    }
}
