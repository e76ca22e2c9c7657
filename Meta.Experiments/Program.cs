using Meta.Generated;
using Meta.Hosting;

// Parses "<experiment> [--option value]…", builds a generic host with the experiment as a background service,
// exports metrics through OpenTelemetry, and exits 0 (completed), 1 (failed), 2 (bad input) or 130 (stopped).
return await MetaHost.RunAsync(args, ExperimentCatalog.All);
