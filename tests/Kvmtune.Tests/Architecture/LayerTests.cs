using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AwesomeAssertions;
using NetArchTest.Rules;

namespace Kvmtune.Tests.Architecture;

/// <summary>
/// The rules a compiler cannot state: project references already forbid a backward reference between assemblies,
/// these keep the namespaces inside them, the places that print, start programs or read files, and the absence of
/// static mutable state. Each rule has a positive control, so a rule that matches nothing cannot pass by accident.
/// </summary>
public sealed class LayerTests
{
    /// <summary>Lowest first: a layer may use the layers before it, never one after it
    /// (docs/architecture.md).</summary>
    private static readonly string[] Layers =
    [
        "Kvmtune.Facts",
        "Kvmtune.Guide",
        "Kvmtune.Changes",
        "Kvmtune.Vms",
        "Kvmtune.Reports",
        "Kvmtune.Cli",
    ];

    private static readonly Assembly[] Assemblies =
    [
        typeof(global::Kvmtune.Facts.Host.HostFacts).Assembly,
        typeof(global::Kvmtune.Guide.Audit.Auditor).Assembly,
        typeof(global::Kvmtune.Changes.ChangeLayer).Assembly,
        typeof(global::Kvmtune.Vms.Planner).Assembly,
        typeof(global::Kvmtune.Reports.Fleet.FleetReport).Assembly,
        typeof(global::Kvmtune.Cli.KvmtuneCli).Assembly,
    ];

    private static Types All => Types.InAssemblies(Assemblies);

    public static TheoryData<int> LayerIndexes => [.. Enumerable.Range(0, Layers.Length)];

    [Theory]
    [MemberData(nameof(LayerIndexes))]
    public void A_layer_uses_no_layer_above_it(int index)
    {
        var above = Layers[(index + 1)..];
        if (above.Length == 0)
            return;
        var result = All.That()
            .ResideInNamespaceMatching(Under(Layers[index]))
            .Should()
            .NotHaveDependencyOnAny(above)
            .GetResult();
        Failing(result).Should().BeEmpty($"{Layers[index]} may use only {string.Join(", ", Layers[..index])}");
    }

    [Fact]
    public void The_dependency_check_sees_dependencies()
    {
        // Positive controls: each layer does use the one below, so the rule above can fail.
        for (var i = 1; i < Layers.Length; i++)
            All.That()
                .ResideInNamespaceMatching(Under(Layers[i]))
                .Should()
                .NotHaveDependencyOnAny(Layers[i - 1])
                .GetResult()
                .IsSuccessful.Should()
                .BeFalse($"{Layers[i]} uses {Layers[i - 1]}");
    }

    [Fact]
    public void Only_the_command_line_prints()
    {
        var result = All.That()
            .ResideInNamespaceMatching(Under("Kvmtune"))
            .And()
            .DoNotResideInNamespaceMatching(Under("Kvmtune.Cli"))
            .Should()
            .NotHaveDependencyOnAny("System.Console")
            .GetResult();
        Failing(result).Should().BeEmpty("facts, guide, changes, VMs and reports return text; the CLI prints it");
        All.That()
            .ResideInNamespaceMatching(Under("Kvmtune.Cli"))
            .Should()
            .NotHaveDependencyOnAny("System.Console")
            .GetResult()
            .IsSuccessful.Should()
            .BeFalse("the CLI does print");
    }

    [Fact]
    public void Guide_rules_read_nothing_themselves()
    {
        // A rule is a pure function of facts and a profile: what it may look at was read (and remembered for
        // snapshot) by the facts layer, so an audit of a snapshot equals the live one.
        string[] io =
        [
            "Kvmtune.Facts.IO",
            "System.IO.File",
            "System.IO.Directory",
            "System.IO.FileStream",
            "System.IO.FileInfo",
            "System.IO.DirectoryInfo",
            "System.Diagnostics.Process",
            "System.Net",
        ];
        var result = All.That()
            .ResideInNamespaceMatching(Under("Kvmtune.Guide.Sections"))
            .Should()
            .NotHaveDependencyOnAny(io)
            .GetResult();
        Failing(result).Should().BeEmpty();
        All.That()
            .ResideInNamespaceMatching(Under("Kvmtune.Facts.Host"))
            .Should()
            .NotHaveDependencyOnAny(io)
            .GetResult()
            .IsSuccessful.Should()
            .BeFalse("the readers do read");
    }

