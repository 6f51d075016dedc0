// Command formwork is the Formwork binary: the server, the workers and the
// admin command line. It is the only place that picks concrete backends.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"
)

// Globals are the flags every command takes.
type Globals struct {
	Data string `help:"Data directory of the embedded store." default:"./data" type:"path"`
}

// CLI is the command tree of API.md's command table.
type CLI struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Run the product: web, workers and the outbox relay in one process, or one part of it (--role)."`
	Worker  WorkerCmd  `cmd:"" help:"The same as serve --role worker: background workers, the outbox relay and scheduled jobs, no HTTP (needs FORMWORK_REDIS_ADDR)."`
	Migrate MigrateCmd `cmd:"" help:"Apply pending migrations (serve does this too)."`
	Unit    UnitCmd    `cmd:"" help:"Manage organisation units."`
	User    UserCmd    `cmd:"" help:"Manage users."`
	App     AppCmd     `cmd:"" help:"Validate, import and export app bundles."`
	Audit   AuditCmd   `cmd:"" help:"Check the audit log."`
	Keys    KeysCmd    `cmd:"" help:"Manage the encryption keys of sensitive fields."`
	Export  ExportCmd  `cmd:"" help:"Trace exported files."`
	Backup  BackupCmd  `cmd:"" help:"Create, list, verify and restore encrypted backups."`
}

func main() {
	var cli CLI
	ctx := kong.Parse(&cli,
		kong.Name("formwork"),
		kong.Description("Formwork: a low-code form and workflow engine."),
		kong.UsageOnError(),
	)
	if err := ctx.Run(&cli.Globals); err != nil {
		var ex exitError
		if asExit(err, &ex) {
			os.Exit(ex.code)
		}
		fmt.Fprintln(os.Stderr, "formwork:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a code after the command printed its own output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func asExit(err error, target *exitError) bool {
	return errors.As(err, target)
}
