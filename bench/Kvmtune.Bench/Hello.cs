namespace Kvmtune.Bench;

/// <summary>
/// The start-up peer: a Native AOT "hello" (Console.WriteLine) built here with the SDK that builds kvmtune (the
/// repository's global.json), with kvmtune's InvariantGlobalization and StripSymbols and otherwise the defaults.
/// Built once into /dev/shm and reused while the SDK version is the same.
/// </summary>
public static class Hello
{
    public static string Build(string repo, string scratch)
    {
        var sdk = Spawn.Capture(scratch, "dotnet", "--version").Trim();
        var dir = Path.Combine("/dev/shm", $"kvmtune-bench-hello-{sdk}");
        var bin = Path.Combine(dir, "out", "hello");
        if (File.Exists(bin))
            return bin;
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(repo, "global.json"), Path.Combine(dir, "global.json"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), "System.Console.WriteLine(\"hello\");\n");
        File.WriteAllText(
            Path.Combine(dir, "hello.csproj"),
            """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <AssemblyName>hello</AssemblyName>
                <PublishAot>true</PublishAot>
                <InvariantGlobalization>true</InvariantGlobalization>
                <StripSymbols>true</StripSymbols>
              </PropertyGroup>
            </Project>
            """
        );
        Console.Error.WriteLine($"bench: building the AOT hello with SDK {sdk} in {dir}...");
        Spawn.Capture(
            scratch,
            "dotnet",
            "publish",
            Path.Combine(dir, "hello.csproj"),
            "-c",
            "Release",
            "-o",
            Path.Combine(dir, "out"),
            "-nologo"
        );
        return bin;
    }
}
