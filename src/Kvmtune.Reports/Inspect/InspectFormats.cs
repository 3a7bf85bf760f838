using Kvmtune.Facts.Host;
using Kvmtune.Reports.Svg;

namespace Kvmtune.Reports.Inspect;

/// <summary>The formats of <c>kvmtune inspect</c>, text first.</summary>
public static class InspectFormats
{
    public static readonly ReportFormats<HostFacts> All = new(
        new InspectTextRenderer(),
        new InspectJson(),
        new HostSvgRenderer()
    );
}
