package inbox_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// BenchmarkBoardUncached is the cost of one board read that finds the workspace
// changed (as nearly every read does while messages arrive): one client at a time,
// the workspace changed before every request as a customer's message changes it
// (Inbox.Changed, what the webhook path calls), on BenchmarkBoardBusy's
// board. It prints, per request, the CPU of the Go process and of PostgreSQL and the
// statements run: figures that hardly depend on what else the machine is doing, to
// compare one change with the next. BenchmarkBoardBusy stays the measure of the
// targets.
func BenchmarkBoardUncached(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding 2M messages is not short")
	}
	s := seedBoard(b, 200_000, 10_000, 2_000_000)
	users := []models.User{s.admin, s.sup, s.agent}
	pool := make([]*testutil.Client, len(users))
	for i, u := range users {
		pool[i] = s.app.LoginAs(u)
		pool[i].HTTP.Transport = &http.Transport{}
	}
	var ch models.Channel
	testutil.Must(b, s.app.DB.Gorm.First(&ch, s.channels[0]).Error)
	for _, c := range pool {
		c.Get("/board")
	}
	columns := []string{"new", "active", "pending", "closed"}
	statements := func() int64 {
		time.Sleep(1200 * time.Millisecond) // backends report their counts within a second
		var n int64
		testutil.Must(b, s.app.DB.Gorm.Raw(`SELECT pg_stat_clear_snapshot()`).Error)
		testutil.Must(b, s.app.DB.Gorm.Raw(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n).Error)
		return n
	}
	type figure struct {
		name     string
		lat      []time.Duration
		cpu      [2]time.Duration
		stmts    float64
		requests int
	}
	run := func(name string, n int, do func(i int)) figure {
		st0 := statements()
		c0 := cpuNow(b, s)
		lat := make([]time.Duration, 0, n)
		for i := range n {
			t0 := time.Now()
			do(i)
			lat = append(lat, time.Since(t0))
		}
		c1 := cpuNow(b, s)
		st1 := statements()
		slices.Sort(lat)
		// The reads of statements() and cpuNow() themselves: 4 statements.
		return figure{name: name, lat: lat, cpu: [2]time.Duration{(c1[0] - c0[0]) / time.Duration(n), (c1[1] - c0[1]) / time.Duration(n)},
			stmts: float64(st1-st0-4) / float64(n), requests: n}
	}
	uncached := func(c *testutil.Client, path string, htmx bool) {
		s.app.Server.Inbox.Changed(s.ws.ID) // what a message arriving does
		if code := fetch(c, path, htmx); code != http.StatusOK {
			b.Fatalf("%s: status %d", path, code)
		}
	}
	b.ResetTimer()
	for range b.N {
		figs := []figure{
			run("GET /board (full page), uncached", 90, func(i int) { uncached(pool[i%3], "/board", false) }),
			run("GET /board/columns/:status, uncached", 180, func(i int) { uncached(pool[i%3], "/board/columns/"+columns[(i/3)%4], true) }),
			run("GET /board (full page), cached", 90, func(i int) {
				if code := fetch(pool[i%3], "/board", false); code != http.StatusOK {
					b.Fatalf("status %d", code)
				}
			}),
		}
		var hooks []time.Duration
		figs = append(figs, run("POST /webhooks (signed, 1 message)", 1, func(int) {
			hooks = webhooks(b, s, ch, 20, 5*time.Second, 0)
		}))
		hf := &figs[len(figs)-1]
		hf.lat, hf.requests = hooks, len(hooks)
		hf.cpu[0], hf.cpu[1] = hf.cpu[0]/time.Duration(len(hooks)), hf.cpu[1]/time.Duration(len(hooks))
		hf.stmts = (hf.stmts + 4) / float64(len(hooks)) // run() took its 4 off as for one request
		fmt.Printf("\none request at a time (CPU and statements per request; Go process incl. the client):\n")
		for _, f := range figs {
			fmt.Printf("%-40s p50 %5.1f ms  CPU Go %5.2f ms + PostgreSQL %5.2f ms  transactions %4.1f  (n=%d)\n",
				f.name, ms(pct(f.lat, 50)), ms(f.cpu[0]), ms(f.cpu[1]), f.stmts, f.requests)
		}
		size := func(path string, htmx bool, enc string) int {
			req, _ := http.NewRequest(http.MethodGet, pool[0].Base+path, nil)
			if htmx {
				req.Header.Set("HX-Request", "true")
			}
			req.Header.Set("Accept-Encoding", enc) // set by hand: the transport leaves the body as sent
			res, err := pool[0].HTTP.Do(req)
			testutil.Must(b, err)
			defer res.Body.Close()
			n, _ := io.Copy(io.Discard, res.Body)
			return int(n)
		}
		fmt.Printf("answer sizes (admin): full page %d B (gzip %d B), column %d B (gzip %d B)\n",
			size("/board", false, "identity"), size("/board", false, "gzip"),
			size("/board/columns/active", true, "identity"), size("/board/columns/active", true, "gzip"))
		fmt.Printf("(load average at the end: %s)\n", loadAverage())
	}
}
