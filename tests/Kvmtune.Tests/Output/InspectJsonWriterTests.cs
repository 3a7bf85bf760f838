using System.Text.Json;
using System.Text.Json.Serialization;
using AwesomeAssertions;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.IO;
using Kvmtune.Reports;
using Kvmtune.Reports.Inspect;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>
/// kvmtune writes the inspect document field by field (no serializer metadata at start-up). The oracle is
/// System.Text.Json's own source-generated serializer over the same document with the options the contract names
/// (snake_case, indented, every property written): the bytes must be the same. Any property added to a facts record
/// appears in the serializer's output on every tree, so a writer that misses it fails here.
/// </summary>
public sealed class InspectJsonWriterTests(FixtureTrees fixtures)
{
    [Theory]
    [MemberData(nameof(FixtureTrees.All), MemberType = typeof(FixtureTrees))]
    public void A_fixture_is_written_as_the_serializer_writes_it(string name) => Same(fixtures.Root(name));

    [Fact]
    public void This_machine_is_written_as_the_serializer_writes_it() => Same("/");

    [Fact]
    public void A_host_with_devices_irqs_modules_and_processes_is_written_as_the_serializer_writes_it()
    {
        using var host = new SyntheticHost();
        Same(host.Root);
    }

    [Fact]
    public void A_guest_is_written_as_the_serializer_writes_it()
    {
        using var guest = new SyntheticHost(guest: true);
        Same(guest.Root);
    }

    [Fact]
    public void Text_that_needs_escaping_is_escaped_as_the_serializer_escapes_it()
    {
        using var host = new SyntheticHost();
        // Quotes, a backslash, HTML-sensitive characters, non-ASCII, a control character and a lone surrogate's
        // bytes (invalid UTF-8) in files a tree controls.
        host.Set("/proc/sys/kernel/hostname", "h\"o\\s<t>&'+`é\u0001\n")
            .Set("/proc/cmdline", "BOOT_IMAGE=/vmlinuz quiet x=\"a b\" y=\u00e9\u2028 -- init\\arg\n")
            .Set("/sys/class/dmi/id/product_name", "Prod\u00a0uct \ud83d\ude00 \u0007\n")
            .Set("/sys/module/kvm/parameters/halt_poll_ns", "<200000>\n");
        File.WriteAllBytes(host.Tree.Physical("/proc/sys/kernel/osrelease"), [0x36, 0xED, 0xA0, 0x80, 0xFF, 0x0A]);
        Same(host.Root);
    }

    [Fact]
    public void A_running_qemu_and_installed_versions_are_written_as_the_serializer_writes_them()
    {
        using var host = new SyntheticHost();
        host.Set("/proc/4242/comm", "qemu-system-x86\n")
            .Set("/proc/4242/cmdline", "qemu-system-x86_64\0-name\0guest=\"vm 1\"\0-smp\04\0")
            .Set(
                "/var/lib/dpkg/status",
                "Package: irqbalance\nStatus: install ok installed\nVersion: 1.9.2-1+b1\n\n"
                    + "Package: qemu-system-x86\nStatus: install ok installed\nVersion: 1:7.2+dfsg-7+deb12u18\n\n"
            );
        var facts = HostFacts.ReadAll(new HostReader(host.Root));
        facts.Userspace.QemuCommandLines.Should().ContainSingle("the tree has one running QEMU");
        facts.Userspace.IrqbalanceVersion.Should().NotBeNull();
        Same(host.Root);
    }

    private static void Same(string root)
    {
        var facts = HostFacts.ReadAll(new HostReader(root));
        var expected = JsonSerializer.Serialize(InspectDocument.From(facts), OracleContext.Default.InspectDocument);
        InspectJson.Serialize(facts).Should().Be(expected);
        // What `kvmtune inspect` runs: the document streamed to stdout, a newline after it.
        using var stdout = new MemoryStream();
        new InspectJson().Write(facts, new RenderContext(new TextStyle(false), DateTimeOffset.UnixEpoch), stdout);
        System.Text.Encoding.UTF8.GetString(stdout.ToArray()).Should().Be(expected + "\n");
    }
}

// The serializer the contract's document was first written with: System.Text.Json's generator, default mode.
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never
)]
[JsonSerializable(typeof(InspectDocument))]
internal sealed partial class OracleContext : JsonSerializerContext;
