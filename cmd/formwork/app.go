package main

// AppCmd groups the app bundle commands.
type AppCmd struct {
	Validate AppValidateCmd `cmd:"" help:"Check a bundle: exit 0 if valid, else exit 1 and one line per error, starting with its JSON pointer."`
}

// AppValidateCmd is `formwork app validate FILE`.
type AppValidateCmd struct {
	File string `arg:"" help:"The bundle file (JSON)." type:"existingfile"`
}

// Run validates the bundle.
func (c *AppValidateCmd) Run(g *Globals) error {
	return nil
}
