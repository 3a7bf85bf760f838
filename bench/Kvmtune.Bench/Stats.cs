using System.Globalization;

namespace Kvmtune.Bench;

/// <summary>A sample of runs: the median and spread (quartiles, extremes) of the wall time, and counts.</summary>
public sealed class Sample(List<RunResult> runs)
{
    public IReadOnlyList<RunResult> Runs => runs;
    public double Median => Quantile(0.5);
    public double P25 => Quantile(0.25);
    public double P75 => Quantile(0.75);
    public double Min => runs.Min(r => r.WallMs);
    public double Max => runs.Max(r => r.WallMs);
    public long Faults => MedianOf(runs.Select(r => r.MinorFaults));

    private double Quantile(double q)
    {
        var xs = runs.Select(r => r.WallMs).Order().ToList();
        var pos = q * (xs.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, xs.Count - 1);
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
    }

    private static long MedianOf(IEnumerable<long> values)
    {
        var xs = values.Order().ToList();
        return xs[xs.Count / 2];
    }

    /// <summary>"12.3 (11.9-13.0)": median, then the interquartile range, in milliseconds.</summary>
    public string Ms() => string.Create(CultureInfo.InvariantCulture, $"{F(Median)} ({F(P25)}-{F(P75)})");

    public static string F(double ms) =>
        ms.ToString(
            ms >= 100 ? "0"
                : ms >= 10 ? "0.0"
                : "0.00",
            CultureInfo.InvariantCulture
        );
}

public static class Measure
{
    /// <summary>
    /// Runs a and b alternately, swapping which goes first every round so neither always runs right after the other
    /// (same page cache, same load); two warm-up rounds are not counted.
    /// </summary>
    public static (Sample A, Sample B) Alternate(int runs, Func<RunResult> a, Func<RunResult> b)
    {
        a();
        b();
        a();
        b();
        var ra = new List<RunResult>();
        var rb = new List<RunResult>();
        for (var i = 0; i < runs; i++)
        {
            if (i % 2 == 0)
            {
                ra.Add(a());
                rb.Add(b());
            }
            else
            {
                rb.Add(b());
                ra.Add(a());
            }
        }
        return (new Sample(ra), new Sample(rb));
    }

    public static Sample Repeat(int runs, Func<RunResult> a)
    {
        a();
        return new Sample(Enumerable.Range(0, runs).Select(_ => a()).ToList());
    }
}
