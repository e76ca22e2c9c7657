using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Meta.Hosting;

/// <summary>
/// One-line console logging through Spectre.Console, used while a live progress display may be on the screen: lines
/// written this way are placed above the bars instead of tearing them. Lines are
/// <c>HH:mm:ss message</c> (warnings and errors with their level).
/// </summary>
internal sealed class LiveConsoleLoggerProvider : ILoggerProvider
{
    private static readonly object Gate = new();

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger();

    /// <inheritdoc />
    public void Dispose() { }

    private sealed class Logger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var level = logLevel switch
            {
                LogLevel.Warning => "warn: ",
                LogLevel.Error => "fail: ",
                LogLevel.Critical => "crit: ",
                _ => "",
            };
            // Shorter than the plain format (no category): a line that fits the terminal does not have to wrap.
            var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:HH:mm:ss} {level}{formatter(state, exception)}");
            lock (Gate)
            {
                foreach (var row in Rows(line)) AnsiConsole.WriteLine(row);
                if (exception is not null) AnsiConsole.WriteLine(exception.ToString());
            }
        }
    }

    /// <summary>
    /// The line cut into rows of the terminal's width, each padded to the full width: a row the terminal wraps by itself
    /// would leave pieces of the live display behind it.
    /// </summary>
    private static IEnumerable<string> Rows(string line)
    {
        var width = Math.Max(20, AnsiConsole.Profile.Width) - 1;
        for (var start = 0; start < line.Length; start += width)
            yield return line.Substring(start, Math.Min(width, line.Length - start)).PadRight(width);
    }
}
