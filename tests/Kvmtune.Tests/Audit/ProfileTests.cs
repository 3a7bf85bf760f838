using AwesomeAssertions;
using Kvmtune.Facts;
using Kvmtune.Guide.Profiles;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Audit;

public sealed class ProfileTests
{
    [Fact]
    public void A_spelling_or_a_setting_that_repeats_itself_is_refused()
    {
        // A profile's text must name one value: two spellings of one value, or one text for two, is a programming
        // error caught when the table is built.
        var twice = () => new Spelling<Toggle>((Toggle.Enabled, "on"), (Toggle.Enabled, "yes"), (Toggle.Any, "any"));
        twice.Should().Throw<InvalidOperationException>();
        var shared = () => new Spelling<Toggle>((Toggle.Enabled, "on"), (Toggle.Disabled, "on"), (Toggle.Any, "any"));
        shared.Should().Throw<InvalidOperationException>();
        var spelling = new Spelling<Toggle>((Toggle.Enabled, "on"), (Toggle.Disabled, "off"), (Toggle.Any, "any"));
        spelling.Values.Should().Equal(Toggle.Enabled, Toggle.Disabled, Toggle.Any);
        var repeated = () => new ChoiceSetting<Toggle>("k", "1", "d", spelling, [Toggle.Enabled, Toggle.Enabled]);
        repeated.Should().Throw<InvalidOperationException>();
        var none = () => new ChoiceSetting<Toggle>("k", "1", "d", spelling, []);
        none.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Every_value_of_every_choice_enum_has_its_spelling()
    {
        // The enums themselves are the oracle: a value added to one without a spelling could never be written in
        // a profile or shown by profiles show.
        var spellings = typeof(Choices)
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(Spelling<>))
            .ToList();
        spellings.Should().HaveCountGreaterThanOrEqualTo(10);
        foreach (var field in spellings)
        {
            var type = field.FieldType.GetGenericArguments()[0];
            var values = (System.Collections.IEnumerable)field.FieldType.GetProperty("Values")!.GetValue(
                field.GetValue(null)
            )!;
            values.Cast<object>().Should().BeEquivalentTo(Enum.GetValues(type).Cast<object>(), field.Name);
        }
    }

    [Fact]
    public void Every_built_in_profile_gives_every_setting_a_valid_value()
    {
        foreach (var name in BuiltInProfiles.Names)
        {
            var p = BuiltInProfiles.Get(name)!;
            p.Settings.Keys.Select(k => k.Key).Should().BeEquivalentTo(ProfileSchema.Settings.Select(s => s.Key), name);
            p.Text(ProfileSchema.CpuGovernor).Should().NotBeNullOrEmpty();
        }
        var latency = BuiltInProfiles.Get("latency")!;
        latency.Get(ProfileSchema.KernelIdlePoll).Should().Be(IdlePollRequirement.Required);
        latency.Text(ProfileSchema.KernelIdlePoll).Should().Be("required");
        BuiltInProfiles.Get("density")!.Get(ProfileSchema.MemoryKsm).Should().Be(KsmMode.On);
    }

    [Fact]
    public void Every_setting_has_its_sources_and_kernels()
    {
        foreach (var def in ProfileSchema.Settings)
        {
            Sources.Has(def).Should().BeTrue(def.Key);
            Sources.For(def).References.Should().NotBeEmpty(def.Key);
            Sources.For(def).Kernels.Should().NotBeNullOrWhiteSpace(def.Key);
        }
    }

    [Fact]
    public void The_tuned_comparison_document_is_what_the_code_generates()
    {
        var path = Path.Combine(Paths.RepoRoot, "docs", "profiles-vs-tuned.md");
        var generated = TunedComparison.Markdown();
        // KVMTUNE_REGENERATE_DOCS=1 rewrites the file after a deliberate change.
        if (Environment.GetEnvironmentVariable("KVMTUNE_REGENERATE_DOCS") == "1")
            File.WriteAllText(path, generated);
        File.ReadAllText(path)
            .Should()
            .Be(generated, "regenerate docs/profiles-vs-tuned.md with KVMTUNE_REGENERATE_DOCS=1");
        foreach (var row in TunedComparison.Rows)
            ProfileSchema.Find(row.Setting.Key).Should().BeSameAs(row.Setting, row.Setting.Key);
    }

