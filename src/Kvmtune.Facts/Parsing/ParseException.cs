namespace Kvmtune.Facts.Parsing;

/// <summary>Input that does not have the shape the kernel writes; the message quotes it.</summary>
public sealed class ParseException(string message) : FormatException(message);
