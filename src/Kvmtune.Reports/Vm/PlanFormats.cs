using Kvmtune.Vms;

namespace Kvmtune.Reports.Vm;

/// <summary>The formats of <c>kvmtune vm plan</c>, text first.</summary>
public static class PlanFormats
{
    public static readonly ReportFormats<ResolvedPlan> All = new(new PlanTextRenderer(), new PlanJsonRenderer());
}
