namespace Kvmtune.Facts;

/// <summary>Bad input from a person: the file, line and key it is about, and what is wrong. The CLI exits 2.</summary>
public sealed class InputException(string? file, long? line, string? key, string problem)
    : Exception(Format(file, line, key, problem))
{
    public string? File { get; } = file;
    public long? Line { get; } = line;
    public string? Key { get; } = key;
    public string Problem { get; } = problem;

    private static string Format(string? file, long? line, string? key, string problem)
    {
        var where =
            file is null ? ""
            : line is null ? $"{file}: "
            : $"{file}:{line}: ";
        return key is null ? where + problem : $"{where}{key}: {problem}";
    }
}
