using System.Text;
using System.Text.Json;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>
/// fleet reads each audit straight from its bytes (issue #15: 10,000 audits in under 2 s). What it accepts as JSON
/// is what RFC 8259 and System.Text.Json's document parser accept, the second implementation it is checked against
/// here: a file the document parser refuses is refused, one it reads is read, and escaped names are the same names.
/// </summary>
public sealed class FleetJsonTests : IDisposable
{
    private readonly TestTree _t = new();

    public void Dispose() => _t.Dispose();

    private const string Finding =
        "{\"id\":\"host.cpu.governor\",\"status\":\"fail\",\"current\":\"powersave\",\"title\":\"CPUfreq governor\"}";

    private static string Audit(string host, string findings = Finding) =>
        "{\"schema\":\"kvmtune.audit/v1\",\"host\":\""
        + host
        + "\",\"profile\":\"balanced\",\"role\":\"host\","
        + "\"findings\":["
        + findings
        + "]}";

    public static TheoryData<string, string> Documents() =>
        new()
        {
            { "plain", Audit("h1") },
            { "byte order mark", "\uFEFF" + Audit("h1") },
            { "white space around", " \n\t" + Audit("h1") + "\r\n " },
            {
                "escaped names",
                Audit("h1").Replace("\"findings\"", "\"\\u0066indings\"").Replace("\"id\"", "\"\\u0069d\"")
            },
            { "escaped values", Audit("h\\u0031").Replace("\"fail\"", "\"f\\u0061il\"") },
            {
                "unknown fields, nested",
                Audit("h1").Replace("{\"schema\"", "{\"x\":{\"y\":[1,{\"z\":null}]},\"schema\"")
            },
            { "current null", Audit("h1", Finding.Replace("\"powersave\"", "null")) },
            { "a name twice, the last right", Audit("h1").Replace("{\"schema\"", "{\"profile\":1,\"schema\"") },
            { "an escaped name that is no text", Audit("h1").Replace("{\"schema\"", "{\"\\ud800\":1,\"schema\"") },
            { "second value", Audit("h1") + " {}" },
            { "trailing garbage", Audit("h1") + "x" },
            { "trailing comma", Audit("h1").Replace("]}", "],}") },
            { "comment", "/* c */" + Audit("h1") },
            { "truncated", Audit("h1")[..^3] },
            { "empty", "" },
            { "single quotes", Audit("h1").Replace("\"role\":\"host\"", "'role':'host'") },
            { "a bare string", "\"kvmtune.audit/v1\"" },
        };

    [Theory]
    [MemberData(nameof(Documents))]
    public void Fleet_accepts_exactly_the_json_that_the_document_parser_accepts(string what, string json)
    {
        _ = what;
        var bytes = Encoding.UTF8.GetBytes(json);
        _t.File("/fleet/h1.json", json);
        File.ReadAllBytes(_t.Physical("/fleet/h1.json")).Should().Equal(bytes);
        // The oracle: System.Text.Json's JsonDocument (which fleet used before), on the same bytes.
        bool valid;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            valid = true;
        }
        catch (JsonException)
        {
            valid = false;
        }
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        if (!valid)
        {
            run.ExitCode.Should().Be(2, run.Stderr);
            run.Stderr.Should().Contain("h1.json").And.Contain("not JSON");
            return;
        }
        if (json.TrimStart('\uFEFF').StartsWith('"'))
        {
            // JSON, but not an audit: nothing to merge.
            run.ExitCode.Should().Be(2, run.Stderr);
            run.Stderr.Should().Contain("holds no kvmtune audit JSON");
            return;
        }
        run.ExitCode.Should().Be(1, run.Stderr);
        run.Stdout.Should().StartWith("1 host(s): h1 (balanced, host: 1 fail, 0 warn)");
        run.Stdout.Should().Contain("host.cpu.governor");
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_read_as_the_replacement_character_as_text_decoding_does()
    {
        var json = Encoding.UTF8.GetBytes(Audit("hX1"));
        json[Array.IndexOf(json, (byte)'X')] = 0xff;
        _t.File("/fleet/h1.json", "");
        File.WriteAllBytes(_t.Physical("/fleet/h1.json"), json);
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        run.ExitCode.Should().Be(1, run.Stderr);
        // Encoding.UTF8.GetString's answer for the byte, the oracle: U+FFFD.
        run.Stdout.Should().StartWith($"1 host(s): h{Encoding.UTF8.GetString([0xff])}1 (balanced");
    }

    [Fact]
    public void In_a_large_fleet_the_first_bad_file_in_name_order_is_the_one_reported()
    {
        // 200 files: read in parallel, reported as if read one by one.
        for (var i = 0; i < 200; i++)
            _t.File($"/fleet/h{i:D3}.json", i is 57 or 150 ? "{not json" : Audit($"h{i:D3}"));
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        run.ExitCode.Should().Be(2, run.Stderr);
        run.Stderr.Should().Contain("h057.json").And.NotContain("h150.json");
    }

    [Fact]
    public void A_large_fleet_lists_every_host_in_name_order()
    {
        for (var i = 0; i < 200; i++)
            _t.File($"/fleet/h{i:D3}.json", Audit($"h{i:D3}", i % 2 == 0 ? Finding : Finding.Replace("fail", "pass")));
        var run = KvmtuneRunner.Run("fleet", _t.Physical("/fleet"));
        run.ExitCode.Should().Be(1, run.Stderr);
        var first = run.Stdout.Split('\n')[0];
        first.Should().StartWith("200 host(s): h000 (balanced, host: 1 fail, 0 warn), h001 (balanced, host: 0 fail");
        var names = System
            .Text.RegularExpressions.Regex.Matches(first, @"\b(h\d{3}) \(")
            .Select(m => m.Groups[1].Value);
        names.Should().Equal(Enumerable.Range(0, 200).Select(i => $"h{i:D3}"));
        run.Stdout.Should()
            .Contain("differences between hosts audited alike:")
            .And.Contain("[balanced/host] host.cpu.governor: h000 fail (powersave); h001 pass (powersave)");
    }
}
