namespace Meta.Generators.Model;

/// <summary>
/// A component of an experiment (task family, network or algorithm definition) as the emitter needs it: its type, the
/// optional interfaces that change the loop, and how it reads in prose. The same for built-in and user types.
/// </summary>
/// <param name="Role">"Tasks", "Network" or "Algorithm": names the generated <c>Create{Role}()</c> factory.</param>
/// <param name="Type">The component type.</param>
/// <param name="DisplayName">Its <c>[DisplayName]</c> or type name.</param>
/// <param name="IsDisposable">Implements <c>IDisposable</c> (the trainer disposes it).</param>
/// <param name="IsValidated">Implements <c>IValidatedComponent</c> (the generated <c>Validate()</c> calls it).</param>
/// <param name="LearnsRates">Implements <c>ILearnsInnerRates</c> (the learned rates get their own meta learning rate).</param>
/// <param name="IsSampled">Implements <c>ISampledTaskFamily</c>.</param>
internal sealed record ComponentSpec(string Role, TypeRef Type, string DisplayName, bool IsDisposable, bool IsValidated, bool LearnsRates, bool IsSampled);
