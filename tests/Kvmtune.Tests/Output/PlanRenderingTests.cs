using System.Net;
using System.Text.Json;
using System.Xml.Linq;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>
/// <c>vm plan</c> (text and JSON) and the HTML picture of planned VMs are renderings of the resolved VM model: what
/// they say of a VM is what its QEMU command line does, the housekeeping CPUs are those the kernel command line
/// leaves out of nohz_full, and the kvmtune.plan/v1 fields of the contract (shared/spec/cli.md) are all there.
/// </summary>
public sealed class PlanRenderingTests
{
    private const string Specs =
        "name: db1\nvcpus: 2\nmemory: 2GiB\nworkload: latency\nhugepages: 1GiB\n"
        + "disks:\n  - { path: /var/lib/images/db1.raw, iothread: true }\n---\n"
        + "name: big\nvcpus: 2\nmemory: 4GiB\nhugepages: 1GiB\nnuma_node: 1\ndedicated_cpus: false\n";

    /// <summary>Two nodes; node 0 holds 2 free 1 GiB pages, node 1 none; nohz_full leaves CPUs 0 and 4 to the
    /// host.</summary>
    private static SyntheticHost Host()
    {
        var h = new SyntheticHost();
        h.Set("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages", "2")
            .Set("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages", "2")
            .Set("/proc/cmdline", "root=/dev/sda1 ro nohz_full=1-3,5-7");
        h.Tree.File("/vm.yaml", Specs);
        return h;
    }

    [Fact]
    public void Plan_json_keeps_the_v1_fields_and_its_decisions_are_what_the_qemu_argv_does()
    {
        using var h = Host();
        var spec = h.Tree.Physical("/vm.yaml");
        var plan = KvmtuneRunner.Run("vm", "plan", spec, "--format", "json", "--accel", "tcg", "--root", h.Root);
        plan.ExitCode.Should().Be(1, "big does not fit: " + plan.Stderr);
        var doc = JsonDocument.Parse(plan.Stdout).RootElement;
        doc.GetProperty("schema").GetString().Should().Be("kvmtune.plan/v1");
        var vm = doc.GetProperty("vms").EnumerateArray().Single();
        foreach (
            var field in new[]
            {
                "name",
                "nodes",
                "vcpu_pins",
                "emulator_cpus",
                "iothread_pins",
                "memory",
                "devices",
                "reasons",
            }
        )
            vm.TryGetProperty(field, out _).Should().BeTrue($"{field} is in the contract");
        var unplaced = doc.GetProperty("unplaced").EnumerateArray().Single();
        unplaced.GetProperty("name").GetString().Should().Be("big");
        unplaced.GetProperty("reason").GetString().Should().Contain("node 1: 0 free 1 GiB pages, needs 4");

        var qemu = KvmtuneRunner.Run(
            "vm",
            "qemu",
            spec,
            "--name",
            "db1",
            "--format",
            "json",
            "--accel",
            "tcg",
            "--root",
            h.Root
        );
        var argv = JsonDocument
            .Parse(qemu.Stdout)
            .RootElement.GetProperty("argv")
            .EnumerateArray()
            .Select(a => a.GetString()!)
            .ToList();
        string Arg(string option) => argv[argv.IndexOf(option) + 1];
        // The tree's dpkg says QEMU 7.2: its versioned q35 is pc-q35-7.2 (QEMU's machine naming).
        vm.GetProperty("machine").GetString().Should().Be("pc-q35-7.2");
        Arg("-machine").Should().StartWith("pc-q35-7.2,accel=tcg,");
        var decisions = vm.GetProperty("decisions")
            .EnumerateArray()
            .Select(d =>
                (
                    Subject: d.GetProperty("subject").GetString()!,
                    Choice: d.GetProperty("choice").GetString()!,
                    Why: d.GetProperty("why").GetString()!,
                    Adjusted: d.GetProperty("adjusted").GetBoolean()
                )
            )
            .ToList();
        decisions.Should().Contain(("cpu", "max", "the host CPU model needs KVM", true));
        Arg("-cpu").Should().Be("max", "under TCG: no host model and no kvm-hint-dedicated");
        decisions.Should().Contain(d => d.Subject == "cpu" && d.Choice == "no kvm-hint-dedicated" && d.Adjusted);
        decisions.Should().Contain(d => d.Subject == "disk 0" && d.Choice == "num-queues=2");
        argv.Should().Contain(a => a.StartsWith("virtio-blk-pci,") && a.Contains("num-queues=2"));
        vm.GetProperty("uuid").GetString().Should().Be(Arg("-uuid"));
        doc.GetProperty("housekeeping_cpus").EnumerateArray().Select(c => c.GetInt32()).Should().Equal(0, 4);

        // The text says the same, decision by decision.
        var text = KvmtuneRunner.Run("vm", "plan", spec, "--accel", "tcg", "--root", h.Root).Stdout;
        foreach (var d in decisions)
            text.Should().Contain($"  {(d.Adjusted ? "adjusted" : "decision")}: {d.Subject}: {d.Choice} ({d.Why})\n");
        text.Should()
            .Contain("  fix: reserve 4 1 GiB pages on node 1 (its pool from 0 to 4 pages")
            .And.Contain(": kvmtune apply --hugepages 1:1G:4\n");
    }

