using Kvmtune.Vms;

namespace Kvmtune.Reports;

/// <summary>What some formats need beside the report: one context serves every format of a command.</summary>
public sealed class RenderContext(TextStyle style, DateTimeOffset now)
{
    /// <summary>Colour for text at a terminal; plain for pipes, files and NO_COLOR.</summary>
    public TextStyle Style { get; } = style;

    /// <summary>When the report was made: Prometheus series and HTML pages carry it.</summary>
    public DateTimeOffset Now { get; } = now;

    /// <summary>Text formats: each finding's id, reason, evidence and every fix (<c>--details</c>).</summary>
    public bool Details { get; init; }

    /// <summary>
    /// The VM placement a host picture shows (<c>--plan</c>). Called only by a format that draws one: loading a
    /// spec can start QEMU to ask its machine types, which the other formats must not pay for.
    /// </summary>
    public Func<ResolvedPlan?> Plan { get; init; } = static () => null;
}
