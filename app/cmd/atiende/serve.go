package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/jobs"
	"github.com/atiende/atiende/app/media"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/web"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
)

// background starts what both serve and worker run: the job leader election and the
// outbox sender (every process sends; rows are claimed with SKIP LOCKED).
// The returned wait blocks until everything has stopped after ctx ends.
func background(ctx context.Context, env *Env, d *db.DB, m *metrics.Metrics) (wait func(), err error) {
	box, err := secrets.New(env.Config.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("cannot open channel secrets: %w", err)
	}
	chs := channels.New(d.Gorm, box, clock.Real{})
	graph := &whatsapp.Client{BaseURL: env.Config.GraphURL}
	fetcher := &media.Fetcher{DB: d.Gorm, Graph: graph, Channels: chs, Logger: env.Logger}
	var wg sync.WaitGroup
	runner := &jobs.Runner{DatabaseURL: env.Config.DatabaseURL, Pool: d.Pool, Jobs: jobs.Table(jobs.Deps{DB: d, Media: fetcher,
		Templates: &catalog.TemplateSyncer{Catalog: catalog.New(d.Gorm, clock.Real{}), Channels: chs, Graph: graph},
		Scheduled: &inbox.Scheduler{Inbox: inbox.New(d.Gorm, clock.Real{}), Accounts: accounts.New(d.Gorm, clock.Real{})}}), Logger: env.Logger, Metrics: m}
	wg.Add(1)
	go func() { defer wg.Done(); runner.Run(ctx) }()
	sender := &outbox.Sender{DB: d.Gorm, Pool: d.Pool, Graph: graph, Channels: chs, Logger: env.Logger, Metrics: m}
	wg.Add(1)
	go func() { defer wg.Done(); sender.Run(ctx) }()
	return wg.Wait, nil
}

func cmdServe(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	// ATIENDE_CPUPROFILE (for `make bench` and profiling): a CPU profile of the whole
	// run, written when the server stops.
	if path := os.Getenv("ATIENDE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	m := metrics.New(d.SQL)
	m.WatchPool(d.Pool)
	server, e := web.New(web.Deps{Config: env.Config, DB: d, Logger: env.Logger, Metrics: m})
	// Requests' contexts end when shutdown begins, so open live streams (SSE) close at
	// once instead of holding Shutdown for its whole grace period.
	reqCtx, endRequests := context.WithCancel(context.Background())
	defer endRequests()
	srv := &http.Server{
		Addr:              fmt.Sprintf(":%d", env.Config.Port),
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	srv.RegisterOnShutdown(endRequests)
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	wait, err := background(bgCtx, env, d, m)
	if err != nil {
		return err
	}
	var hubDone sync.WaitGroup
	hubDone.Add(1)
	go func() { defer hubDone.Done(); server.Run(bgCtx) }()
	waitAll := func() { wait(); hubDone.Wait() }
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	env.Logger.Info("serving", "url", fmt.Sprintf("http://localhost:%d", env.Config.Port))
	select {
	case err := <-errc:
		stopBg()
		waitAll()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("cannot serve on port %d: %w (is another process using it? set PORT)", env.Config.Port, err)
	case <-ctx.Done():
	}
	env.Logger.Info("shutting down: draining requests and waiting for running jobs")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopBg()
	waitAll()
	env.Logger.Info("stopped")
	return err
}

func cmdWorker(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	wait, err := background(bgCtx, env, d, metrics.New(d.SQL))
	if err != nil {
		return err
	}
	env.Logger.Info("worker running")
	<-ctx.Done()
	env.Logger.Info("shutting down: waiting for running jobs")
	stopBg()
	wait()
	return nil
}
