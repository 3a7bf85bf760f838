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

    /// <summary>
    /// The same output as UTF-8 bytes written to a stream; a format whose documents grow large (the plan of 10,000
    /// VMs is 28 MB) writes it piece by piece instead of building one string.
    /// </summary>
    void Write(TReport report, RenderContext context, Stream utf8)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(Render(report, context));
        utf8.Write(bytes);
    }
}
