package main

import (
	"context"
	"fmt"
	"os"

	"formwork/engine"
	"formwork/exchange"
)

// ExportCmd is `formwork export`.
type ExportCmd struct {
	Trace ExportTraceCmd `cmd:"" help:"Name the export a file came from: an exported file, a re-saved copy, or a workbook holding cells copied out of one."`
}

// ExportTraceCmd is `formwork export trace FILE`.
type ExportTraceCmd struct {
	File string `arg:"" type:"existingfile" help:"The .xlsx or .csv file."`
}

// Run reads the file's watermark and prints the exports it matches: who
// exported what, when, with how many records. Exit status 1 when the file
// carries no mark or matches no export.
func (c *ExportTraceCmd) Run(g *Globals) error {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	tr, err := exchange.TraceFile(data)
	if err != nil {
		return err
	}
	svc, p, done, err := openService(g, "")
	if err != nil {
		return err
	}
	defer done()
	ctx := context.Background()
	var found []*engine.ExportJob
	if tr.Tag != "" {
		if found, err = svc.TraceExport(ctx, p, tr.Tag); err != nil {
			return err
		}
	}
	if tr.Export != "" {
		fmt.Printf("the workbook's properties name export %s\n", tr.Export)
	}
	if tr.Tag == "" {
		fmt.Println("no invisible mark survives in the file's cells (fewer than eight marked text cells)")
	} else {
		fmt.Printf("invisible mark %s, read from %d cells\n", tr.Tag, tr.Cells)
	}
	for _, j := range found {
		fmt.Printf("export %s: %s (%s) exported %d records of %s/%s (%s) at %s from %s\n", j.ID, j.Name, j.Owner, j.Done, j.App, j.Form, j.Format,
			j.Created.UTC().Format("2006-01-02 15:04:05 UTC"), j.IP)
	}
	if len(found) == 0 {
		return exitError{1}
	}
	return nil
}
