// Package workflow is the approval runtime: it starts a bundle's
// workflows inside record writes (a record hook on engine.Service), keeps
// instances, tasks and notifications as store docs, resolves assignees,
// runs the task actions, timers and plugin calls, and answers the inbox
// and timeline queries. Temporary access requests (the built-in "access"
// app) run through it too.
//
// The definitions (engine.Workflow, engine.Node), their checks at bundle
// load and the Plugin interface stay in package engine, which never
// imports this package; cmd/formwork builds the Runtime with New and hands
// it to the HTTP server and the workers.
package workflow
