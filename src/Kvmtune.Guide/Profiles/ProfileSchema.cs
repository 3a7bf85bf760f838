using System.Globalization;

namespace Kvmtune.Guide.Profiles;

public enum SettingType
{
    Choice,
    Bool,
    Integer,
    Range,
}

/// <summary>One setting a profile may give: its type, what it accepts, the guide section it implements, and what it
/// does.</summary>
public sealed record SettingDefinition(
    string Key,
    SettingType Type,
    string Section,
    string Description,
    IReadOnlyList<string>? Choices = null,
    long Min = 0,
    long Max = long.MaxValue
);

/// <summary>A setting's value: one of the definition's choices, a boolean, a number, or an inclusive range.</summary>
public abstract record SettingValue
{
    public abstract string Text { get; }
}

public sealed record ChoiceValue(string Value) : SettingValue
{
    public override string Text => Value;
}

public sealed record BoolValue(bool Value) : SettingValue
{
    public override string Text => Value ? "true" : "false";
}

public sealed record IntegerValue(long Value) : SettingValue
{
    public override string Text => Value.ToString(CultureInfo.InvariantCulture);
}

public sealed record RangeValue(long Min, long Max) : SettingValue
{
    public override string Text => Min == Max ? Min.ToString(CultureInfo.InvariantCulture) : $"{Min}-{Max}";

    public bool Contains(long v) => v >= Min && v <= Max;
}

/// <summary>Every setting a profile can hold. Custom profiles may use only these keys.</summary>
public static class ProfileSchema
{
    private static readonly string[] Tristate = ["required", "recommended", "any"];

    public static readonly IReadOnlyList<SettingDefinition> Settings =
    [
        new(
            "bios.virtualization",
            SettingType.Choice,
            "2.1",
            "Intel VT-x visible to the OS (vmx flag, kvm_intel loaded, /dev/kvm usable)",
            Tristate
        ),
        new(
            "bios.vtd",
            SettingType.Choice,
            "2.1",
            "Intel VT-d: DMAR table from firmware, IOMMU enabled in the kernel (intel_iommu=on)",
            Tristate
        ),
        new(
            "bios.hyperthreading",
            SettingType.Choice,
            "2.1",
            "Hyper-Threading: SMT active",
            ["enabled", "disabled", "any"]
        ),
        new(
            "bios.turbo",
            SettingType.Choice,
            "2.1",
            "Turbo Boost available to the OS (no_turbo=0, boost=1)",
            ["enabled", "disabled", "any"]
        ),
        new(
            "bios.energy_policy",
            SettingType.Choice,
            "2.1",
            "CPU power and performance policy (EPP/EPB)",
            ["performance", "balance_performance", "any"]
        ),
        new(
            "bios.cstates",
            SettingType.Choice,
            "2.1",
            "C1E and C6: disabled in firmware or at runtime for the lowest wake-up latency",
            ["disabled", "enabled", "any"]
        ),
        new(
            "cpu.governor",
            SettingType.Choice,
            "3.2.2",
            "CPUfreq scaling governor on every online CPU",
            ["performance", "powersave", "ondemand", "schedutil", "conservative", "any"]
        ),
        new(
            "kernel.idle_poll",
            SettingType.Choice,
            "3.2.4",
            "idle=poll on the host kernel command line: never enter C-states",
            ["required", "forbidden", "any"]
        ),
        new(
            "kvm.ple",
            SettingType.Choice,
            "3.2.4",
            "Pause Loop Exiting (kvm_intel ple_gap/ple_window)",
            ["disabled", "enabled", "any"]
        ),
        new(
            "memory.thp",
            SettingType.Choice,
            "3.2.3",
            "Transparent huge pages mode",
            ["always", "madvise", "never", "any"]
        ),
        new(
            "memory.hugepages.size",
            SettingType.Choice,
            "3.2.3",
            "Static huge page size for VM memory (1GiB needs the pdpe1gb CPU flag)",
            ["1GiB", "2MiB", "none"]
        ),
        new(
            "memory.hugepages.percent",
            SettingType.Integer,
            "3.2.3",
            "Share of each node's memory reserved as static huge pages",
            Min: 0,
            Max: 95
        ),
        new("memory.hugetlbfs", SettingType.Bool, "3.2.3", "A hugetlbfs mount for each reserved page size"),
        new("memory.ksm", SettingType.Choice, "3.2.5", "Kernel Samepage Merging", ["on", "off", "any"]),
        new(
            "memory.ksm.pages_to_scan",
            SettingType.Range,
            "3.2.5",
            "KSM pages scanned per wake-up",
            Min: 1,
            Max: 100_000
        ),
        new(
            "memory.ksm.sleep_millisecs",
            SettingType.Range,
            "3.2.5",
            "KSM sleep between scans (ms)",
            Min: 0,
            Max: 60_000
        ),
        new("kvm.halt_poll_ns", SettingType.Range, "3.2.6", "KVM halt polling time (ns)", Min: 0, Max: 100_000_000),
        new(
            "kvm.halt_poll_ns_grow",
            SettingType.Range,
            "3.2.6",
            "Factor by which halt polling grows",
            Min: 0,
            Max: 100
        ),
        new(
            "kvm.halt_poll_ns_shrink",
            SettingType.Range,
            "3.2.6",
            "Divisor by which halt polling shrinks (0 resets)",
            Min: 0,
            Max: 100
        ),
        new(
            "kernel.nohz_full",
            SettingType.Choice,
            "3.2.7",
            "nohz_full on all CPUs but one housekeeping CPU per NUMA node",
            ["required", "any"]
        ),
        new(
            "numa.balancing",
            SettingType.Choice,
            "3.2.1",
            "Automatic NUMA balancing: auto is on unless a device is bound to vfio-pci",
            ["auto", "on", "off"]
        ),
        new("numa.irq_affinity", SettingType.Bool, "3.2.1", "IRQs of node-local devices kept on their node"),
        new("qemu.mem_lock", SettingType.Bool, "3.3.1", "VMs run with -overcommit mem-lock=on (needs a memlock limit)"),
        new("qemu.cpu_pm", SettingType.Bool, "3.3.1", "VMs run with -overcommit cpu-pm=on (dedicated CPUs only)"),
        new("qemu.overcommit", SettingType.Bool, "3.3.1", "This host overcommits CPUs and memory"),
        new("vhost.zerocopy_tx", SettingType.Bool, "3.3.3", "vhost_net experimental_zcopytx=1"),
        new(
            "guest.halt_poll_ns",
            SettingType.Range,
            "3.4.1",
            "Guest halt polling time, haltpoll guest_halt_poll_ns (ns)",
            Min: 0,
            Max: 100_000_000
        ),
        new(
            "guest.rq_affinity",
            SettingType.Integer,
            "3.4.2",
            "rq_affinity on multi-queue block devices in the guest",
            Min: 0,
            Max: 2
        ),
        new(
            "guest.net_queues",
            SettingType.Choice,
            "3.3.3",
            "virtio-net queues in the guest: one per vCPU",
            ["per_vcpu", "any"]
        ),
    ];

