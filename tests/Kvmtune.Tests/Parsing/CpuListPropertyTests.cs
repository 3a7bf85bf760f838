using System.Globalization;
using AwesomeAssertions;
using CsCheck;
using Kvmtune.Facts.Parsing;

namespace Kvmtune.Tests.Parsing;

public sealed class CpuListPropertyTests
{
    private static readonly Gen<int[]> CpuSets = Gen.Int[0, 2047].Array[0, 200];

    [Fact]
    public void Format_then_parse_gives_the_same_set() =>
        CpuSets.Sample(cpus =>
        {
            var expected = cpus.Distinct().Order().ToList();
            CpuList.Parse(CpuList.Format(cpus)).Should().Equal(expected);
        });

    [Fact]
    public void Mask_format_then_parse_gives_the_same_set() =>
        CpuSets.Sample(cpus =>
        {
            var expected = cpus.Distinct().Order().ToList();
            CpuMask.Parse(CpuMask.Format(cpus)).Should().Equal(expected);
        });

    [Fact]
    public void Any_text_either_parses_or_fails_with_an_error_that_quotes_it()
    {
        var garbage = Gen.OneOf(Gen.String, Gen.String["0123456789-,:/ \0\nabcfx"]);
        garbage.Sample(text =>
        {
            foreach (var parse in new Func<string, IReadOnlyList<int>>[] { CpuList.Parse, CpuMask.Parse })
            {
                try
                {
                    parse(text).Should().OnlyContain(c => c >= 0 && c <= CpuList.MaxCpu);
                }
                catch (ParseException e)
                {
                    var shown = text.Length > 20 ? text[..20] : text;
                    if (shown.Length > 0 && shown.All(c => !char.IsControl(c)))
                        e.Message.Should().Contain(shown);
                    e.Message.Should().Contain("not a CPU").And.NotBeNullOrWhiteSpace();
                }
            }
        });
    }

    /// <summary>
    /// Lists written in the kernel's grammar (Documentation/admin-guide/kernel-parameters.rst, "CPU lists": "n",
    /// "a-b", "a-b:used/group"), parts in any order and overlapping: the CPUs are the union of the parts, each part
    /// expanded here by that text's own definition, in ascending order without repeats.
    /// </summary>
    [Fact]
    public void A_list_is_the_union_of_its_parts_in_any_order()
    {
        var part = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 300], Gen.Int[0, 40], Gen.Int[1, 8], Gen.Int[0, 8]);
        part.Array[1, 12]
            .Sample(parts =>
            {
                var text = new List<string>();
                var expected = new SortedSet<int>();
                foreach (var (kind, lo, length, group, usedSeed) in parts)
                {
                    var hi = lo + length;
                    var used = usedSeed % (group + 1);
                    switch (kind)
                    {
                        case 0:
                            text.Add($"{lo}");
                            expected.Add(lo);
                            break;
                        case 1:
                            text.Add($"{lo}-{hi}");
                            for (var c = lo; c <= hi; c++)
                                expected.Add(c);
                            break;
                        default:
                            text.Add($"{lo}-{hi}:{used}/{group}");
                            for (var c = lo; c <= hi; c++)
                                if ((c - lo) % group < used)
                                    expected.Add(c);
                            break;
                    }
                }
                CpuList.Parse(string.Join(',', text) + "\n").Should().Equal(expected);
            });
    }

    /// <summary>
    /// Masks as the kernel prints them (bitmap_print_to_pagebuf: 32-bit words, most significant first, "%08x"), and
    /// with shorter or upper-case words: bit b of word w (counted from the right) is CPU 32w+b.
    /// </summary>
    [Fact]
    public void A_mask_sets_bit_b_of_word_w_as_cpu_32w_plus_b()
    {
        Gen.Select(Gen.UInt.Array[1, 140], Gen.Int[0, 2])
            .Sample((words, style) =>
            {
                var printed = words.Select(w =>
                    style switch
                    {
                        0 => w.ToString("x8", CultureInfo.InvariantCulture),
                        1 => w.ToString("x", CultureInfo.InvariantCulture),
                        _ => w.ToString("X8", CultureInfo.InvariantCulture),
                    }
                );
                var expected = new List<int>();
                for (var i = 0; i < words.Length; i++)
                {
                    var word = words[words.Length - 1 - i];
                    for (var b = 0; b < 32; b++)
                        if ((word >> b & 1) == 1)
                            expected.Add(i * 32 + b);
                }
                CpuMask.Parse(string.Join(',', printed) + "\0\n").Should().Equal(expected);
            });
    }

    [Fact]
    public void A_list_that_repeats_a_range_costs_its_set_not_its_length()
    {
        // 2,000 copies of the widest range: 16 KB of text whose set is 65,536 CPUs. Kept as parsed, that is
        // 131 million ints; the parser keeps a bitmap of the set once the parts stop ascending.
        var text = string.Join(',', Enumerable.Repeat($"0-{CpuList.MaxCpu}", 2000));
        var before = GC.GetAllocatedBytesForCurrentThread();
        CpuList.Parse(text).Should().HaveCount(CpuList.MaxCpu + 1).And.BeInAscendingOrder();
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(4 << 20);
    }

    [Theory]
    [InlineData("0000000g")]
    [InlineData("000000001")]
    [InlineData("ff,,ff")]
    [InlineData(",ff")]
    [InlineData("-1")]
    public void Bad_masks_name_the_input(string text)
    {
        var act = () => CpuMask.Parse(text);
        act.Should().Throw<ParseException>().Which.Message.Should().Contain($"'{text}'");
    }

    [Theory]
    [InlineData("0-3,8", new[] { 0, 1, 2, 3, 8 })]
    [InlineData("0-3,8\0\n", new[] { 0, 1, 2, 3, 8 })]
    [InlineData("", new int[0])]
    [InlineData("\n", new int[0])]
    [InlineData("5", new[] { 5 })]
    [InlineData("0-7:2/4", new[] { 0, 1, 4, 5 })]
    [InlineData("1-35,73-107,37-71,109-143", null)]
    public void Kernel_cpu_lists_parse(string text, int[]? expected)
    {
        var cpus = CpuList.Parse(text);
        if (expected is not null)
            cpus.Should().Equal(expected);
        else
            cpus.Should().HaveCount(35 * 4 - 2 + 2).And.BeInAscendingOrder();
    }

    [Theory]
    [InlineData("00000000,0000ffff", 0, 15, 16)]
    [InlineData("ff\0", 0, 7, 8)]
    [InlineData("00000001,00000000", 32, 32, 1)]
    public void Kernel_masks_parse(string text, int first, int last, int count)
    {
        var cpus = CpuMask.Parse(text);
        cpus.Should().HaveCount(count);
        cpus[0].Should().Be(first);
        cpus[^1].Should().Be(last);
    }

    [Theory]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("0-")]
    [InlineData("1,,2")]
    [InlineData("0-99999999")]
    public void Bad_lists_name_the_input(string text)
    {
        var act = () => CpuList.Parse(text);
        act.Should().Throw<ParseException>().Which.Message.Should().Contain($"'{text}'");
    }
}
