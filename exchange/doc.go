// Package exchange moves records between Formwork and spreadsheet files:
// exports (.xlsx and .csv, streamed, watermarked and traceable) and
// imports (matched columns, dry runs, row-by-row reports). What may leave
// or enter, under whose scope and field permissions, is decided by the
// engine; this package reads and writes the files.
package exchange
