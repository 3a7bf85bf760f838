using Kvmtune.Core.Changes;

namespace Kvmtune.Core.Audit.Rules;

/// <summary>Guide 3.2.5, Kernel Samepage Merging: on with sane scanning for density, off for latency; ksmtuned.</summary>
public static class Section3_2_5_Ksm
{
    private const string S = "3.2.5";
    private const string Dir = "/sys/kernel/mm/ksm";

    public static IEnumerable<Finding> Evaluate(AuditContext c)
    {
        yield return Run(c);
        if (c.Profile.Choice("memory.ksm") == "on") yield return Scan(c);
        yield return Ksmtuned(c);
    }

    private static Finding Run(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm", title = "KSM (ksmd) running";
        var want = c.Profile.Choice("memory.ksm");
        var evidence = new[] { $"{Dir}/run" };
        var rationale = c.Profile.Reason("memory.ksm");
        if (k.Run is not int run)
        {
            if (c.Facts.Kernel.Config?.Get("CONFIG_KSM") == "n")
                return Rule.Make(id, S, title, want == "on" ? FindingStatus.Fail : FindingStatus.Pass, "KSM not built into this kernel", want, rationale, evidence);
            return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", want, rationale, evidence);
        }
        var current = run switch { 1 => "run=1 (merging)", 2 => "run=2 (stopped, unmerged)", _ => "run=0 (stopped)" };
        if (want == "any") return Rule.Make(id, S, title, FindingStatus.Info, current, "any", rationale, evidence);
        var on = run == 1;
        if (on == (want == "on")) return Rule.Make(id, S, title, FindingStatus.Pass, current, want == "on" ? "run=1" : "run=0 or 2", rationale, evidence);
        return Rule.Make(id, S, title, want == "on" ? FindingStatus.Warn : FindingStatus.Fail, current, want == "on" ? "run=1" : "run=0 or 2", rationale, evidence,
            new SysfsWrite(S, $"{Dir}/run", want == "on" ? "1" : "2"));
    }

    private static Finding Scan(AuditContext c)
    {
        var k = c.Facts.Memory.Ksm;
        const string id = "host.memory.ksm_scan", title = "KSM scan rate";
        var pages = c.Profile.Range("memory.ksm.pages_to_scan");
        var sleep = c.Profile.Range("memory.ksm.sleep_millisecs");
        var evidence = new[] { $"{Dir}/pages_to_scan", $"{Dir}/sleep_millisecs" };
        var rationale = "ksmd scans pages_to_scan pages every sleep_millisecs: too slow finds nothing, too fast costs a CPU";
        var expected = $"pages_to_scan {pages.Text}, sleep_millisecs {sleep.Text}";
        if (k.PagesToScan is not long p || k.SleepMillisecs is not long s) return Rule.Make(id, S, title, FindingStatus.Unknown, "unknown", expected, rationale, evidence);
        var current = $"pages_to_scan {p}, sleep_millisecs {s}";
        var changes = new List<PlannedChange>();
        if (!pages.Contains(p)) changes.Add(new SysfsWrite(S, $"{Dir}/pages_to_scan", Clamp(p, pages).ToString()));
        if (!sleep.Contains(s)) changes.Add(new SysfsWrite(S, $"{Dir}/sleep_millisecs", Clamp(s, sleep).ToString()));
        return Rule.Make(id, S, title, changes.Count == 0 ? FindingStatus.Pass : FindingStatus.Warn, current, expected, rationale, evidence, changes);
    }

    internal static long Clamp(long v, Profiles.RangeValue r) => Math.Min(Math.Max(v, r.Min), r.Max);

    private static Finding Ksmtuned(AuditContext c)
    {
        var u = c.Facts.Userspace;
        const string id = "host.memory.ksmtuned", title = "ksmtuned";
        var want = c.Profile.Choice("memory.ksm");
        var evidence = new[] { "/usr/sbin/ksmtuned", "/proc" };
        var installed = u.Tool("ksmtuned") is not null;
        var running = u.IsRunning("ksmtuned");
        var current = $"installed {Rule.YesNo(installed)}, running {Rule.YesNo(running)}";
        if (want == "on")
            return Rule.Make(id, S, title, running == true ? FindingStatus.Pass : running is null ? FindingStatus.Unknown : FindingStatus.Info, current, "running",
                "ksmtuned raises and lowers the scan rate with memory pressure", evidence,
                running == true ? [] : [new ManualStep(S, installed ? "systemctl enable --now ksmtuned" : "install ksmtuned (Debian/Ubuntu: apt-get install ksmtuned), then systemctl enable --now ksmtuned")]);
        if (want == "off" && running == true)
            return Rule.Make(id, S, title, FindingStatus.Warn, current, "not running", "ksmtuned turns KSM back on under memory pressure", evidence,
                new ManualStep(S, "systemctl disable --now ksmtuned"));
        return Rule.Make(id, S, title, running is null ? FindingStatus.Unknown : FindingStatus.Info, current, null, "ksmtuned only matters where KSM is on", evidence);
    }
}
