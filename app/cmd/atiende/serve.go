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
	"strings"
	"sync"
	"time"

	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/services"
	"github.com/atiende/atiende/app/web"
)

// background starts what both serve and worker run: the job leader election and the
// outbox sender (every process sends; rows are claimed with SKIP LOCKED).
// The returned wait blocks until everything has stopped after ctx ends.
func background(ctx context.Context, svc *services.Services) (wait func()) {
	ctx = audit.WithActor(ctx, audit.Actor{Source: audit.SourceJob}) // what jobs change is audited as theirs
	var wg sync.WaitGroup
	runner := svc.Runner()
	wg.Add(1)
	go func() { defer wg.Done(); runner.Run(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); svc.Sender.Run(ctx) }()
	return wg.Wait
}

func cmdServe(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if env.Config.Production() && !env.Config.MetricsProtected() {
		return errors.New("refusing to serve in production with /metrics open to anyone: set METRICS_TOKEN " +
			"(a secret of 16+ characters that Prometheus sends as Authorization: Bearer) or METRICS_ADDR " +
			"(a private address such as 127.0.0.1:9100 where /metrics is served alone), then start again")
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
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return err
	}
	server, e := web.New(web.Deps{Config: env.Config, DB: d, Logger: env.Logger, Services: svc})
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
	wait := background(bgCtx, svc)
	var hubDone sync.WaitGroup
	hubDone.Add(1)
	go func() { defer hubDone.Done(); server.Run(bgCtx) }()
	waitAll := func() { wait(); hubDone.Wait() }
	errc := make(chan error, 2)
	if addr := env.Config.MetricsAddr; addr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", server.MetricsHandler())
		msrv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("cannot serve metrics on METRICS_ADDR=%s: %w", addr, err)
			}
		}()
		defer msrv.Close()
		env.Logger.Info("serving metrics", "addr", addr)
	}
	go func() { errc <- srv.ListenAndServe() }()
	env.Logger.Info("serving", "url", fmt.Sprintf("http://localhost:%d", env.Config.Port))
	select {
	case err := <-errc:
		stopBg()
		waitAll()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		if strings.Contains(err.Error(), "METRICS_ADDR") {
			_ = srv.Close()
			return err
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
	svc, err := services.New(env.Config, d, clock.Real{}, env.Logger, nil)
	if err != nil {
		return err
	}
	wait := background(bgCtx, svc)
	env.Logger.Info("worker running")
	<-ctx.Done()
	env.Logger.Info("shutting down: waiting for running jobs")
	stopBg()
	wait()
	return nil
}
