package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/whatsapp"
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
	ws, err := accounts.New(d.Gorm, clock.Real{}).ResolveWorkspace(ctx, *workspace)
	if err != nil {
		return err
	}
	box, err := secrets.New(env.Config.SecretKey)
	if err != nil {
		return err
	}
	syncer := &catalog.TemplateSyncer{Catalog: catalog.New(d.Gorm, clock.Real{}), Channels: channels.New(d.Gorm, box, clock.Real{}),
		Graph: &whatsapp.Client{BaseURL: env.Config.GraphURL}}
	res, err := syncer.SyncWorkspace(ctx, ws.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, res.Summary())
	if len(res.Failed) > 0 {
		return fmt.Errorf("some WhatsApp Business Accounts could not be read")
	}
	return nil
}
