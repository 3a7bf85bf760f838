using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Kvmtune.Vms;

/// <summary>A minimal QMP client over QEMU's UNIX socket: greeting, capabilities negotiation, commands,
/// replies.</summary>
public sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    /// <summary>Connects, waiting up to the timeout for QEMU to create the socket, and enters command mode.</summary>
    public static QmpClient Connect(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                socket.ReceiveTimeout = (int)Math.Max(1000, timeout.TotalMilliseconds);
                var client = new QmpClient(socket);
                client.ReadMessage(); // {"QMP": {...}} greeting
                client.Execute("qmp_capabilities");
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>Runs a command and returns its "return" value; a QMP error becomes an exception with QEMU's
    /// words.</summary>
    public JsonElement Execute(string command, string? argumentsJson = null)
    {
        var message = argumentsJson is null
            ? $"{{\"execute\":\"{command}\"}}\n"
            : $"{{\"execute\":\"{command}\",\"arguments\":{argumentsJson}}}\n";
        _stream.Write(Encoding.UTF8.GetBytes(message));
        while (true)
        {
            using var doc = ReadMessage();
            var root = doc.RootElement;
            if (root.TryGetProperty("return", out var ret))
                return ret.Clone();
            if (root.TryGetProperty("error", out var err))
                throw new InvalidOperationException($"QMP {command}: {err.GetProperty("desc").GetString()}");
            // events ({"event": ...}) arrive between replies; skip them
        }
    }

    private JsonDocument ReadMessage()
    {
        var line = _reader.ReadLine() ?? throw new IOException("QEMU closed the QMP socket");
        return JsonDocument.Parse(line);
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
    }
}
