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
    [Fact]
    public void Version_starts_with_few_page_faults()
    {
        File.Exists("/usr/bin/time").Should().BeTrue("test.sh installs GNU time");
        // Issue 15's target is under 300. 244 measured when --version began to answer before the command tree (an
        // AOT hello: 196; 306 through System.CommandLine; 970 as a PIE image); 206 once it wrote with write(2)
        // instead of through the console (its set-up starts a thread and reads terminfo).
        Measured.MinorFaults("--version").Faults.Should().BeLessThan(270);
    }

    [Fact]
    public void Version_answered_early_is_the_built_version()
    {
        // --version alone skips System.CommandLine (Program.cs); it must still print what the build says.
        var props = File.ReadAllText(Path.Combine(Paths.RepoRoot, "Directory.Build.props"));
        var start = props.IndexOf("<Version>", StringComparison.Ordinal) + "<Version>".Length;
        var version = props[start..props.IndexOf("</Version>", start, StringComparison.Ordinal)];
        var run = Processes.Run(KvmtuneProcess.Binary, "--version");
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().Be(version + "\n");
        Processes.Run(KvmtuneProcess.Binary, "--version", "--help").Stdout.Should().Contain("Usage:");
    }

    [Fact]
    public void Vm_plan_starts_only_the_installed_qemu_once()
    {
        // The plan shows the resolved VM's machine type, which only `qemu-system-x86_64 -machine help` knows; that
        // one program, once, is all a plan may start. strace sees every execve of the process tree.
        using var t = new TestTree();
        var spec = t.Physical("/vm.yaml");
        File.WriteAllText(spec, "name: small\nvcpus: 1\nmemory: 64MiB\nhugepages: none\n");
        var log = t.Physical("/trace");
        var run = Processes.Run(
            "strace",
            ["-f", "-qq", "-o", log, "-e", "trace=execve,execveat", KvmtuneProcess.Binary, "vm", "plan", spec]
        );
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        var execs = File.ReadAllLines(log).Where(l => l.Contains("execve(", StringComparison.Ordinal)).ToList();
        execs.Should().HaveCount(2, File.ReadAllText(log));
        execs[1].Should().Contain("qemu-system-x86_64").And.Contain("\"-machine\", \"help\"");
    }

    [Fact]
    public void A_read_only_command_opens_only_what_it_reads()
    {
        var (run, paths) = Measured.Opens("--version");
        run.ExitCode.Should().Be(0, run.Stderr);
        var trace = string.Join('\n', paths);
        var opens = paths.Length;
        // The loader's libraries and the .NET runtime's own start (cgroup limits, cache sizes, meminfo for the GC):
        // 27 when this was written. None of kvmtune's readers runs for --version.
        opens.Should().BeLessThan(40, trace);
        trace
            .Should()
            .NotContain("/proc/cpuinfo")
            .And.NotContain("/sys/kernel/mm")
            .And.NotContain("/sys/bus/pci")
            .And.NotContain("/var/lib/dpkg");
    }
}

/// <summary>
/// Issue #15: a command reads only the subsystems it uses. The files each opens, from strace, on the same tree: the
/// planner needs CPUs, nodes and huge pages, not the CPUs' governors, idle states or interrupts, which the audit
/// (the positive control) does read; the IRQs' names only inspect reads.
/// </summary>
public sealed class ReadOnlyWhatItUsesTests
{
    // One path a line, each ending the line: "name\n" is a whole last component.
    private static string Opens(params string[] args)
    {
        var (run, paths) = Measured.Opens(args);
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        return string.Concat(paths.Select(p => p + "\n"));
    }

    [Fact]
    public void Vm_plan_reads_no_governor_idle_state_or_interrupt_and_the_audit_no_irq_name()
    {
        using var h = new SyntheticHost();
        using var t = new TestTree();
        var spec = t.Physical("/vm.yaml");
        File.WriteAllText(spec, "name: small\nvcpus: 1\nmemory: 64MiB\nhugepages: none\n");
        var plan = Opens("vm", "plan", spec, "--root", h.Root);
        plan.Should().Contain("/topology/thread_siblings\n", "the planner groups CPUs into cores");
        plan.Should()
            .NotContain("/cpufreq/")
            .And.NotContain("/cpuidle/")
            .And.NotContain("proc/interrupts")
            .And.NotContain("energy_perf_bias");
        var audit = Opens("audit", "--format", "json", "--root", h.Root);
        audit.Should().Contain("/cpufreq/").And.Contain("/cpuidle/").And.Contain("/proc/irq/121/");
        // The IRQs' names, from a file with a count column per CPU, are read for inspect only.
        audit.Should().NotContain("proc/interrupts");
        Opens("inspect", "--format", "json", "--root", h.Root).Should().Contain("proc/interrupts");
    }
}

