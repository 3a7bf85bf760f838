using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kvmtune.Bench;

/// <summary>
/// What a reader needs to tell which machine class a table holds for: the CPU model, the kernel, whether it is a
/// guest, the load while the table ran, and the measured cost of one minor page fault.
/// </summary>
public static class Machine
{
    private const int ProtReadWrite = 3,
        MapPrivateAnonymous = 0x22,
        MadvNoHugepage = 15,
        RusageThread = 1;

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr mmap(IntPtr addr, UIntPtr length, int prot, int flags, int fd, IntPtr offset);

    [DllImport("libc")]
    private static extern int munmap(IntPtr addr, UIntPtr length);

    [DllImport("libc")]
    private static extern int madvise(IntPtr addr, UIntPtr length, int advice);

    [DllImport("libc")]
    private static extern int getrusage(int who, IntPtr usage);

    public static string Describe()
    {
        var cpuinfo = File.ReadAllLines("/proc/cpuinfo");
        string Field(string key) =>
            cpuinfo.FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var guest = Field("flags").Split(' ').Contains("hypervisor") ? "a guest (hypervisor flag)" : "bare metal";
        return $"CPU {Field("model name")}, {Environment.ProcessorCount} CPUs, {guest}; kernel "
            + $"{File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}; {FaultCost()}";
    }

    public static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>
    /// Maps 64 MiB of fresh anonymous memory (transparent huge pages refused for it), writes one byte in each 4 KiB
    /// page, and times it; the same loop over the now-mapped pages is subtracted, and the difference is divided by
    /// the minor faults getrusage(RUSAGE_THREAD) counted. Median of 7.
    /// </summary>
    public static string FaultCost()
    {
        const int pages = 16384;
        var len = (UIntPtr)(pages * 4096L);
        var costs = new List<double>();
        long faults = 0;
        for (var round = 0; round < 7; round++)
        {
            var p = mmap(IntPtr.Zero, len, ProtReadWrite, MapPrivateAnonymous, -1, IntPtr.Zero);
            if (p == new IntPtr(-1))
                throw new InvalidOperationException("mmap failed");
            madvise(p, len, MadvNoHugepage);
            var before = MinorFaults();
            var t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < pages; i++)
                Marshal.WriteByte(p, i * 4096, 1);
            var first = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            faults = MinorFaults() - before;
            t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < pages; i++)
                Marshal.WriteByte(p, i * 4096, 2);
            var again = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            munmap(p, len);
            if (faults > 0)
                costs.Add((first - again) / faults);
        }
        costs.Sort();
        return $"one minor page fault {costs[costs.Count / 2]:0.00} us "
            + $"(first write to fresh anonymous 4 KiB pages, {faults} faults a round, median of 7 rounds)";
    }

    private static long MinorFaults()
    {
        var usage = Marshal.AllocHGlobal(256);
        try
        {
            getrusage(RusageThread, usage);
            return Marshal.ReadInt64(usage, 64);
        }
        finally
        {
            Marshal.FreeHGlobal(usage);
        }
    }
}
