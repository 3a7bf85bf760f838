using System.Runtime.InteropServices;
using System.Text;
using AwesomeAssertions;
using Kvmtune.Cli;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Cli;

/// <summary>
/// kvmtune's standard output is written with write(2) on descriptor 1 (<see cref="DescriptorStream"/>), not
/// through the console. What a shell's redirection expects of it is the kernel's to say: the bytes a file or a
/// pipe ends up holding, read back here with the kernel's own calls.
/// </summary>
public sealed class DescriptorStreamTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int pipe2(int[] fds, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags, int mode);

    [DllImport("libc", SetLastError = true)]
    private static extern nint write(int fd, byte[] buffer, nint count);

    private const int OWrOnly = 1,
        OCreat = 0x40,
        OAppend = 0x400,
        ONonBlock = 0x800,
        OCloExec = 0x80000,
        FSetFl = 4;

    [Fact]
    public void Output_appended_to_a_file_lands_after_what_it_held()
    {
        // `kvmtune inspect >> log`: O_APPEND puts every write at the end, whatever the offset.
        using var t = new TestTree();
        var path = t.Physical("/log");
        File.WriteAllText(path, "earlier\n");
        var fd = open(path, OWrOnly | OAppend | OCloExec, 0);
        fd.Should().BeGreaterThanOrEqualTo(0);
        try
        {
            new DescriptorStream(fd).Write("kvmtune\n"u8);
        }
        finally
        {
            close(fd);
        }
        File.ReadAllText(path).Should().Be("earlier\nkvmtune\n");
    }

    [Fact]
    public void Output_advances_the_offset_it_shares_with_the_next_writer()
    {
        // `(kvmtune inspect; echo done) > file`: both write through one open file, so kvmtune's write must move its
        // offset (pwrite at a position of its own would leave the next writer to overwrite the document).
        using var t = new TestTree();
        var path = t.Physical("/out");
        var fd = open(path, OWrOnly | OCreat | OCloExec, Convert.ToInt32("644", 8));
        fd.Should().BeGreaterThanOrEqualTo(0);
        try
        {
            var stream = new DescriptorStream(fd);
            stream.Write("first\n"u8);
            stream.Write(Encoding.UTF8.GetBytes("second\n"), 0, 7);
            write(fd, "done\n"u8.ToArray(), 5).Should().Be(5);
        }
        finally
        {
            close(fd);
        }
        File.ReadAllText(path).Should().Be("first\nsecond\ndone\n");
    }

    [Fact]
    public void A_reader_that_went_away_ends_the_output_quietly()
    {
        // `kvmtune inspect | head -1`: EPIPE (SIGPIPE is ignored by the .NET runtime) is the end of the output, as
        // it is for the console's stream, not an error of the command.
        var fds = new int[2];
        pipe2(fds, OCloExec).Should().Be(0);
        close(fds[0]);
        try
        {
            var stream = new DescriptorStream(fds[1]);
            var act = () => stream.Write(new byte[100_000]);
            act.Should().NotThrow();
        }
        finally
        {
            close(fds[1]);
        }
    }

    [Fact]
    public void A_descriptor_left_non_blocking_gets_every_byte_in_order()
    {
        // A parent may hand kvmtune a non-blocking pipe: a full pipe answers EAGAIN, and the stream waits for room
        // instead of losing the rest. 1 MiB through a 64 KiB pipe, read by a slow reader.
        var fds = new int[2];
        pipe2(fds, OCloExec).Should().Be(0);
        fcntl(fds[1], FSetFl, ONonBlock).Should().Be(0);
        var data = new byte[1 << 20];
        new Random(15).NextBytes(data);
        var received = new MemoryStream();
        var reader = new Thread(() =>
        {
            var chunk = new byte[4096];
            while (true)
            {
                Thread.Sleep(1);
                var n = read(fds[0], chunk, chunk.Length);
                if (n < 0 && Marshal.GetLastPInvokeError() == 4)
                    continue; // EINTR
                if (n <= 0)
                    return;
                received.Write(chunk, 0, (int)n);
            }
        });
        reader.Start();
        try
        {
            new DescriptorStream(fds[1]).Write(data);
        }
        finally
        {
            close(fds[1]);
        }
        reader.Join(TimeSpan.FromSeconds(60)).Should().BeTrue();
        close(fds[0]);
        received.ToArray().Should().Equal(data);
    }

    [Fact]
    public void A_failing_write_is_an_error_that_names_the_cause()
    {
        // /dev/full answers every write with ENOSPC: a document that could not be written is not a success.
        var fd = open("/dev/full", OWrOnly | OCloExec, 0);
        fd.Should().BeGreaterThanOrEqualTo(0);
        try
        {
            var act = () => new DescriptorStream(fd).Write("x"u8);
            act.Should().Throw<OutputException>().WithMessage("*space*");
        }
        finally
        {
            close(fd);
        }
    }

    [Fact]
    public void The_binary_says_when_its_output_cannot_be_written()
    {
        // The shipped binary, as a shell runs it: a full disk is an error of the run (exit 4, one sentence), a
        // reader that stops early is not (exit 0, nothing on stderr). bash for the redirections and pipefail.
        var bin = KvmtuneProcess.Binary;
        foreach (var args in new[] { "profiles list", "--version", "inspect --format json" })
        {
            var full = Processes.Run("bash", ["-c", $"'{bin}' {args} >/dev/full"]);
            full.ExitCode.Should().Be(4, args);
            full.Stderr.Should().StartWith("kvmtune: cannot write the output: ").And.Contain("space", args);
        }
        var head = Processes.Run("bash", ["-c", $"set -o pipefail; '{bin}' inspect --format json | head -c1"]);
        head.ExitCode.Should().Be(0, head.Stderr);
        head.Stdout.Should().Be("{");
        head.Stderr.Should().BeEmpty();
    }
}
