using System.Globalization;
using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// The managed code's layout in the built image: the methods the common commands run (src/Kvmtune.Cli/kvmtune.order,
/// written by bench/order/make-order.sh) come first, so that a command faults in a few contiguous pages of code
/// (issue #15, BENCHMARKS.md). Read from the image with binutils: readelf for where the managed code lies, nm for
/// each method's address in the symbols StripSymbols keeps beside the binary.
/// </summary>
public sealed class CodeLayoutTests
{
    private static readonly string[] Named = File.ReadAllLines(
        Path.Combine(Paths.RepoRoot, "src", "Kvmtune.Cli", "kvmtune.order")
    );

    [Fact]
    public void The_order_file_still_names_kvmtunes_methods()
    {
        var methods = ManagedMethods();
        Named.Length.Should().BeGreaterThan(1000);
        Named.Should().OnlyHaveUniqueItems();
        // kvmtune's own, which its changes rename; an SDK update may rename some of the runtime's as well.
        var own = Named.Where(n => n.StartsWith("Kvmtune_", StringComparison.Ordinal)
            || n.StartsWith("kvmtune_", StringComparison.Ordinal)).ToArray();
        own.Length.Should().BeGreaterThan(500);
        var known = own.Count(methods.ContainsKey);
        ((double)known / own.Length)
            .Should()
            .BeGreaterThanOrEqualTo(
                0.95,
                "renamed methods lose their place: run bench/order/make-order.sh again (apt-get install valgrind); "
                    + "{0} of kvmtune's {1} named are still methods",
                known,
                own.Length
            );
    }

    [Fact]
    public void The_named_methods_are_laid_out_first()
    {
        var methods = ManagedMethods();
        var named = Named.ToHashSet(StringComparer.Ordinal);
        var addresses = Named.Where(methods.ContainsKey).Select(n => methods[n]).Order().ToArray();
        addresses.Should().NotBeEmpty("the order file names methods of this binary");
        // A few runtime entry points keep fixed places; 99 of 100 named methods form one block at the start.
        var edge = addresses[(int)(addresses.Length * 0.99)];
        var others = methods.Count(m => !named.Contains(m.Key) && m.Value < edge);
        others
            .Should()
            .BeLessThan(addresses.Length / 100, "the compiler's default order spreads them over all the managed code");
    }

    /// <summary>Each method in the image's managed code section, by its symbol, with its address.</summary>
    private static Dictionary<string, ulong> ManagedMethods()
    {
        var binary = KvmtuneProcess.Binary;
        var sections = Processes.Run("readelf", "-SW", binary);
        sections.ExitCode.Should().Be(0, sections.Stderr);
        // "[17] __managedcode PROGBITS 0000000000498a40 098a40 4d0a7f 00 AX 0 0 32": address, offset, size.
        var fields = sections
            .Stdout.Split('\n')
            .Single(l => l.Contains(" __managedcode ", StringComparison.Ordinal))
            .Split(']')[1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var start = ulong.Parse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var end = start + ulong.Parse(fields[4], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var methods = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (address, type, name) in ImageSymbols.Read(binary))
        {
            if (type is "t" or "T" && address >= start && address < end)
                methods[name] = address;
        }
        return methods;
    }
}

/// <summary>
/// What every command pays before its first line: the runtime allocates a base for each type with static fields
/// that hold references, one by one on the pinned-object heap through the GC's slow path (8.7% of a short
/// inspect's samples; BENCHMARKS.md). Counted from the image's symbols with nm: the compiler names each base's
/// block __GCSTATICS followed by the type, and the data it was pre-initialised with the same plus __PreInitData.
/// </summary>
public sealed class StaticBaseTests
{
    [Fact]
    public void The_image_starts_no_more_static_bases_than_it_did()
    {
        var bases = ImageSymbols
            .Read(KvmtuneProcess.Binary)
            .Count(s =>
                s.Name.StartsWith("__GCSTATICS", StringComparison.Ordinal)
                && !s.Name.EndsWith("__PreInitData", StringComparison.Ordinal)
            );
        // 2,473 when this test was written; 3,118 while XmlUrlResolver's HTTP client was in the image. The floor
        // catches a compiler that names them otherwise, where a count of none would pass.
        bases.Should().BeInRange(1000, 2700);
    }
}
