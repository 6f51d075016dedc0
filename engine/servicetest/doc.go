// Package servicetest holds the engine's service-level tests: access,
// workflows, organisation, imports and the record service, run against the
// real SQLite store. They live outside package engine so that engine's own
// test binary, and every `go test -fuzz` build of it, does not link SQLite.
package servicetest
