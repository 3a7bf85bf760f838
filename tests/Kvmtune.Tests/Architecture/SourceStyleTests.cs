using AwesomeAssertions;
using Kvmtune.Tests.Support;

namespace Kvmtune.Tests.Architecture;

/// <summary>
/// The style rules no analyzer in the SDK enforces: lines within 120 columns (.editorconfig's max_line_length is
/// advisory) and file-scoped namespaces. `dotnet format --verify-no-changes` in test.sh checks the rest.
/// </summary>
public sealed class SourceStyleTests
{
    private static IEnumerable<string> SourceFiles() =>
        new[] { "src", "tests", "bench" }
            .Select(d => Path.Combine(Paths.RepoRoot, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f =>
                !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)
            );

    [Fact]
    public void Lines_are_within_120_columns()
    {
        var files = SourceFiles().ToList();
        files.Should().HaveCountGreaterThan(100, "the sources were found");
        var longLines = files
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => x.line.Length > 120)
            .Select(x => $"{Path.GetRelativePath(Paths.RepoRoot, x.f)}:{x.i + 1} ({x.line.Length})")
            .ToList();
        longLines.Should().BeEmpty();
    }

    [Fact]
    public void Namespaces_are_file_scoped()
    {
        var blockScoped = SourceFiles()
            .Where(f =>
                File.ReadLines(f)
                    .Any(l => l.StartsWith("namespace ", StringComparison.Ordinal) && !l.TrimEnd().EndsWith(';'))
            )
            .ToList();
        blockScoped.Should().BeEmpty();
    }
}
