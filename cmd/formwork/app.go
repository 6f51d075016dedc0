package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"formwork/engine"
	"formwork/templates"
)

// AppCmd groups the app bundle commands.
type AppCmd struct {
	Validate AppValidateCmd `cmd:"" help:"Check a bundle: exit 0 if valid, else exit 1 and one line per error, starting with its JSON pointer."`
	Import   AppImportCmd   `cmd:"" help:"Validate and import (or upgrade) an app from a file or a built-in template."`
	Export   AppExportCmd   `cmd:"" help:"Print the app's current bundle (it imports again unchanged)."`
}

// AppImportCmd is `formwork app import FILE` / `formwork app import --template NAME`.
type AppImportCmd struct {
	File       string `arg:"" optional:"" help:"The bundle file (JSON); - reads standard input."`
	Template   string `help:"A built-in template instead of a file (crm, dealership)."`
	SampleData bool   `name:"sample-data" help:"Also create the bundle's sample records."`
	Confirm    bool   `help:"Apply an upgrade even though it drops fields or forms that hold data (they are listed without this flag)."`
	As         string `help:"Email of the user the import (and its sample records) is made as; default: the system, in the root unit."`
	Lang       string `help:"Language of the messages (zh or en)." default:"en" enum:"zh,en"`
}

// Run imports the bundle.
func (c *AppImportCmd) Run(g *Globals) error {
	var data []byte
	var err error
	switch {
	case c.Template != "" && c.File != "":
		return fmt.Errorf("give a FILE or --template, not both")
	case c.Template != "":
		data, err = templates.Get(c.Template)
		if err != nil {
			return fmt.Errorf("template %q: %v (built-in: %s)", c.Template, engine.ErrorMessage(err, "en"), strings.Join(templates.Names(), ", "))
		}
	case c.File != "":
		data, err = readInput(c.File)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("give a FILE or --template NAME")
	}
	svc, p, done, err := openService(g, c.As)
	if err != nil {
		return err
	}
	defer done()
	ctx := context.Background()
	start := time.Now()
	opt := engine.ImportOptions{SampleData: c.SampleData, ConfirmDataLoss: c.Confirm, Wait: true,
		Progress: func(j engine.ImportJob) { printProgress(os.Stdout, j, c.Lang) }}
	v, err := svc.ImportApp(ctx, p, data, opt)
	if err != nil {
		if len(engine.ErrorFields(err)) > 0 {
			printErrors(os.Stdout, err, c.Lang)
			return exitError{1}
		}
		return err
	}
	fmt.Printf("imported %s version %d (%s)", v.Key, v.Version, v.AppVersion)
	if v.Job != "" {
		fmt.Printf(" with sample data (job %s)", v.Job)
	}
	fmt.Printf(" in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// printProgress prints one line per batch of a sample-data import: the
// records done of the total, and per form.
func printProgress(w io.Writer, j engine.ImportJob, lang string) {
	if j.Done == 0 && j.State == engine.ImportRunning {
		return // the claim before the first batch
	}
	var parts []string
	for _, f := range j.Forms {
		parts = append(parts, fmt.Sprintf("%s %d/%d", f.Form, f.Done, f.Total))
	}
	pct := 0
	if j.Total > 0 {
		pct = j.Done * 100 / j.Total
	}
	fmt.Fprintf(w, "sample data %3d%% %d/%d records (%s)\n", pct, j.Done, j.Total, strings.Join(parts, ", "))
	if j.Error != nil {
		fmt.Fprintf(w, "sample data failed: %s\n", j.Error.In(lang))
	}
}

// openService opens the store and a Service on it, acting as the user with
// email as (or the system); done closes both.
func openService(g *Globals, as string) (*engine.Service, *engine.Principal, func(), error) {
	st, closeStore, err := openStore(g)
	if err != nil {
		return nil, nil, nil, err
	}
	org := engine.NewOrg(st, nil)
	svc := engine.NewService(st, org, engine.ServiceOptions{Keys: st.Keyring()})
	done := func() { svc.Close(); closeStore() }
	p, err := cliPrincipal(context.Background(), org, as)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return svc, p, done, nil
}

// cliPrincipal is who the command line acts as: a named user, or the
// system as an administrator in the root unit.
func cliPrincipal(ctx context.Context, org *engine.Org, email string) (*engine.Principal, error) {
	if email != "" {
		u, err := org.FindUserByEmail(ctx, email)
		if err != nil {
			return nil, fmt.Errorf("user %s: %v", email, engine.ErrorMessage(err, "en"))
		}
		return &engine.Principal{User: u, IP: "cli"}, nil
	}
	units, err := org.ListUnits(ctx)
	if err != nil {
		return nil, err
	}
	root := ""
	for _, u := range units {
		if u.Parent == "" {
			root = u.Key
			break
		}
	}
	return &engine.Principal{User: &engine.User{ID: engine.SystemActor, Name: "system", Unit: root, Admin: true}, IP: "cli"}, nil
}

// AppExportCmd is `formwork app export KEY`.
type AppExportCmd struct {
	Key string `arg:"" help:"The app key."`
}

// Run prints the bundle.
func (c *AppExportCmd) Run(g *Globals) error {
	svc, p, done, err := openService(g, "")
	if err != nil {
		return err
	}
	defer done()
	ctx := context.Background()
	b, err := svc.ExportApp(ctx, p, c.Key)
	if err != nil {
		return fmt.Errorf("%s", engine.ErrorMessage(err, "en"))
	}
	_, err = os.Stdout.Write(b)
	return err
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
