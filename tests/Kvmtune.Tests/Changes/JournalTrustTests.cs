using System.Text.Json.Nodes;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// The journal is input like any other: an edited entry is refused (exit 3) before rollback or history acts on any
/// part of it, and the tree is left exactly as it was.
/// </summary>
public sealed class JournalTrustTests
{
    private static string EntryFile(SyntheticHost h) =>
        Directory.GetFiles(h.Tree.Physical("/var/lib/kvmtune/journal"), "*.json").Single();

    private static SyntheticHost Applied()
    {
        var h = new SyntheticHost();
        var apply = KvmtuneRunner.Run("apply", "--root", h.Root, "--profile", "latency", "--persist");
        apply.ExitCode.Should().Be(0, apply.Stderr);
        return h;
    }

    private static JsonObject FirstOf(JsonNode entry, string kind) =>
        entry["operations"]!.AsArray().Select(o => o!.AsObject()).First(o => o["kind"]!.GetValue<string>() == kind);

    public static TheoryData<string> Edits() =>
        [
            "created folder outside /etc",
            "created folder through ..",
            "module reload under --root",
            "id with ..",
            "a program named in the journal",
            "another root",
            "null operations",
            "null path",
            "no kind",
            "unknown kind",
            "path outside the allowlist",
            "value with a newline",
            "schema of another version",
            "mode out of range",
            "not JSON",
        ];

    [Theory]
    [MemberData(nameof(Edits))]
    public void An_edited_journal_is_refused_and_nothing_is_touched(string edit)
    {
        using var h = Applied();
        h.Tree.Dir("/usr/share/keep");
        var file = EntryFile(h);
        var entry = JsonNode.Parse(File.ReadAllText(file))!;
        var name = Path.GetFileName(file);
        switch (edit)
        {
            case "created folder outside /etc":
                FirstOf(entry, "file")["created_folders"] = new JsonArray("/usr/share/keep");
                break;
            case "created folder through ..":
                FirstOf(entry, "file")["created_folders"] = new JsonArray("/etc/../usr/share/keep");
                break;
            case "module reload under --root":
                entry["operations"]!
                    .AsArray()
                    .Add(
                        new JsonObject
                        {
                            ["kind"] = "module-reload",
                            ["seq"] = 99,
                            ["section"] = "3.3.3",
                            ["finding_id"] = "x",
                            ["applied"] = true,
                            ["module"] = "vhost_net",
                            ["original_parameters"] = new JsonObject(),
                            ["new_parameters"] = new JsonObject(),
                        }
                    );
                break;
            case "id with ..":
                entry["id"] = "../../../../tmp/x";
                break;
            case "a program named in the journal":
                FirstOf(entry, "value")["module"] = "/bin/sh";
                break;
            case "another root":
                entry["root"] = "/";
                break;
            case "null operations":
                entry["operations"] = null;
                break;
            case "null path":
                FirstOf(entry, "value")["path"] = null;
                break;
            case "no kind":
                FirstOf(entry, "value").Remove("kind");
                break;
            case "unknown kind":
                FirstOf(entry, "value")["kind"] = "shell";
                break;
            case "path outside the allowlist":
                FirstOf(entry, "value")["path"] = "/proc/sys/kernel/core_pattern";
                break;
            case "value with a newline":
                FirstOf(entry, "value")["original"] = "0\nkernel.core_pattern = |/tmp/evil";
                break;
            case "schema of another version":
                entry["schema"] = "kvmtune.journal/v0";
                break;
            case "mode out of range":
                FirstOf(entry, "file")["original_mode"] = 0x1FFFF;
                FirstOf(entry, "file")["original_exists"] = true;
                FirstOf(entry, "file")["original"] = "";
                break;
        }
        File.WriteAllText(file, edit == "not JSON" ? "{\"schema\": " : entry.ToJsonString());
        var before = TreeState.Of(h.Root);
        var rollback = KvmtuneRunner.Run("rollback", "--root", h.Root, "--last");
        rollback.ExitCode.Should().Be(3, $"{edit}: {rollback.Stdout}{rollback.Stderr}");
        rollback
            .Stderr.Should()
            .Contain(Path.GetFileNameWithoutExtension(name))
            .And.ContainAny("refused", "written for root");
        rollback.Stderr.Should().NotContain("Exception");
        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty(edit);
        Directory.Exists(h.Tree.Physical("/usr/share/keep")).Should().BeTrue();
        // history lists a journal of another root (it is well-formed); everything else it refuses too.
        if (edit != "another root")
            KvmtuneRunner.Run("history", "--root", h.Root).ExitCode.Should().Be(3, edit);
    }

    [Fact]
    public void A_journal_of_one_root_is_not_rolled_back_onto_another()
    {
        using var a = Applied();
        using var b = new SyntheticHost();
        var before = TreeState.Of(b.Root);
        var rollback = KvmtuneRunner.Run(
            "rollback",
            "--root",
            b.Root,
            "--journal-dir",
            a.Tree.Physical("/var/lib/kvmtune/journal")
        );
        rollback.ExitCode.Should().Be(3, rollback.Stderr);
        rollback.Stderr.Should().Contain("written for root");
        before.Diff(TreeState.Of(b.Root)).Should().BeEmpty();
    }
}
