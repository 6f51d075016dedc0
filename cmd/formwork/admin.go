package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"formwork/engine"
	"formwork/migrations"
)

// MigrateCmd is `formwork migrate`.
type MigrateCmd struct{}

// Run applies pending migrations and lists them.
func (c *MigrateCmd) Run(g *Globals) error {
	s, closeFn, err := openStoreRaw(g)
	if err != nil {
		return err
	}
	defer closeFn()
	applied, err := migrations.ApplyIn(context.Background(), s, time.Now, g.zone())
	for _, id := range applied {
		fmt.Println("applied", id)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("up to date")
	}
	return nil
}

// UnitCmd groups the unit commands.
type UnitCmd struct {
	Create UnitCreateCmd `cmd:"" help:"Add an organisation unit."`
}

// UnitCreateCmd is `formwork unit create`.
type UnitCreateCmd struct {
	Key    string `required:"" help:"Unit key: a-z, 0-9 and _, starting with a letter."`
	Name   string `required:"" help:"Display name."`
	Parent string `help:"Key of the parent unit." default:"hq"`
}

// Run creates the unit.
func (c *UnitCreateCmd) Run(g *Globals) error {
	s, closeFn, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeFn()
	u, err := engine.NewOrg(s, time.Now).CreateUnit(context.Background(), cliActor,
		engine.Unit{Key: c.Key, Name: engine.T(c.Name, c.Name), Parent: c.Parent})
	if err != nil {
		return err
	}
	fmt.Printf("created unit %s (parent %s)\n", u.Key, u.Parent)
	return nil
}

// UserCmd groups the user commands.
type UserCmd struct {
	Create UserCreateCmd `cmd:"" help:"Create a user."`
}

// UserCreateCmd is `formwork user create`.
type UserCreateCmd struct {
	Email         string `required:"" help:"Email address (the login)."`
	Name          string `required:"" help:"Display name."`
	Unit          string `required:"" help:"Key of the user's unit."`
	Admin         bool   `help:"Make the user a system administrator."`
	Auditor       bool   `help:"Make the user a system auditor: reads the audit log, alerts and explain; no record data, no changes."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from the first line of standard input."`
}

// Run creates the user.
func (c *UserCreateCmd) Run(g *Globals) error {
	if !c.PasswordStdin {
		return errors.New("give the password on standard input with --password-stdin (never on the command line)")
	}
	pw, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	s, closeFn, err := openStore(g)
	if err != nil {
		return err
	}
	defer closeFn()
	u, err := engine.NewOrg(s, time.Now).CreateUser(context.Background(), cliActor, engine.NewUser{
		Email: c.Email, Name: c.Name, Unit: c.Unit, Admin: c.Admin, Auditor: c.Auditor, Password: pw,
	})
	if err != nil {
		return err
	}
	fmt.Printf("created user %s <%s>\n", u.ID, u.Email)
	return nil
}

// readPassword reads the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("read password: standard input is empty")
	}
	return line, nil
}

// AuditCmd groups the audit commands.
type AuditCmd struct {
	Verify AuditVerifyCmd `cmd:"" help:"Walk the audit chain: exit 0 if intact, else exit 1 and name the first broken event."`
}

// AuditVerifyCmd is `formwork audit verify`.
type AuditVerifyCmd struct{}

// Run verifies the chain.
func (c *AuditVerifyCmd) Run(g *Globals) error {
	s, closeFn, err := openStoreRaw(g)
	if err != nil {
		return err
	}
	defer closeFn()
	n, brk, err := engine.VerifyAudit(context.Background(), s)
	if err != nil {
		return err
	}
	if brk != nil {
		fmt.Printf("broken: event %d: %s (%d events checked)\n", brk.Seq, brk.Reason, n)
		return exitError{code: 1}
	}
	fmt.Printf("ok: %d events\n", n)
	return nil
}