    [Fact]
    public void Profiles_show_prints_every_setting_with_section_and_reason()
    {
        var run = KvmtuneRunner.Run("profiles", "show", "latency");
        run.ExitCode.Should().Be(0);
        foreach (var def in ProfileSchema.Settings)
            run.Stdout.Should().Contain(def.Key);
        run.Stdout.Should().Contain("sources: guide 3.2.6; Documentation/virt/kvm/halt-polling.rst");
        run.Stdout.Should().Contain("[3.2.4]").And.Contain("idle=poll");
        KvmtuneRunner
            .Run("profiles", "list")
            .Stdout.Should()
            .Contain("balanced")
            .And.Contain("(default)")
            .And.Contain("density");
    }

    [Fact]
    public void A_custom_profile_inherits_and_overrides()
    {
        using var t = new TestTree();
        t.File(
            "/p/mine.yaml",
            "name: mine\ninherits: latency\nsettings:\n  memory.hugepages.percent: 25\n  kvm.halt_poll_ns: " +
                "100000-300000\n"
        );
        var p = new ProfileCatalog(t.Physical("/p")).Resolve("mine");
        p.Inherits.Should().Be("latency");
        p.Get(ProfileSchema.MemoryHugepagesPercent).Should().Be(25);
        p.Get(ProfileSchema.KvmHaltPollNs).Should().Be(new RangeValue(100000, 300000));
        p.Get(ProfileSchema.KernelIdlePoll).Should().Be(IdlePollRequirement.Required, "inherited from latency");
        p.Reason(ProfileSchema.MemoryHugepagesPercent).Should().Be("set by mine.yaml");
        var show = KvmtuneRunner.Run("profiles", "show", t.Physical("/p/mine.yaml"));
        show.Stdout.Should().Contain("inherits latency").And.Contain("set by mine.yaml");
    }

    [Theory]
    [InlineData("inherits: latency\nsettings:\n  memory.hugepagez: 3\n", 3, "memory.hugepagez", "unknown setting")]
    [InlineData("inherits: latency\nsetings:\n  cpu.governor: performance\n", 2, "setings", "unknown key")]
    [InlineData(
        "inherits: latency\nsettings:\n  memory.hugepages.percent: lots\n",
        3,
        "memory.hugepages.percent",
        "not a whole number"
    )]
    [InlineData(
        "inherits: latency\nsettings:\n  cpu.governor: turbo\n",
        3,
        "cpu.governor",
        "'turbo' is not one of performance, powersave, ondemand, schedutil, conservative, any"
    )]
    [InlineData("inherits: nosuch\n", 1, "inherits", "unknown profile")]
    [InlineData("settings:\n  cpu.governor: performance\n", 1, "inherits", "must inherit")]
    [InlineData("inherits: latency\nsysfs:\n  ../../etc/shadow: x\n", 3, "../../etc/shadow", "refused")]
    [InlineData("inherits: latency\nsysfs:\n  /sys/../etc/passwd: x\n", 3, "/sys/../etc/passwd", "refused")]
    [InlineData("inherits: latency\nsysfs:\n  /etc/passwd: x\n", 3, "/etc/passwd", "refused")]
    [InlineData("inherits: [latency\n", 2, null, "not valid YAML")]
    public void A_bad_custom_profile_names_the_file_line_and_key_and_exits_2(
        string yaml,
        int line,
        string? key,
        string problem
    )
    {
        using var t = new TestTree();
        var file = t.Physical("/bad.yaml");
        t.File("/bad.yaml", yaml);
        var act = () => new ProfileCatalog(t.Physical("/none")).Resolve(file);
        var e = act.Should().Throw<InputException>().Which;
        e.File.Should().EndWith("bad.yaml");
        e.Line.Should().Be(line);
        if (key is not null)
            e.Key.Should().Be(key);
        e.Message.Should().Contain(problem);
        var run = KvmtuneRunner.Run("audit", "--profile", file);
        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain($"bad.yaml:{line}:");
    }

    [Fact]
    public void Allowed_sysfs_paths_in_a_custom_profile_are_kept()
    {
        using var t = new TestTree();
        t.File("/ok.yaml", "inherits: balanced\nsysfs:\n  /sys/kernel/mm/transparent_hugepage/defrag: madvise\n");
        new ProfileCatalog()
            .Resolve(t.Physical("/ok.yaml"))
            .SysfsWrites.Should()
            .ContainKey("/sys/kernel/mm/transparent_hugepage/defrag");
    }
}
