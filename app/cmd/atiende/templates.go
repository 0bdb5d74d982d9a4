package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/services"
)

// cmdTemplatesSync is `atiende templates sync`: copy the message templates of every
// channel's WhatsApp Business Account from the Graph API now (a job does it daily).
func cmdTemplatesSync(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("templates sync", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	workspace := fs.String("workspace", "", "workspace name (default: the only one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return err
	}
	ws, err := svc.Accounts.ResolveWorkspace(ctx, *workspace)
	if err != nil {
		return err
	}
	res, err := svc.Templates.SyncWorkspace(ctx, ws.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, res.Summary())
	if len(res.Failed) > 0 {
		return fmt.Errorf("some WhatsApp Business Accounts could not be read")
	}
	return nil
}
