package main

import (
	"fmt"
	"io"
	"os"

	"formwork/engine"
)

// AppCmd groups the app bundle commands.
type AppCmd struct {
	Validate AppValidateCmd `cmd:"" help:"Check a bundle: exit 0 if valid, else exit 1 and one line per error, starting with its JSON pointer."`
}

// AppValidateCmd is `formwork app validate FILE`.
type AppValidateCmd struct {
	File string `arg:"" help:"The bundle file (JSON); - reads standard input."`
	Lang string `help:"Language of the messages (zh or en)." default:"en" enum:"zh,en"`
}

// Run validates the bundle and prints one line per error.
func (c *AppValidateCmd) Run(g *Globals) error {
	data, err := readInput(c.File)
	if err != nil {
		return err
	}
	b, err := engine.LoadBundle(data)
	if err != nil {
		printErrors(os.Stdout, err, c.Lang)
		return exitError{1}
	}
	fmt.Printf("ok: %s %s (%d forms, %d roles, %d workflows)\n", b.App.Key, b.App.Version, len(b.Forms), len(b.Roles), len(b.Workflows))
	return nil
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, engine.MaxBundleSize+1))
	}
	return os.ReadFile(name)
}

// printErrors prints an engine error as one line per field error, each
// starting with its JSON pointer ("" is the whole document, printed as /).
func printErrors(w io.Writer, err error, lang string) {
	fields := engine.ErrorFields(err)
	if len(fields) == 0 {
		fmt.Fprintf(w, "/ %s\n", engine.ErrorMessage(err, lang))
		return
	}
	for _, f := range fields {
		ptr := f.Field
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(w, "%s %s: %s\n", ptr, f.Code, f.Message.In(lang))
	}
}
