package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/services"
)

func newIngester(d *db.DB, env *Env) *ingest.Ingester {
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return &ingest.Ingester{DB: d.Gorm, Inbox: inbox.New(d.Gorm, clock.Real{}), Clock: clock.Real{}, Logger: env.Logger}
	}
	return svc.Ingest
}

// cmdWebhooks: `webhooks failed` lists dead letters; `webhooks replay ID` retries one.
func cmdWebhooks(ctx context.Context, env *Env, args []string) error {
	usage := errors.New("uso: atiende webhooks failed [--all] | atiende webhooks replay ID")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "failed":
		fs := flag.NewFlagSet("webhooks failed", flag.ContinueOnError)
		fs.SetOutput(env.Stderr)
		all := fs.Bool("all", false, "include the dead letters already resolved")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		d, err := openDB(ctx, env)
		if err != nil {
			return err
		}
		defer d.Close()
		list, err := newIngester(d, env).DeadLetters(ctx, 0, !*all, 500)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(env.Stdout, "No hay webhooks fallidos.")
			return nil
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tRECIBIDO\tCANAL\tTIPO\tINTENTOS\tESTADO\tERROR")
		for _, dl := range list {
			state := "pendiente"
			if dl.ResolvedAt != nil {
				state = "resuelto"
			} else if dl.NextRetryAt == nil {
				state = "abandonado"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", dl.ID, dl.ReceivedAt.UTC().Format(time.RFC3339), dl.ChannelName,
				dl.Kind, dl.Attempts, state, strings.ReplaceAll(dl.Error, "\n", " "))
		}
		return w.Flush()
	case "replay":
		if len(args) != 2 {
			return usage
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q no es un id de webhook fallido (usa el número de la primera columna de 'atiende webhooks failed')", args[1])
		}
		d, err := openDB(ctx, env)
		if err != nil {
			return err
		}
		defer d.Close()
		r, err := newIngester(d, env).Replay(ctx, 0, id, time.Now())
		if errors.Is(err, apperr.ErrNotFound) {
			return fmt.Errorf("no hay un webhook fallido con id %d", id)
		}
		if err != nil {
			return err
		}
		if !r.Resolved {
			return fmt.Errorf("el webhook %d volvió a fallar: %s", id, r.Error)
		}
		fmt.Fprintf(env.Stdout, "Webhook %d aplicado.\n", id)
		return nil
	}
	return usage
}
