namespace Kvmtune.Reports.Fleet;

/// <summary>The formats of <c>kvmtune fleet</c>, text first.</summary>
public static class FleetFormats
{
    public static readonly ReportFormats<FleetReport> All = new(new FleetTextRenderer(), new FleetHtmlRenderer());
}
