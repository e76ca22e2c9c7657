using ApprovalTests.Reporters;
using ApprovalTests.Reporters.TestFrameworks;

// A missing or changed snapshot fails the test with the diff (no diff tool is launched, in CI or locally).
[assembly: UseReporter(typeof(XUnit2Reporter))]
