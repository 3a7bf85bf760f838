using Kvmtune.Facts.Host;
using Kvmtune.Facts.Host.Virtualization;
using Kvmtune.Facts.IO;
using Kvmtune.Guide.Audit;
using Kvmtune.Guide.Profiles;

namespace Kvmtune.Tests.Audit;

internal static class AuditHarness
{
    public static AuditReport Run(
        string root,
        string profile = "balanced",
        MachineRole? role = null,
        VmSize? size = null
    )
    {
        var facts = HostFacts.Read(new HostReader(root));
        return Auditor.Run(
            new AuditContext(facts, BuiltInProfiles.Get(profile)!, role ?? facts.Virtualization.Role, size)
        );
    }

    public static Finding Find(this AuditReport r, string id) =>
        r.Findings.SingleOrDefault(f => f.Id == id)
        ?? throw new Xunit.Sdk.XunitException(
            $"no finding {id}; have {string.Join(", ", r.Findings.Select(f => f.Id))}"
        );
}
