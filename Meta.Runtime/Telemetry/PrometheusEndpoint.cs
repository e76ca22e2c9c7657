using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Meta.Hosting;
using Microsoft.Extensions.Configuration;

namespace Meta.Telemetry;

/// <summary>
/// The opt-in Prometheus scrape endpoint (<c>http://Host:Port/metrics</c>): configuration <c>Telemetry:PrometheusPort</c>
/// (the command line's <c>--metrics-port</c>) turns it on; <c>Telemetry:PrometheusHost</c> defaults to the loopback
/// address, so nothing is exposed beyond the machine unless asked for.
/// </summary>
/// <param name="Host">The address to listen on.</param>
/// <param name="Port">The TCP port.</param>
public sealed record PrometheusEndpoint(string Host, int Port)
{
    /// <summary>Configuration key of the port.</summary>
    public const string PortKey = "Telemetry:PrometheusPort";

    /// <summary>Configuration key of the host.</summary>
    public const string HostKey = "Telemetry:PrometheusHost";

    /// <summary>The default host: loopback only.</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>
    /// Reads the endpoint from <paramref name="configuration"/>; null when no port is set. Throws
    /// <see cref="OptionException"/> for a port that is not a whole number in 1–65535, or one another process holds.
    /// </summary>
    public static PrometheusEndpoint? From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var raw = configuration[PortKey];
        if (string.IsNullOrWhiteSpace(raw)) return null;
        if (!int.TryParse(raw.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw OptionException.Rejected("--metrics-port", raw, "a TCP port from 1 to 65535");
        var host = configuration[HostKey] is { Length: > 0 } h ? h.Trim() : DefaultHost;
        var endpoint = new PrometheusEndpoint(host, port);
        endpoint.EnsureFree();
        return endpoint;
    }

    /// <summary>Fails early, with one line, when the port cannot be listened on (the exporter would fail later, mid-start).</summary>
    private void EnsureFree()
    {
        if (!IPAddress.TryParse(Host, out var address)) return;   // a host name: HttpListener resolves it itself
        try
        {
            var probe = new TcpListener(address, Port);
            probe.Start();
            probe.Stop();
        }
        catch (SocketException e)
        {
            throw new OptionException($"--metrics-port: cannot listen on {Host}:{Port.ToString(CultureInfo.InvariantCulture)} ({e.Message}); choose another port");
        }
    }
}
