using System.Text.Json;
using System.Text.Json.Serialization;
using AwesomeAssertions;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;
using Kvmtune.Reports.Audit;
using Kvmtune.Tests.Audit;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>
/// kvmtune writes the audit document field by field (no serializer metadata at start-up). The oracle is
/// System.Text.Json's own source-generated serializer over the same document, with the options the document was
/// defined with (snake_case, indented, every property written, the status as its <c>[JsonStringEnumMemberName]</c>).
/// </summary>
public sealed class AuditJsonWriterTests(FixtureTrees fixtures)
{
    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void A_fixture_audit_is_written_as_the_serializer_writes_it(string name)
    {
        foreach (var profile in BuiltInProfiles.Names)
            Same(AuditHarness.Run(fixtures.Root(name), profile));
    }

    [Fact]
    public void A_host_with_every_status_and_fixes_is_written_as_the_serializer_writes_it()
    {
        using var host = new SyntheticHost();
        // Quotes and non-ASCII in what a finding quotes from the machine.
        host.Set("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] n\"év<er>\n");
        foreach (var profile in BuiltInProfiles.Names)
        {
            var report = AuditHarness.Run(host.Root, profile);
            report.Findings.Select(f => f.Status).Distinct().Should().HaveCountGreaterThan(2);
            report.Findings.Should().Contain(f => f.Fix.Runtime.Count > 0);
            Same(report);
        }
    }

    [Fact]
    public void This_machine_and_a_named_host_are_written_as_the_serializer_writes_them()
    {
        Same(AuditHarness.Run("/"));
        Same(AuditHarness.Run("/") with { Host = "h\"ost-é" });
    }

    [Fact]
    public void Every_status_is_written_as_its_enum_member_name()
    {
        foreach (var status in Enum.GetValues<FindingStatus>())
            JsonSerializer
                .Serialize(status, AuditOracleContext.Default.FindingStatus)
                .Should()
                .Be($"\"{AuditJson.Status(status)}\"");
    }

    private static void Same(AuditReport report)
    {
        var expected = JsonSerializer.Serialize(AuditDocument.From(report), AuditOracleContext.Default.AuditDocument);
        AuditJson.Render(report).Should().Be(expected + "\n");
    }
}

// The serializer the contract's document was first written with: System.Text.Json's generator, default mode.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(AuditDocument))]
[JsonSerializable(typeof(FindingStatus))]
internal sealed partial class AuditOracleContext : JsonSerializerContext;
