using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Output;

/// <summary>packaging/build-deb.sh's package installed with apt-get on this machine, used, and purged without a
/// trace.</summary>
[Collection(Kvmtune.Tests.Changes.LiveSysfs.Name)]
public sealed class DebianPackageTests
{
    [Fact]
    public void The_package_installs_works_from_path_and_purges_cleanly()
    {
        Assert.SkipUnless(
            Environment.UserName == "root" && Processes.OnPath("apt-get") && Processes.OnPath("dpkg-deb"),
            "needs root, apt-get and dpkg-deb"
        );
        Assert.SkipWhen(
            Processes.Run("dpkg-query", ["-W", "kvmtune"]).ExitCode == 0,
            "a kvmtune package is already installed here; not touching it"
        );
        var build = Processes.Run(Path.Combine(Paths.RepoRoot, "packaging", "build-deb.sh"), [], timeoutMs: 600_000);
        build.ExitCode.Should().Be(0, build.Stderr);
        var deb = Path.Combine(Paths.RepoRoot, build.Stdout.Trim().Split('\n')[^1]);
        File.Exists(deb).Should().BeTrue(deb);
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var install = Processes.Run(
            "apt-get",
            ["install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=240", deb],
            env,
            timeoutMs: 300_000
        );
        install.ExitCode.Should().Be(0, install.Stdout + install.Stderr);
        var files = new List<string>();
        try
        {
            files = Processes
                .Run("dpkg-query", ["-L", "kvmtune"])
                .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .ToList();
            var version = Processes.Run("kvmtune", ["--version"]);
            version.ExitCode.Should().Be(0);
            version.Stdout.Should().StartWith("0.");
            Processes.Run("which", ["kvmtune"]).Stdout.Trim().Should().Be("/usr/bin/kvmtune");

            var man = Processes.Run(
                "man",
                ["-l", "/usr/share/man/man8/kvmtune.8.gz"],
                new Dictionary<string, string>
                {
                    ["MANPAGER"] = "cat",
                    ["PAGER"] = "cat",
                    ["MANWIDTH"] = "100",
                }
            );
            man.ExitCode.Should().Be(0, man.Stderr);
            man.Stdout.Should()
                .Contain("KVMTUNE(8)")
                .And.Contain("vm plan")
                .And.Contain("rollback")
                .And.Contain("--profile");

            var complete = Processes.Run(
                "bash",
                [
                    "-c",
                    "source /usr/share/bash-completion/completions/kvmtune; COMP_WORDS=(kvmtune au); COMP_CWORD=1; " +
                        "_kvmtune; echo \"${COMPREPLY[@]}\"",
                ]
            );
            complete.Stdout.Trim().Should().Be("audit");

            var verify = Processes.Run("systemd-analyze", ["verify", "/lib/systemd/system/kvmtune-apply.service"]);
            verify.ExitCode.Should().Be(0, verify.Stdout + verify.Stderr);
            File.Exists("/etc/default/kvmtune").Should().BeTrue();
            Directory.Exists("/etc/kvmtune/profiles").Should().BeTrue();
        }
        finally
        {
            var purge = Processes.Run(
                "apt-get",
                ["purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=240", "kvmtune"],
                env,
                timeoutMs: 300_000
            );
            purge.ExitCode.Should().Be(0, purge.Stdout + purge.Stderr);
        }
        Processes.Run("dpkg-query", ["-W", "kvmtune"]).ExitCode.Should().NotBe(0);
        foreach (
            var f in files.Where(f =>
                f is not "/."
                && !new[]
                {
                    "/etc",
                    "/etc/default",
                    "/lib",
                    "/lib/systemd",
                    "/lib/systemd/system",
                    "/usr",
                    "/usr/bin",
                    "/usr/share",
                    "/usr/share/man",
                    "/usr/share/man/man8",
                    "/usr/share/doc",
                    "/usr/share/bash-completion",
                    "/usr/share/bash-completion/completions",
                }.Contains(f)
            )
        )
            (File.Exists(f) || Directory.Exists(f)).Should().BeFalse($"{f} is gone after purge");
    }
}
