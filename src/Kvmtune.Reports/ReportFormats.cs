namespace Kvmtune.Reports;

/// <summary>
/// The formats of one kind of report, in the order help lists them, the default first. The CLI builds
/// <c>--format</c>'s accepted values, its help and its dispatch from this table alone, so a new format is one
/// renderer and one row here.
/// </summary>
public sealed class ReportFormats<TReport>
{
    private readonly IReportRenderer<TReport>[] _renderers;

    public ReportFormats(params IReportRenderer<TReport>[] renderers)
    {
        if (renderers.Length == 0)
            throw new ArgumentException("a report has at least one format", nameof(renderers));
        // A loop rather than Distinct(): this runs at every start of the command that owns the table, and LINQ's
        // set costs its first-use dispatch and hashing set-up there.
        for (var i = 0; i < renderers.Length; i++)
            for (var j = 0; j < i; j++)
                if (renderers[i].Name == renderers[j].Name)
                    throw new ArgumentException("two formats share a name", nameof(renderers));
        _renderers = renderers;
    }

    public IReadOnlyList<IReportRenderer<TReport>> All => _renderers;

    /// <summary>The format used when <c>--format</c> is not given.</summary>
    public IReportRenderer<TReport> Default => _renderers[0];

    public IEnumerable<string> Names => _renderers.Select(r => r.Name);

    /// <summary>The renderer of a format the option accepted (an unknown name is a bug: the option refuses
    /// it).</summary>
    public IReportRenderer<TReport> this[string name] =>
        Array.Find(_renderers, r => r.Name == name)
        ?? throw new ArgumentException($"no format '{name}' (known: {string.Join(", ", Names)})", nameof(name));
}