/// <summary>What a short inspect pays on top of the runtime's start, as page faults (BENCHMARKS.md has the times).
/// </summary>
public sealed class InspectStartupCostTests(FixtureTrees fixtures)
{
    [Fact]
    public void Inspect_of_a_small_tree_builds_no_serializer_metadata_and_reads_no_resources()
    {
        // 370 measured on the 8-CPU fixture with the document written field by field and the command tree built
        // without System.CommandLine's reflection; 528 before (serializer metadata for every type, RootCommand's
        // and ResourceManager's attribute reads, a 192 KiB stdout buffer); 333 with no console set-up, no text
        // writers and no escaping tables for a document of plain ASCII. --version alone: about 206.
        var root = fixtures.Root("8em64t-2s2ca2c");
        var (run, faults) = Measured.MinorFaults("inspect", "--format", "json", "--root", root);
        run.ExitCode.Should().Be(0, run.Stderr);
        faults.Should().BeLessThan(400);
    }

    [Fact]
    public void A_kernel_of_4096_bit_masks_costs_no_string_per_word_and_no_failed_open_per_cpu()
    {
        // hwloc's 128ia64 corpus tree: a kernel built for 4,096 CPUs prints 128 hex words in every CPU's
        // thread_siblings and has none of the _list files. 945 faults when masks were split into a string per
        // word and each CPU tried thread_siblings_list and core_cpus_list first; 686 measured after.
        var root = fixtures.Root("128ia64-17n4s2c");
        string[] inspect = ["inspect", "--format", "json", "--root", root];
        var (traced, opens) = Measured.Opens(inspect);
        traced.ExitCode.Should().Be(0, traced.Stderr);
        opens.Where(p => p.EndsWith("_list", StringComparison.Ordinal)).Should().BeEmpty();
        opens.Count(p => p.EndsWith("/topology/thread_siblings", StringComparison.Ordinal)).Should().Be(128);
        var (run, faults) = Measured.MinorFaults(inspect);
        run.ExitCode.Should().Be(0, run.Stderr);
        faults.Should().BeLessThan(800);
    }

    [Fact]
    public void A_document_on_stdout_sets_up_no_console()
    {
        // System.Console's first write starts a signal-handling thread, installs handlers for SIGINT, SIGQUIT,
        // SIGCONT, SIGCHLD, SIGWINCH and SIGURG and asks whether stdin is a terminal; a command that only writes
        // its document needs none of it. The kernel's view, from strace: one thread (the runtime's finalizer) and
        // none of those calls.
        var root = fixtures.Root("8em64t-2s2ca2c");
        var (run, calls) = Measured.Traced(
            "clone,clone3,rt_sigaction,ioctl,pipe2",
            "inspect",
            "--format",
            "json",
            "--root",
            root
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stdout.Should().StartWith("{");
        var trace = string.Join('\n', calls);
        calls.Count(l => l.Contains("clone", StringComparison.Ordinal)).Should().Be(1, trace);
        calls.Should().NotContain(l => l.Contains("SIGINT", StringComparison.Ordinal), trace);
        calls.Should().NotContain(l => l.Contains("SIGCHLD", StringComparison.Ordinal), trace);
        calls.Should().NotContain(l => l.Contains("ioctl(0,", StringComparison.Ordinal), trace);
        calls.Should().NotContain(l => l.Contains("pipe2", StringComparison.Ordinal), trace);
    }
}

/// <summary>
/// Interface calls resolved while a command runs (issue #15): the first call from each call site to each type goes
/// through the runtime's resolver, which looks the method up, allocates the site's cache and writes its cell in the
/// image's data (a copy-on-write page fault). LINQ and enumerators over interfaces multiply them: their code is shared
/// by every element type and resolves its calls again for each: 5.8% of a short inspect's samples before they were
/// halved (BENCHMARKS.md). Counted by the kernel (<see cref="Measured.Resolutions"/>).
/// </summary>
public sealed class DispatchResolutionTests(FixtureTrees fixtures)
{
    [Fact]
    public void Version_resolves_next_to_none()
    {
        var (run, resolutions) = Measured.Resolutions("--version");
        run.ExitCode.Should().Be(0, run.Stderr);
        // 2: the runtime's own start. Also the control that the probe counts at all.
        resolutions.Should().BeInRange(1, 10);
    }

    [Fact]
    public void Inspect_of_a_small_tree_resolves_few_interface_calls()
    {
        // 318 with LINQ and enumerators over interfaces in the readers and the writer; 157 with loops, listings
        // enumerated as lists and the writer's lists by index.
        var (run, resolutions) = Measured.Resolutions(
            "inspect",
            "--format",
            "json",
            "--root",
            fixtures.Root("8em64t-2s2ca2c")
        );
        run.ExitCode.Should().Be(0, run.Stderr);
        resolutions.Should().BeLessThan(200);
    }

    [Fact]
    public void Audit_of_a_small_tree_resolves_few_interface_calls()
    {
        // 858 when each choice setting and spelling of the profiles checked itself with LINQ at start; 442 after.
        var (run, resolutions) = Measured.Resolutions(
            "audit",
            "--format",
            "json",
            "--root",
            fixtures.Root("8em64t-2s2ca2c")
        );
        run.ExitCode.Should().BeOneOf([0, 1], run.Stderr);
        resolutions.Should().BeLessThan(520);
    }

    [Fact]
    public void Listing_the_profiles_resolves_few_interface_calls()
    {
        // 369 before the profiles' settings checked themselves with loops; 49 after.
        var (run, resolutions) = Measured.Resolutions("profiles", "list");
        run.ExitCode.Should().Be(0, run.Stderr);
        resolutions.Should().BeLessThan(80);
    }
}
