package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/jobs"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/testutil"
)

const poll = 300 * time.Millisecond

// patience bounds the waits for what must happen: a wait that succeeds returns at
// once, so only a failing test pays for all of it; under -race on a loaded CI machine
// a new database connection alone can take a second.
const patience = 15 * time.Second

// process is one Runner with its own pool and lock connection, as a separate
// `atiende serve` would have.
type process struct {
	runner *jobs.Runner
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, dbURL, host string, job jobs.Job) *process {
	t.Helper()
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	r := &jobs.Runner{
		DatabaseURL: dbURL,
		Pool:        d.Pool,
		Jobs:        []jobs.Job{job},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:     metrics.New(nil),
		Poll:        poll,
		Host:        host,
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{runner: r, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); r.Run(ctx) }()
	t.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	p.cancel()
	<-p.done
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(d); ; {
		if cond() {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tickJob records every run in its own table, independent of the runner's log.
func tickJob(t *testing.T, dbURL string) jobs.Job {
	t.Helper()
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if _, err := d.Pool.Exec(context.Background(), `CREATE TABLE ticks (at timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		t.Fatal(err)
	}
	return jobs.Job{Name: "tick", Spec: "@every 1s", Fn: func(ctx context.Context, _ time.Time) error {
		_, err := d.Pool.Exec(ctx, `INSERT INTO ticks DEFAULT VALUES`)
		return err
	}}
}

type run struct {
	Host    string
	Started time.Time
}

func runs(t *testing.T, conn *pgx.Conn) []run {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT host, started_at FROM job_runs WHERE name = 'tick' ORDER BY started_at`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (run, error) {
		var x run
		err := r.Scan(&x.Host, &x.Started)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOneProcessRunsTheJobsAndAnotherTakesOver(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewDatabaseURL(t)
	job := tickJob(t, dbURL)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	a := start(t, dbURL, "proc-a", job)
	b := start(t, dbURL, "proc-b", job)
	waitFor(t, patience, "no runner became leader", func() bool { return a.runner.Leading() || b.runner.Leading() })
	leader, follower := a, b
	if b.runner.Leading() {
		leader, follower = b, a
	}

	// Let the schedule tick about four times.
	waitFor(t, patience, "the job did not run 4 times", func() bool { return len(runs(t, conn)) >= 4 })
	time.Sleep(1200 * time.Millisecond) // one more tick: a second process would have run too
	if a.runner.Leading() && b.runner.Leading() {
		t.Fatal("both processes lead")
	}
	got := runs(t, conn)
	for _, r := range got {
		if r.Host != leader.runner.Host {
			t.Fatalf("%s ran the job while %s led: %v", r.Host, leader.runner.Host, got)
		}
	}
	// One run per tick, from the start of the first run to the start of the last.
	// started_at is when the run's goroutine got going, not the tick: on a loaded
	// machine a run can start most of a second late and share its clock second with
	// the next, on-time one (so no "once per clock second"), or a tick can be skipped
	// while the previous run still works. The bounds allow that; a second process or
	// scheduler running the job too would double the count.
	first, last := got[0].Started, got[len(got)-1].Started
	if span := last.Sub(first).Seconds(); float64(len(got)-1) > span+1 || float64(len(got)-1) < (span-1)/2 {
		t.Fatalf("%d runs in %.1f s, want one per second: %v", len(got), span, got)
	}

	// The leader stops (SIGTERM drains, or it dies): the other takes over at its next poll.
	leader.stop()
	if leader.runner.Leading() {
		t.Fatal("a stopped runner still says it leads")
	}
	took := waitFor(t, patience, "the follower did not take over", follower.runner.Leading)
	t.Logf("took over in %v (poll %v)", took, poll)
	// At its next poll: a wait of up to one poll, then a new connection and a query,
	// which on a loaded CI machine under -race can take a second or two by themselves.
	if took > poll+3*time.Second {
		t.Errorf("took %v to take over, more than the poll interval %v (plus connection time)", took, poll)
	}
	before := len(runs(t, conn))
	waitFor(t, patience, "the new leader does not run the job", func() bool {
		r := runs(t, conn)
		return len(r) > before && r[len(r)-1].Host == follower.runner.Host
	})

	// Every execution of the job is logged, once. Compared with both processes stopped:
	// while one runs the job, a run may have done its work but not logged it yet.
	follower.stop()
	var ticks, logged int
	testutil.Must(t, conn.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM ticks), (SELECT count(*) FROM job_runs WHERE name = 'tick')`).Scan(&ticks, &logged))
	if ticks != logged {
		t.Fatalf("%d job runs logged, %d executions of the job", logged, ticks)
	}
}

// A leader whose database connection dies (process killed, network cut) loses the
// lock with it; a follower takes over and the old leader stops running jobs.
func TestLeaderWhoseConnectionDiesIsReplaced(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewDatabaseURL(t)
	job := tickJob(t, dbURL)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	a := start(t, dbURL, "proc-a", job)
	waitFor(t, patience, "a did not lead", a.runner.Leading)
	b := start(t, dbURL, "proc-b", job)
	time.Sleep(2 * poll)
	if b.runner.Leading() {
		t.Fatal("b leads while a holds the lock")
	}

	var killed bool
	testutil.Must(t, conn.QueryRow(context.Background(), `
		SELECT pg_terminate_backend(l.pid) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		uint32(jobs.LeaderLockKey)).Scan(&killed))
	if !killed {
		t.Fatal("could not find the leader's lock connection")
	}
	waitFor(t, patience, "b did not take over", b.runner.Leading)
	// a notices at its next poll, when pinging its lock connection fails.
	waitFor(t, patience, "a kept leading without its lock", func() bool { return !a.runner.Leading() })
	before := len(runs(t, conn))
	waitFor(t, patience, "b does not run the job", func() bool {
		r := runs(t, conn)
		return len(r) > before && r[len(r)-1].Host == "proc-b"
	})
}

func TestJobRunsAreLoggedWithErrorsAndMetrics(t *testing.T) {
	t.Parallel()
	dbURL := testutil.NewDatabaseURL(t)
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	m := metrics.New(nil)
	r := &jobs.Runner{DatabaseURL: dbURL, Pool: d.Pool, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m, Poll: poll, Host: "solo",
		Jobs: []jobs.Job{
			{Name: "fails", Spec: "@every 1s", Fn: func(context.Context, time.Time) error { return errFailed }},
			{Name: "panics", Spec: "@every 1s", Fn: func(context.Context, time.Time) error { panic("boom") }},
			{Name: "works", Spec: "@every 1s", Fn: func(context.Context, time.Time) error { return nil }},
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor(t, patience, "no failed run logged", func() bool {
		var n int
		_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM job_runs WHERE name = 'fails' AND error = 'it failed'`).Scan(&n)
		return n > 0
	})
	waitFor(t, patience, "a panicking job stopped the others", func() bool {
		var n int
		_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM job_runs WHERE name = 'works' AND error = ''`).Scan(&n)
		return n >= 2
	})
	if !r.Leading() {
		t.Fatal("a panicking job made the runner step down")
	}
	mfs, err := m.Registry.Gather()
	testutil.Must(t, err)
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
	}
	for _, name := range []string{"atiende_job_runs_total", "atiende_job_duration_seconds"} {
		if !seen[name] {
			t.Errorf("metric %s missing after job runs", name)
		}
	}
}

type failed struct{}

func (failed) Error() string { return "it failed" }

var errFailed error = failed{}