    [Fact]
    public void The_html_report_draws_the_plan_s_cpus_lists_each_decision_and_the_fix_of_an_unplaced_vm()
    {
        using var h = Host();
        var html = h.Tree.Physical("/report.html");
        var audit = KvmtuneRunner.Run(
            "audit",
            "--root",
            h.Root,
            "--role",
            "host",
            "--format",
            "html",
            "--plan",
            h.Tree.Physical("/vm.yaml"),
            "--output",
            html
        );
        audit.ExitCode.Should().BeOneOf([0, 1], audit.Stderr);
        var text = File.ReadAllText(html);
        var plan = JsonDocument
            .Parse(
                KvmtuneRunner
                    .Run("vm", "plan", h.Tree.Physical("/vm.yaml"), "--format", "json", "--root", h.Root)
                    .Stdout
            )
            .RootElement;
        var vm = plan.GetProperty("vms")[0];
        foreach (var d in vm.GetProperty("decisions").EnumerateArray())
            text.Should().Contain(WebUtility.HtmlEncode(d.GetProperty("why").GetString()!));
        text.Should().Contain("id=\"planned-vms\"").And.Contain("<code>kvmtune apply --hugepages 1:1G:4</code>");

        var svg = XDocument.Parse(
            text[text.IndexOf("<svg", StringComparison.Ordinal)..(text.IndexOf("</svg>", StringComparison.Ordinal) + 6)]
        );
        XNamespace ns = "http://www.w3.org/2000/svg";
        var cpus = svg.Descendants(ns + "rect")
            .Where(r => r.Attribute("data-cpu") is not null)
            .ToDictionary(r => int.Parse(r.Attribute("data-cpu")!.Value), r => r);
        // nohz_full=1-3,5-7: the kernel keeps 0 and 4 for itself, the housekeeping CPUs.
        cpus.Where(c => c.Value.Attribute("class")!.Value.Contains("housekeeping"))
            .Select(c => c.Key)
            .Order()
            .Should()
            .Equal(0, 4);
        var pinned = vm.GetProperty("vcpu_pins")
            .EnumerateArray()
            .SelectMany(p => p.GetProperty("cpus").EnumerateArray())
            .Select(c => c.GetInt32())
            .ToList();
        cpus.Where(c => c.Value.Attribute("data-vm")?.Value == "db1")
            .Select(c => c.Key)
            .Order()
            .Should()
            .Equal(pinned.Order());
        text.Should().Contain("class=\"sub unplaced\" data-vm=\"big\"");
    }
}