    public static SettingDefinition? Find(string key) => Settings.FirstOrDefault(s => s.Key == key);

    /// <summary>Parses text for a setting; null with an error that says what is accepted.</summary>
    public static SettingValue? Parse(SettingDefinition def, string text, out string? error)
    {
        error = null;
        var t = text.Trim();
        switch (def.Type)
        {
            case SettingType.Choice:
                if (def.Choices!.Contains(t, StringComparer.Ordinal))
                    return new ChoiceValue(t);
                error = $"'{t}' is not one of {string.Join(", ", def.Choices!)}";
                return null;
            case SettingType.Bool:
                if (t is "true" or "yes" or "on")
                    return new BoolValue(true);
                if (t is "false" or "no" or "off")
                    return new BoolValue(false);
                error = $"'{t}' is not true or false";
                return null;
            case SettingType.Integer:
                if (
                    long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    && n >= def.Min
                    && n <= def.Max
                )
                    return new IntegerValue(n);
                error = $"'{t}' is not a whole number from {def.Min} to {def.Max}";
                return null;
            case SettingType.Range:
                var dash = t.IndexOf('-', 1);
                var lo = dash < 0 ? t : t[..dash];
                var hi = dash < 0 ? t : t[(dash + 1)..];
                if (
                    long.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                    && long.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
                    && a <= b
                    && a >= def.Min
                    && b <= def.Max
                )
                    return new RangeValue(a, b);
                error = $"'{t}' is not a number or a range MIN-MAX within {def.Min}-{def.Max}";
                return null;
        }
        error = "unknown setting type";
        return null;
    }
}
