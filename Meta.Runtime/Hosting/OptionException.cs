namespace Meta.Hosting;

/// <summary>A bad option value: the message is one line naming the option, the value and what is accepted.</summary>
public sealed class OptionException(string message) : Exception(message)
{
    /// <summary>Builds the standard message.</summary>
    public static OptionException Rejected(string option, string? value, string accepted) =>
        new($"{option}: '{value}' is not accepted; expected {accepted}");
}
