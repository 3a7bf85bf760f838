using AwesomeAssertions;
using Kvmtune.Facts.IO;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Host;

/// <summary>
/// LinkWalker resolves a tree's links where the kernel does not do it for kvmtune: on kernels before 5.6 (no
/// openat2), and for the links a snapshot records. The oracle is the kernel itself: openat2(2) with
/// RESOLVE_IN_ROOT on the same path, and /proc/self/fd's name for what that opened.
/// </summary>
public sealed class LinkWalkerTests : IDisposable
{
    private readonly TestTree _t = new();

    public LinkWalkerTests() =>
        _t.File("/x/file", "x\n")
            .File("/a/b/file", "b\n")
            .Link("/a/b/climb", "../../../../../../x/file")
            .Link("/a/b/abs", "/x/file")
            .Link("/a/b/chain", "abs")
            .Link("/a/b/up", "..")
            .Link("/a/b/dir", "../../x")
            .Link("/a/b/slash", "/")
            .Link("/a/b/climbdir", "../../../../..")
            .Link("/a/b/loop1", "loop2")
            .Link("/a/b/loop2", "loop1")
            .Link("/a/b/dangling", "/nowhere");

    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("/a/b/file")]
    [InlineData("/a/b/climb")]
    [InlineData("/a/b/abs")]
    [InlineData("/a/b/chain")]
    [InlineData("/a/b/up/b/file")]
    [InlineData("/a/b/dir/file")]
    [InlineData("/a/b/dir/../a/b/file")]
    [InlineData("/a/b/slash/x/file")]
    [InlineData("/a/b/climbdir/x/file")]
    [InlineData("/a/../../../x/file")]
    [InlineData("/../a/./b/../b/climb")]
    public void A_path_resolves_where_the_kernel_resolves_it_in_the_root(string path)
    {
        var kernel = KernelInRoot(path);
        kernel.Should().NotBeNull();
        LinkWalker.Resolve(_t.Root, path).Should().Be(kernel);
    }

    [Theory]
    [InlineData("/x/file/more")]
    [InlineData("/x/file/../file")]
    [InlineData("/x/file/.")]
    [InlineData("/a/missing/x")]
    [InlineData("/a/missing/../b/file")]
    [InlineData("/a/b/dangling/../file")]
    [InlineData("/a/b/abs/more")]
    public void A_path_the_kernel_cannot_walk_leads_nowhere(string path)
    {
        // ENOTDIR or ENOENT: a file or nothing where a folder must be. LinkWalker gives nothing, or a path that
        // fails at the same component when it is opened.
        KernelInRoot(path).Should().BeNull();
        var walked = LinkWalker.Resolve(_t.Root, path);
        if (walked is not null)
            NativeSys.Lstat(_t.Root + walked).Should().BeNull($"{path} walked to {walked}");
    }

    [Theory]
    [InlineData(40)]
    [InlineData(41)]
    public void A_chain_of_links_is_followed_as_far_as_the_kernel_follows_it(int links)
    {
        // MAXSYMLINKS, 40 in include/linux/namei.h: the 41st link is ELOOP.
        for (var i = 0; i < links; i++)
            _t.Link($"/chain/c{i}", i == links - 1 ? "/x/file" : $"c{i + 1}");
        var kernel = KernelInRoot("/chain/c0");
        (kernel is null).Should().Be(links > 40);
        LinkWalker.Resolve(_t.Root, "/chain/c0").Should().Be(kernel);
    }

    [Fact]
    public void Links_that_loop_resolve_nowhere_as_the_kernel_says_ELOOP()
    {
        KernelInRoot("/a/b/loop1").Should().BeNull();
        LinkWalker.Resolve(_t.Root, "/a/b/loop1").Should().BeNull();
    }

    // The machine path the kernel opens for `path` with the tree as "/"; null when it opens nothing.
    private string? KernelInRoot(string path)
    {
        var real = Processes.Run("realpath", _t.Root).Stdout.Trim();
        var root = NativeSys.OpenDirectory(real);
        root.Should().BeGreaterThanOrEqualTo(0);
        try
        {
            var fd = NativeSys.OpenAt2(
                root,
                path.TrimStart('/'),
                NativeSys.OPathOnly | NativeSys.OCloseOnExec,
                0,
                NativeSys.ResolveInRoot | NativeSys.ResolveNoMagicLinks
            );
            if (fd < 0)
                return null;
            var opened = NativeSys.PathOf(fd)!;
            NativeSys.CloseFd(fd);
            return opened == real ? "/" : opened[real.Length..];
        }
        finally
        {
            NativeSys.CloseFd(root);
        }
    }
}
