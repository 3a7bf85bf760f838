using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Kvmtune.Facts;
using Kvmtune.Facts.Host;
using Kvmtune.Facts.Parsing;
using Kvmtune.Guide.Sections;

namespace Kvmtune.Vms.Tune;

/// <summary>One change made to the domain, with the guide section it comes from.</summary>
public sealed record TuneChange(string Section, string Text)
{
    public override string ToString() => $"{Section}: {Text}";
}

public sealed record TuneResult(string Xml, IReadOnlyList<TuneChange> Changes, ResolvedVm Vm);

/// <summary>
/// An existing libvirt domain with the guide's tuning for a workload: kvmtune's placement for this host (vcpupin,
/// emulatorpin, iothreadpin, numatune), huge pages, locked memory with its hard_limit, iothreads, virtio queues,
/// packed rings, vhost, cache and io modes, and -overcommit cpu-pm=on as &lt;qemu:commandline&gt;. Everything else
/// (devices, disk sources, MACs, UUID, metadata, comments) stays as the element tree it was.
/// </summary>
public static class DomainTuner
{
    public const int MaxBytes = 4 << 20;

    private static readonly XNamespace Qemu = LibvirtDomain.QemuNamespace;

    /// <summary>Reads a domain XML without DTDs, entities or external resources; bad XML is bad input.</summary>
    public static XDocument Load(byte[] bytes, string file)
    {
        if (bytes.Length > MaxBytes)
            throw new InputException(file, null, null, $"{bytes.Length} bytes; a domain XML is at most {MaxBytes}");
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 0,
            MaxCharactersInDocument = MaxBytes,
        };
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), settings);
            var doc = XDocument.Load(reader, LoadOptions.PreserveWhitespace | LoadOptions.SetLineInfo);
            if (doc.Root?.Name.LocalName != "domain" || doc.Root.Name.Namespace != XNamespace.None)
                throw new InputException(file, 1, null, "not a libvirt domain (the root element is not <domain>)");
            return doc;
        }
        catch (XmlException e)
        {
            throw new InputException(file, e.LineNumber, null, $"not well-formed XML: {e.Message}");
        }
    }

    /// <summary>libvirt's memory units (domain XML documentation): bytes, KB = 1000, k/KiB = 1024, and so on.</summary>
    public static long? Kib(XElement? e)
    {
        if (e is null || !long.TryParse(e.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            return null;
        var unit = e.Attribute("unit")?.Value ?? "KiB";
        long? bytes = unit switch
        {
            "b" or "bytes" => n,
            "KB" => n * 1000,
            "k" or "KiB" => n << 10,
            "MB" => n * 1000_000,
            "M" or "MiB" => n << 20,
            "GB" => n * 1000_000_000,
            "G" or "GiB" => n << 30,
            "TB" => n * 1000_000_000_000,
            "T" or "TiB" => n << 40,
            _ => null,
        };
        return bytes / 1024;
    }

    private static string Line(XObject o) => o is IXmlLineInfo l && l.HasLineInfo() ? $" (line {l.LineNumber})" : "";

    private static string Yaml(string s) => "'" + s.Replace("'", "''") + "'";

    public static TuneResult Tune(
        XDocument doc,
        string file,
        HostFacts host,
        string workload,
        string? accel,
        QemuInstall qemu
    )
    {
        var root = doc.Root!;
        var changes = new List<TuneChange>();
        var name =
            root.Element("name")?.Value.Trim()
            ?? throw new InputException(file, null, "name", "the domain has no <name>");
        var vcpuEl = root.Element("vcpu") ?? throw new InputException(file, null, "vcpu", "the domain has no <vcpu>");
        if (
            !int.TryParse(vcpuEl.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var vcpus)
            || vcpus is < 1 or > 4096
        )
            throw new InputException(
                file,
                ((IXmlLineInfo)vcpuEl).LineNumber,
                "vcpu",
                $"'{SafeText.Visible(vcpuEl.Value)}' is not a vCPU count"
            );

        var memKib =
            Kib(root.Element("memory"))
            ?? throw new InputException(file, null, "memory", "the domain's <memory> is missing or not a size");
        var acc = accel ?? (root.Attribute("type")?.Value == "kvm" ? "kvm" : "tcg");
        var devices = root.Element("devices");
        static string? Source(XElement d) =>
            d.Element("source")?.Attribute(d.Attribute("type")?.Value == "block" ? "dev" : "file")?.Value;
        var disks = (devices?.Elements("disk") ?? [])
            .Where(d =>
                (d.Attribute("device")?.Value ?? "disk") == "disk"
                && d.Element("target")?.Attribute("bus")?.Value == "virtio"
                && Source(d) is not null
            )
            .ToList();

        // The VM as a kvmtune spec, so the planner and the workload's defaults decide as for vm libvirt.
        ResolvedVm? vm = null;
        string? lastReason = null;
        foreach (var huge in new string?[] { null, "2MiB", "none" })
        {
            var yaml =
                $"name: {Yaml(name)}\nvcpus: {vcpus}\nmemory: {memKib}KiB\nworkload: {workload}\n"
                + (huge is null ? "" : $"hugepages: {huge}\n")
                + (
                    disks.Count == 0
                        ? ""
                        : "disks:\n"
                            + string.Concat(
                                disks.Select(d =>
                                    $"  - {{ path: {Yaml(Source(d)!)}, "
                                    + $"format: {Yaml(d.Element("driver")?.Attribute("type")?.Value ?? "raw")} }}\n"
                                )
                            )
                );
            VmSpec spec;
            try
            {
                spec = VmSpecParser.Parse(yaml, file, host).Single();
            }
            catch (InputException e) when (huge != "none" && e.Message.Contains("pages"))
            {
                lastReason = e.Message;
                continue;
            }
            var plan = new Planner(host).Plan([spec]);
            if (plan.Vms.Count == 0)
            {
                lastReason = plan.Unplaced.FirstOrDefault()?.Reason;
                continue;
            }
            if (huge is not null)
                changes.Add(new("3.2.3", $"huge pages {huge} instead of the workload's ({lastReason})"));
            vm = VmResolver.Resolve(spec, plan.Vms[0], host, acc, qemu);
            break;
        }
        // Not bad input: this host has no room for it (exit 1, as vm plan for an unplaced VM).
        if (vm is null)
            throw new InvalidOperationException($"{name} cannot be placed on this host: {lastReason}");

        var p = vm.Plan;

        // 3.3.1 and 3.2.3: memory.
        if (vm.LockLimitKib is long limit)
        {
            var memtune = Ensure(root, "memtune", vcpuEl);
            memtune.Elements("hard_limit").Remove();
            memtune.Add(new XElement("hard_limit", new XAttribute("unit", "KiB"), limit));
            changes.Add(new("3.3.1", $"<memtune><hard_limit unit='KiB'>{limit}</hard_limit> (guest RAM + 1 GiB)"));
        }
        var backing = root.Element("memoryBacking");
        if (vm.HugepageKib is long page)
        {
            backing ??= Ensure(root, "memoryBacking", vcpuEl);
            backing.Elements("hugepages").Remove();
            backing.AddFirst(
                new XElement(
                    "hugepages",
                    new XElement("page", new XAttribute("size", page), new XAttribute("unit", "KiB"))
                )
            );
            changes.Add(new("3.2.3", $"<memoryBacking><hugepages><page size='{page}' unit='KiB'/>"));
        }
        if (!vm.MemMerge && backing?.Element("nosharepages") is null)
        {
            backing ??= Ensure(root, "memoryBacking", vcpuEl);
            backing.Add(new XElement("nosharepages"));
            changes.Add(new("3.2.5", "<memoryBacking><nosharepages/> (no KSM merging for this workload)"));
        }
        if (vm.MemLock && backing?.Element("locked") is null)
        {
            backing ??= Ensure(root, "memoryBacking", vcpuEl);
            backing.Add(new XElement("locked"));
            changes.Add(new("3.3.1", "<memoryBacking><locked/>"));
        }

        // 3.2.1 and 3.3.4: threads, pins, NUMA.
        var iothreadOf = p
            .IothreadPins.Select((io, i) => (io.Iothread, Id: i + 1))
            .ToDictionary(x => x.Iothread, x => x.Id);
        if (p.IothreadPins.Count > 0)
        {
            var io = root.Element("iothreads");
            var have = io is not null && int.TryParse(io.Value.Trim(), out var n) ? n : 0;
            if (have < p.IothreadPins.Count)
            {
                io?.Remove();
                vcpuEl.AddAfterSelf(new XElement("iothreads", p.IothreadPins.Count));
                changes.Add(new("3.3.4", $"<iothreads>{p.IothreadPins.Count}</iothreads>"));
            }
        }
        var cputune = Ensure(root, "cputune", vcpuEl);
        cputune.Elements().Where(e => e.Name.LocalName is "vcpupin" or "emulatorpin" or "iothreadpin").Remove();
        foreach (var v in p.VcpuPins)
            cputune.Add(
                new XElement(
                    "vcpupin",
                    new XAttribute("vcpu", v.Vcpu),
                    new XAttribute("cpuset", CpuList.Format(v.Cpus))
                )
            );
        cputune.Add(new XElement("emulatorpin", new XAttribute("cpuset", CpuList.Format(p.EmulatorCpus))));
        foreach (var io in p.IothreadPins)
            cputune.Add(
                new XElement(
                    "iothreadpin",
                    new XAttribute("iothread", iothreadOf[io.Iothread]),
                    new XAttribute("cpuset", CpuList.Format(io.Cpus))
                )
            );
        changes.Add(
            new(
                "3.2.1",
                "<cputune>: "
                    + string.Join(", ", p.VcpuPins.Select(v => $"vCPU {v.Vcpu} on {CpuList.Format(v.Cpus)}"))
                    + $"; emulator on {CpuList.Format(p.EmulatorCpus)}"
                    + (p.IothreadPins.Count > 0 ? "; iothreads beside it" : "")
            )
        );
        var numatune = Ensure(root, "numatune", vcpuEl);
        numatune.Elements("memory").Remove();
        numatune.AddFirst(
            new XElement("memory", new XAttribute("mode", "strict"), new XAttribute("nodeset", CpuList.Format(p.Nodes)))
        );
        var cells = root.Element("cpu")?.Element("numa")?.Elements("cell").ToList() ?? [];
        if (cells.Count == vm.Memory.Count && cells.Count > 0)
        {
            numatune.Elements("memnode").Remove();
            for (var i = 0; i < cells.Count; i++)
                numatune.Add(
                    new XElement(
                        "memnode",
                        new XAttribute("cellid", cells[i].Attribute("id")?.Value ?? i.ToString()),
                        new XAttribute("mode", "strict"),
                        new XAttribute("nodeset", vm.Memory[i].HostNode)
                    )
                );
        }
        changes.Add(new("3.2.1", $"<numatune><memory mode='strict' nodeset='{CpuList.Format(p.Nodes)}'/>"));
        if (vm.HintDedicated)
        {
            var kvm = Ensure(Ensure(root, "features", vcpuEl), "kvm", null);
            kvm.Elements("hint-dedicated").Remove();
            kvm.Add(new XElement("hint-dedicated", new XAttribute("state", "on")));
            changes.Add(new("3.3.1", "<features><kvm><hint-dedicated state='on'/> (dedicated vCPUs)"));
        }

        // 3.3.4: each virtio disk, in the order the spec listed them.
        for (var i = 0; i < disks.Count && i < vm.Disks.Count; i++)
        {
            var d = vm.Disks[i];
            var driver = disks[i].Element("driver");
            if (driver is null)
            {
                driver = new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", d.Format));
                disks[i].AddFirst(driver);
            }
            driver.SetAttributeValue("cache", d.Cache);
            driver.SetAttributeValue("io", d.Aio);
            driver.SetAttributeValue("queues", d.Queues);
            if (d.Packed)
                driver.SetAttributeValue("packed", "on");
            if (d.Iothread is int io)
                driver.SetAttributeValue("iothread", io);
            var target = disks[i].Element("target")?.Attribute("dev")?.Value;
            changes.Add(
                new(
                    "3.3.4",
                    $"disk {target}{Line(disks[i])}: <driver cache='{d.Cache}' io='{d.Aio}' "
                        + $"queues='{d.Queues}'{(d.Packed ? " packed='on'" : "")}"
                        + $"{(d.Iothread is int t ? $" iothread='{t}'" : "")}/>"
                )
            );
        }

        // 3.3.3: each virtio NIC: vhost, one queue pair per vCPU (up to 8), packed ring.
        var packedOk = qemu.Version is null || qemu.Version >= Section3_3_Qemu.PackedRingsQemu;
        foreach (var nic in devices?.Elements("interface") ?? [])
        {
            if (nic.Element("model")?.Attribute("type")?.Value != "virtio")
                continue;
            var type = nic.Attribute("type")?.Value;
            var driver = nic.Element("driver");
            if (driver is null)
                nic.Add(driver = new XElement("driver"));
            var what = new List<string>();
            if (acc == "kvm" && type is not ("user" or "vhostuser"))
            {
                driver.SetAttributeValue("name", "vhost");
                what.Add("name='vhost'");
            }
            var queues = Math.Min(vcpus, 8);
            if (queues > 1 && type is "network" or "bridge" or "ethernet" or "direct")
            {
                driver.SetAttributeValue("queues", queues);
                var unmanaged = type == "ethernet" && nic.Element("target")?.Attribute("managed")?.Value == "no";
                what.Add($"queues='{queues}'" + (unmanaged ? " (the tap must be made with multi_queue)" : ""));
            }
            if (packedOk)
            {
                driver.SetAttributeValue("packed", "on");
                what.Add("packed='on'");
            }
            var mac = nic.Element("mac")?.Attribute("address")?.Value;
            if (what.Count > 0)
                changes.Add(new("3.3.3", $"interface {mac ?? type}{Line(nic)}: <driver {string.Join(" ", what)}/>"));
        }

        // 3.3.1: cpu-pm has no libvirt element: -overcommit as custom QEMU arguments (libvirt taints it custom-argv).
        if (vm.CpuPm && vm.Overcommit is string over)
        {
            if (root.Attribute(XNamespace.Xmlns + "qemu") is null)
                root.SetAttributeValue(XNamespace.Xmlns + "qemu", Qemu.NamespaceName);
            var cmd = root.Element(Qemu + "commandline");
            if (cmd is null)
                root.Add(cmd = new XElement(Qemu + "commandline"));
            var args = cmd.Elements(Qemu + "arg").ToList();
            for (var i = 0; i < args.Count; i++)
                if (args[i].Attribute("value")?.Value == "-overcommit")
                {
                    args[i].Remove();
                    if (i + 1 < args.Count)
                        args[++i].Remove();
                }
            cmd.Add(
                new XElement(Qemu + "arg", new XAttribute("value", "-overcommit")),
                new XElement(Qemu + "arg", new XAttribute("value", over))
            );
            changes.Add(
                new("3.3.1", $"<qemu:commandline> -overcommit {over} (libvirt marks the domain tainted custom-argv)")
            );
        }
        foreach (var lost in vm.Decisions.Where(x => x.Adjusted))
            changes.Add(new("note", lost.ToString()));
        var xml = doc.Declaration is null
            ? doc.ToString(SaveOptions.DisableFormatting)
            : doc.Declaration + doc.ToString(SaveOptions.DisableFormatting);
        return new TuneResult(xml + "\n", changes, vm);
    }

    /// <summary>
    /// The child of that name, made after <paramref name="after"/> (or last) when the domain has none.
    /// </summary>
    private static XElement Ensure(XElement parent, string name, XElement? after)
    {
        var e = parent.Element(name);
        if (e is not null)
            return e;
        e = new XElement(name);
        if (after is not null)
            after.AddAfterSelf(e);
        else
            parent.Add(e);
        return e;
    }
}
