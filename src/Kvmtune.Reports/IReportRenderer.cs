namespace Kvmtune.Reports;

/// <summary>
/// One output format of one kind of report: the <c>--format</c> value that picks it, a few words for the command's
/// help, and the rendering. A renderer keeps no state; the same instance serves every run.
/// </summary>
public interface IReportRenderer<in TReport>
{
    /// <summary>The <c>--format</c> value.</summary>
    string Name { get; }

    /// <summary>What the format is, for <c>--help</c>: a few words, no parentheses (help puts them in some).</summary>
    string Description { get; }

    /// <summary>The whole output, as it goes to stdout or <c>--output</c>.</summary>
    string Render(TReport report, RenderContext context);
}
