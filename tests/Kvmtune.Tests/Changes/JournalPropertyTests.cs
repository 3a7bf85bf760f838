using System.Text.Json.Nodes;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Changes;

/// <summary>
/// Journals full of hostile strings (newlines, control characters, "..", links, huge numbers, nulls): rollback and
/// history answer with a refusal or a safe result, never an internal error, and a refused rollback changes nothing.
/// </summary>
public sealed class JournalPropertyTests
{
    private static readonly Gen<string> Hostile = Gen.OneOf(
        Gen.Const("/sys/kernel/mm/transparent_hugepage/enabled"),
        Gen.Const("/etc/sysctl.d/90-kvmtune.conf"),
        Gen.Const("/etc/../usr"),
        Gen.Const("../../x"),
        Gen.Const("/proc/sys/kernel/core_pattern"),
        Gen.Const("never"),
        Gen.Const("0\nkernel.core_pattern = |/tmp/evil"),
        Gen.Const("/bin/sh"),
        Gen.Const("vhost_net"),
        Gen.Const("namespace0.0"),
        Gen.Const("0000:6b:00.0"),
        Gen.Const(""),
        Gen.Const("\u001b[2J"),
        Gen.Const(new string('a', 5000)),
        Gen.Const("/dev/hugepages1G"),
        Gen.Const("99999999999999999999"),
        Gen.String[Gen.Char.AlphaNumeric, 0, 12],
        Gen.String[Gen.Char[(char)0, (char)0x7f], 0, 8]
    );

    private static readonly Gen<JsonNode?> Value = Gen.OneOf(
        Hostile.Select(s => (JsonNode?)JsonValue.Create(s)),
        Gen.Const((JsonNode?)null),
        Gen.Long.Select(l => (JsonNode?)JsonValue.Create(l)),
        Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b))
    );

    private static readonly string[] Kinds =
    [
        "value",
        "file",
        "mount",
        "module-reload",
        "driver",
        "namespace",
        "sriov",
        "shell",
    ];

    private static readonly string[] Fields =
    [
        "path",
        "original",
        "new",
        "original_exists",
        "original_mode",
        "created_folders",
        "mount_point",
        "page_size",
        "module",
        "device",
        "new_driver",
        "namespace",
        "original_mode",
        "new_mode",
        "section",
        "finding_id",
        "applied",
        "pf",
        "original_vfs",
        "new_vfs",
        "original_autoprobe",
        "align",
    ];

    private static readonly Gen<JsonObject> Operation = Gen.Select(
        Gen.Int[0, Kinds.Length - 1],
        Gen.Int[0, Fields.Length - 1].Array[0, 6],
        Value.Array[6],
        (kind, fields, values) =>
        {
            var o = new JsonObject
            {
                ["kind"] = Kinds[kind],
                ["seq"] = 1,
                ["section"] = "3.2.3",
                ["finding_id"] = "x",
            };
            for (var i = 0; i < fields.Length; i++)
                o[Fields[fields[i]]] = fields[i] == 5 ? new JsonArray(values[i]?.DeepClone()) : values[i]?.DeepClone();
            return o;
        }
    );

    [Fact]
    public void Hostile_journals_are_refused_or_handled_never_an_internal_error()
    {
        var checkedCount = 0;
        Gen.Select(Operation.Array[1, 3], Value, Value, (o, st, r) => (o, st, r))
            .Sample(
                t =>
                {
                    var (ops, state, root) = t;
                    using var h = new SyntheticHost();
                    var dir = h.Tree.Physical("/var/lib/kvmtune/journal");
                    Directory.CreateDirectory(dir);
                    const string id = "20260101T000000.000Z-1";
                    var entry = new JsonObject
                    {
                        ["schema"] = "kvmtune.journal/v2",
                        ["id"] = id,
                        ["created"] = "x",
                        ["profile"] = "p",
                        ["root"] = root is JsonValue ? root.DeepClone() : h.Root,
                        ["persist"] = false,
                        ["state"] =
                            state is JsonValue v && v.TryGetValue<string>(out var s) && s.Length < 20 ? s : "completed",
                        ["operations"] = new JsonArray(ops.Select(o => (JsonNode?)o.DeepClone()).ToArray()),
                        ["events"] = new JsonArray(),
                    };
                    File.WriteAllText(Path.Combine(dir, id + ".json"), entry.ToJsonString());
                    var before = TreeState.Of(h.Root);
                    var rollback = KvmtuneRunner.Run("rollback", "--root", h.Root);
                    rollback.ExitCode.Should().NotBe(4, rollback.Stderr);
                    if (rollback.ExitCode is 2 or 3)
                        before.Diff(TreeState.Of(h.Root)).Should().BeEmpty(rollback.Stderr);
                    KvmtuneRunner.Run("history", "--root", h.Root).ExitCode.Should().NotBe(4);
                    Interlocked.Increment(ref checkedCount);
                },
                iter: 300,
                threads: 1
            );
        checkedCount.Should().Be(300);
    }
}
