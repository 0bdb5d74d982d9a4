package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
	"github.com/atiende/atiende/models"
)

// cmdFakeMeta serves a local fake of the Graph API. It checks each channel's access
// token and posts signed status webhooks to the app, both taken from the database.
func cmdFakeMeta(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("fake-meta", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	port := fs.Int("port", 9090, "port to listen on (0 picks a free one)")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	appURL := fs.String("app-url", "http://localhost:8080", "the Atiende server that receives the status webhooks")
	statusDelay := fs.Duration("status-delay", 700*time.Millisecond, "pause before each status webhook (sent, delivered, read)")
	noStatuses := fs.Bool("no-statuses", false, "do not post status webhooks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base := strings.TrimRight(*appURL, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return fmt.Errorf("--app-url %q must be an http(s) URL", *appURL)
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	box, err := secrets.New(env.Config.SecretKey)
	if err != nil {
		return err
	}
	chans := channels.New(d.Gorm, box, clock.Real{})
	lookup := func(phoneNumberID string) (models.Channel, channels.Credentials, bool) {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ch, err := chans.ByPhoneNumberID(lctx, phoneNumberID)
		if err != nil {
			return ch, channels.Credentials{}, false
		}
		c, err := chans.Credentials(ch)
		if err != nil {
			env.Logger.Warn("fake-meta: cannot decrypt the channel's secrets (was ATIENDE_SECRET_KEY changed?)", "channel", ch.Name)
			return ch, c, false
		}
		return ch, c, true
	}
	fake := fakemeta.New(fakemeta.Config{
		TokenFor: func(id string) (string, bool) {
			_, c, ok := lookup(id)
			return c.AccessToken, ok
		},
		Targets: func(id string) (string, string, bool) {
			ch, c, ok := lookup(id)
			return base + ch.WebhookPath(), c.AppSecret, ok && ch.Active
		},
		Numbers: func(id string) (string, string) {
			ch, _, _ := lookup(id)
			return ch.WabaID, ch.DisplayPhone
		},
		StatusDelay:      *statusDelay,
		NoStatusWebhooks: *noStatuses,
		Logger:           env.Logger,
	})
	defer fake.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("cannot listen on %s:%d: %w (is another fake-meta running? use --port)", *host, *port, err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	u := "http://" + ln.Addr().String()
	fmt.Fprintf(env.Stdout, "fake Graph API listening on %s\n", u)
	fmt.Fprintf(env.Stdout, "  run the app with WHATSAPP_GRAPH_URL=%s; status webhooks go to %s/webhooks/whatsapp/…\n", u, base)
	fmt.Fprintf(env.Stdout, "  inject failures: curl -X POST %s/_fake/fail -d '{\"code\":131047,\"times\":1}'   (GET %s/_fake/ lists them)\n", u, u)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
