// Command formwork is the Formwork binary: the server, the workers and the
// admin command line. It is the only place that picks concrete backends.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kong"
)

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
	Disk    DiskCmd    `cmd:"" help:"Check the data directory's disk."`
}

func main() {
	unsetEmptySettings()
	var cli CLI
	ctx, err := newParser(&cli).Parse(os.Args[1:])
	if err != nil {
		err = settingError(err, os.Args[1:])
		// one line naming the setting or flag, so a bad deployment says
		// what to fix (kong names the variable a bad value came from)
		fmt.Fprintln(os.Stderr, "formwork: error:", err)
		os.Exit(2)
	}
	if err := ctx.Run(&cli.Globals); err != nil {
		var ex exitError
		if asExit(err, &ex) {
			os.Exit(ex.code)
		}
		fmt.Fprintln(os.Stderr, "formwork:", err)
		os.Exit(1)
	}
}

// unsetEmptySettings drops FORMWORK_* variables set to "": an empty
// variable means unset (the default), as it always did, rather than an
// empty value a setting would refuse.
func unsetEmptySettings() {
	for _, kv := range os.Environ() {
		if name, v, _ := strings.Cut(kv, "="); v == "" && strings.HasPrefix(name, "FORMWORK_") {
			_ = os.Unsetenv(name)
		}
	}
}

// newParser is the command line parser of cli.
func newParser(cli *CLI, options ...kong.Option) *kong.Kong {
	parser, err := kong.New(cli, append([]kong.Option{
		kong.Name("formwork"),
		kong.Description("Formwork: a low-code form and workflow engine. Every setting is a flag and a FORMWORK_* environment variable; formwork serve --help lists them."),
	}, options...)...)
	if err != nil {
		panic(err) // the command tree itself is wrong: a programming error
	}
	return parser
}

// exitError ends the program with a code after the command printed its own output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func asExit(err error, target *exitError) bool {
	return errors.As(err, target)
}
