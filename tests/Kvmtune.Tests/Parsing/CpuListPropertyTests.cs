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