    [Fact]
    public void Programs_are_started_only_where_their_argument_vectors_are_fixed()
    {
        string[] allowed =
        [
            "Kvmtune.Changes.ProgramRunner", // apply's fixed programs (update-grub, modprobe, ndctl, mount ...)
            "Kvmtune.Vms.VmLauncher", // qemu-system-x86_64 from the installed package, vm run
            "Kvmtune.Vms.Virsh", // virsh define/start, vm libvirt --define and vm run --libvirt
            "Kvmtune.Vms.QemuInstall", // qemu-system-x86_64 -machine help: the versioned machine type
            "Kvmtune.Cli.LauncherCheck", // execv: sh and the ./kvmtune of the repository this binary was built in
        ];
        var starters = Assemblies
            .SelectMany(a => a.GetTypes())
            .Where(t => t.Namespace?.StartsWith("Kvmtune", StringComparison.Ordinal) == true)
            .Select(t => t.FullName!)
            .ToHashSet(StringComparer.Ordinal);
        // Started as a child, or in kvmtune's own place (execv).
        var result = All.That()
            .HaveDependencyOnAny("System.Diagnostics.ProcessStartInfo", "Kvmtune.Facts.IO.NativeExec")
            .GetTypes();
        var outside = result
            .Select(t => Outer(t.FullName))
            .Where(n => starters.Contains(n) && !allowed.Contains(n))
            .Distinct()
            .ToList();
        outside.Should().BeEmpty("every program kvmtune starts is named in code, with an argument vector");
        result.Should().NotBeEmpty("kvmtune does start programs");
    }

