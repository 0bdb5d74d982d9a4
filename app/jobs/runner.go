// Package jobs runs the cron table. Exactly one process in the cluster runs it: the
// one holding a PostgreSQL session-level advisory lock. When that process dies its
// connection closes, the lock is released, and another process takes over at its
// next poll.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/metrics"
)

// Job is one row of the cron table.
type Job struct {
	Name string
	Spec string // robfig/cron spec, e.g. "@every 1m" or "*/5 * * * *"
	// Fn runs the job as of now (the runner's clock): jobs never read the wall clock
	// themselves, so tests drive them with a manual clock.
	Fn func(ctx context.Context, now time.Time) error
	// Quiet logs successful runs at debug level (jobs that run every few seconds).
	Quiet bool
}

// LeaderLockKey is the advisory lock that elects the job leader.
const LeaderLockKey int64 = 727_000_001

// Runner elects a leader and, while leading, runs the jobs.
type Runner struct {
	DatabaseURL string        // the lock connection is dedicated, opened from this URL
	Pool        *pgxpool.Pool // for the job_runs log
	Jobs        []Job
	Logger      *slog.Logger
	Metrics     *metrics.Metrics
	// Clock gives each run its time (nil: the wall clock).
	Clock clock.Clock
	// Poll is how often a follower tries to become leader and a leader checks its
	// lock connection. Default 10s, so a dead leader is replaced well within a minute.
	Poll time.Duration
	// Host names this process in the job_runs log.
	Host string

	mu      sync.Mutex
	leading bool
}

// Leading reports whether this runner currently holds the leader lock.
func (r *Runner) Leading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

func (r *Runner) setLeading(v bool) {
	r.mu.Lock()
	r.leading = v
	r.mu.Unlock()
}

// Run blocks until ctx ends, leading whenever it can. On return every running job
// has finished.
func (r *Runner) Run(ctx context.Context) {
	if r.Poll == 0 {
		r.Poll = 10 * time.Second
	}
	if r.Host == "" {
		h, _ := os.Hostname()
		r.Host = fmt.Sprintf("%s:%d", h, os.Getpid())
	}
	for {
		conn, err := r.tryLead(ctx)
		if err != nil && ctx.Err() == nil {
			r.Logger.Warn("job leader election failed", "err", err)
		}
		if conn != nil {
			r.lead(ctx, conn)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Poll):
		}
	}
}

// tryLead opens a dedicated connection and tries the lock; it returns the connection
// only when the lock was taken.
func (r *Runner) tryLead(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, r.DatabaseURL)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(cctx, "SELECT pg_try_advisory_lock($1)", LeaderLockKey).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// lead runs the cron table until ctx ends or the lock connection is lost.
func (r *Runner) lead(ctx context.Context, conn *pgx.Conn) {
	r.setLeading(true)
	defer r.setLeading(false)
	r.Logger.Info("this process now runs the jobs", "host", r.Host)
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	l := cronLogger{r.Logger}
	c := cron.New(cron.WithChain(cron.Recover(l), cron.SkipIfStillRunning(l)))
	for _, j := range r.Jobs {
		j := j
		if _, err := c.AddFunc(j.Spec, func() { r.runJob(jobCtx, j) }); err != nil {
			r.Logger.Error("bad job spec", "job", j.Name, "spec", j.Spec, "err", err)
		}
	}
	c.Start()
	t := time.NewTicker(r.Poll)
	defer t.Stop()
	for lost := false; !lost; {
		select {
		case <-ctx.Done():
			lost = true
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := conn.Ping(pctx); err != nil {
				r.Logger.Warn("lost the job leader connection; stepping down", "err", err)
				lost = true
			}
			cancel()
		}
	}
	<-c.Stop().Done() // wait for running jobs
	uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", LeaderLockKey)
	_ = conn.Close(uctx)
}

// runJob runs one job with logging, metrics and a job_runs row.
func (r *Runner) runJob(ctx context.Context, j Job) {
	start := time.Now()
	now := start
	if r.Clock != nil {
		now = r.Clock.Now()
	}
	err := j.Fn(ctx, now)
	d := time.Since(start)
	result, msg := "ok", ""
	if err != nil {
		result, msg = "error", err.Error()
		r.Logger.Error("job failed", "job", j.Name, "duration", d, "err", err)
	} else if j.Quiet {
		r.Logger.Debug("job ran", "job", j.Name, "duration", d)
	} else {
		r.Logger.Info("job ran", "job", j.Name, "duration", d)
	}
	if r.Metrics != nil {
		r.Metrics.JobRuns.WithLabelValues(j.Name, result).Inc()
		r.Metrics.JobDuration.WithLabelValues(j.Name).Observe(d.Seconds())
	}
	if err := r.record(ctx, j.Name, start, d, msg); err != nil {
		r.Logger.Warn("could not record job run", "job", j.Name, "err", err)
	}
}

func (r *Runner) record(ctx context.Context, name string, start time.Time, d time.Duration, msg string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := r.Pool.Exec(cctx, `INSERT INTO job_runs (name, host, started_at, duration_ms, error) VALUES ($1,$2,$3,$4,$5)`,
		name, r.Host, start, d.Milliseconds(), msg)
	return err
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
