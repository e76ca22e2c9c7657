using Meta.Generated;
using Meta.Hosting;

// "dotnet run -- <experiment> [--option value]…": parses the command line, runs the experiment as a generic-host
// service and exits 0 (completed), 1 (failed), 2 (bad input) or 130 (stopped). "dotnet run -- --help" lists them.
return await MetaHost.RunAsync(args, ExperimentCatalog.All);