    [Fact]
    public void Only_NativeExec_imports_the_C_calls_that_replace_or_copy_the_process()
    {
        // The calls of unistd.h, spawn.h and stdlib.h that run another program without ProcessStartInfo. (A raw
        // syscall(2) number is not seen here; NativeSys imports syscall for openat2 only.)
        string[] calls =
        [
            "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "fexecve", "execveat", "fork",
            "vfork", "clone", "clone3", "posix_spawn", "posix_spawnp", "system", "popen",
        ];
        const BindingFlags everyMethod =
            BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic
            | BindingFlags.DeclaredOnly;
        var importers = Assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(everyMethod))
            .Where(m => m.Attributes.HasFlag(MethodAttributes.PinvokeImpl))
            .Where(m => calls.Contains(m.GetCustomAttribute<DllImportAttribute>()?.EntryPoint ?? m.Name))
            .Select(m => m.DeclaringType!.FullName)
            .Distinct()
            .ToList();
        importers.Should().Equal(["Kvmtune.Facts.IO.NativeExec"], "execv is imported once, for the launcher's check");
    }

    [Fact]
    public void No_static_mutable_state()
    {
        var offenders = new List<string>();
        foreach (var type in Assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.IsDefined(typeof(CompilerGeneratedAttribute), false) || type.FullName!.Contains('<'))
                continue;
            foreach (
                var f in type.GetFields(
                    BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly
                )
            )
            {
                if (f.IsLiteral || f.IsDefined(typeof(CompilerGeneratedAttribute), false) || f.Name.Contains('<'))
                    continue;
                if (!f.IsInitOnly)
                    offenders.Add($"{type.FullName}.{f.Name} is not readonly");
                else if (IsMutableCollection(f.FieldType) || (f.FieldType.IsArray && !f.IsPrivate))
                    offenders.Add($"{type.FullName}.{f.Name} is a readonly reference to a mutable {f.FieldType.Name}");
            }
        }
        offenders.Should().BeEmpty(string.Join("; ", offenders));
    }

    [Fact]
    public void Host_facts_are_immutable()
    {
        var records = typeof(global::Kvmtune.Facts.Host.HostFacts)
            .Assembly.GetTypes()
            .Where(t =>
                t.Namespace?.StartsWith("Kvmtune.Facts.Host", StringComparison.Ordinal) == true
                && t.GetMethod("<Clone>$") is not null
            )
            .ToList();
        records.Should().HaveCountGreaterThan(20, "the facts are records");
        var setters = records
            .SelectMany(t => t.GetProperties(BindingFlags.Instance | BindingFlags.Public))
            .Where(p =>
                p.SetMethod is { IsPublic: true } s
                && !s.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit))
            )
            .Select(p => $"{p.DeclaringType!.FullName}.{p.Name}")
            .ToList();
        setters.Should().BeEmpty("a fact is read once and never changed");
        var mutable = records
            .SelectMany(t => t.GetProperties(BindingFlags.Instance | BindingFlags.Public))
            .Where(p => IsMutableCollection(p.PropertyType) || p.PropertyType.IsArray)
            .Select(p => $"{p.DeclaringType!.FullName}.{p.Name}: {p.PropertyType.Name}")
            .ToList();
        mutable.Should().BeEmpty("collections in facts are read-only interfaces");
    }

    [Fact]
    public void Only_tests_answer_for_the_kernel()
    {
        // The seam a test's sysfs emulator plugs into sits in the facts layer's IO, where attributes are written;
        // kvmtune carries it and never fills it: on a live host the kernel answers its own writes.
        var seam = typeof(global::Kvmtune.Facts.IO.ITreeKernel);
        seam.Assembly.Should().BeSameAs(Assemblies[0]);
        Assemblies
            .SelectMany(a => a.GetTypes())
            .Where(t => t != seam && seam.IsAssignableFrom(t))
            .Select(t => t.FullName)
            .Should()
            .BeEmpty("no test code in kvmtune");
        seam.IsAssignableFrom(typeof(global::Kvmtune.Tests.Support.SysfsPciEmulator))
            .Should()
            .BeTrue("the positive control: a test does answer for it");
    }

    [Fact]
    public void A_command_lives_in_Commands_noun_verb()
    {
        // Kvmtune.Cli.Commands.Vm.Plan.VmPlanCommand: a newcomer finds "vm plan" by its folder.
        var commands = typeof(global::Kvmtune.Cli.KvmtuneCli)
            .Assembly.GetTypes()
            .Where(t =>
                t.Name.EndsWith("Command", StringComparison.Ordinal)
                && t.IsPublic
                && t.Namespace?.StartsWith("Kvmtune.Cli.Commands.", StringComparison.Ordinal) == true
            )
            .ToList();
        commands.Should().HaveCountGreaterThan(20);
        var misplaced = commands
            .Where(t => t.Name != string.Concat(t.Namespace!["Kvmtune.Cli.Commands.".Length..].Split('.')) + "Command")
            .Select(t => t.FullName)
            .ToList();
        misplaced.Should().BeEmpty();
    }

    private static bool IsMutableCollection(Type t) =>
        t.IsGenericType
        && t.GetGenericTypeDefinition() is var g
        && (
            g == typeof(List<>)
            || g == typeof(Dictionary<,>)
            || g == typeof(HashSet<>)
            || g == typeof(SortedSet<>)
            || g == typeof(Queue<>)
            || g == typeof(Stack<>)
            || g == typeof(SortedDictionary<,>)
        );

    /// <summary>A namespace and the namespaces inside it, as the regular expression NetArchTest matches.</summary>
    private static string Under(string ns) => "^" + ns.Replace(".", "\\.", StringComparison.Ordinal) + "(\\.|$)";

    private static string Outer(string fullName) => fullName.Split('/', '+')[0];

    private static List<string> Failing(NetArchTest.Rules.TestResult result) =>
        result.IsSuccessful ? [] : [.. result.FailingTypes.Select(t => $"{t.FullName}: {t.Explanation}")];
}
