package main

import (
	"context"
	"encoding/json"
	"flag"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
)

func cmdChannelAdd(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("channel add", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var in channels.Input
	fs.StringVar(&in.Name, "name", "", "a name agents recognise, e.g. \"Ventas Lima\"")
	fs.StringVar(&in.PhoneNumberID, "phone-number-id", "", "Meta's phone number id")
	fs.StringVar(&in.DisplayPhone, "display-phone", "", "the number as customers see it, e.g. \"+51 1 555 0100\"")
	fs.StringVar(&in.WabaID, "waba-id", "", "WhatsApp Business Account id")
	fs.StringVar(&in.AccessToken, "access-token", "", "system user access token")
	fs.StringVar(&in.AppSecret, "app-secret", "", "Meta app secret (verifies webhook signatures)")
	fs.StringVar(&in.VerifyToken, "verify-token", "", "the verify token you also enter in Meta's webhook settings")
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
	ch, err := channels.New(d.Gorm, box, clock.Real{}).Create(ctx, ws.ID, in)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"id": ch.ID, "name": ch.Name, "phone_number_id": ch.PhoneNumberID, "webhook_path": ch.WebhookPath()})
}
