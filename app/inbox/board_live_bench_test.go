package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// BenchmarkBoardWithLiveFeatures is BenchmarkBoard's quiet workspace with the rail
// badges and the collision warning on: while 16 boards read, every client also asks
// for its rail badges, and 8 open conversations announce viewing and typing 16 times a
// second in all, more than a team of 16 all typing at once (one announcement per agent
// every 2.5 s): events through NOTIFY that must not invalidate the board's cache.
// It measures the same boards without them first, in the same run, and prints both.
func BenchmarkBoardWithLiveFeatures(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding 2M messages is not short")
	}
	s := seedBoard(b, 200_000, 10_000, 2_000_000)
	const clients = 16
	users := []models.User{s.admin, s.sup, s.agent}
	transport := &http.Transport{MaxIdleConnsPerHost: clients * 4}
	pool := make([]*testutil.Client, clients)
	for i := range pool {
		pool[i] = s.app.LoginAs(users[i%len(users)])
		pool[i].HTTP.Transport = transport
	}
	for _, c := range pool {
		c.Get("/board")
		fetch(c, "/me/badges", true)
	}
	b.ResetTimer()
	for range b.N {
		// The same boards first without the live features, as the baseline of this run
		// (on a shared machine two runs differ more than the features do).
		quietPage := measure(b, pool, 40, func(c *testutil.Client, i int) int { return fetch(c, "/board", false) })
		quietColumn := measure(b, pool, 80, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/"+[]string{"new", "active", "pending", "closed"}[i%4], true)
		})
		stop, announced, failed := startCollisions(b, s, transport)
		started := time.Now()
		page := measure(b, pool, 40, func(c *testutil.Client, i int) int { return fetch(c, "/board", false) })
		column := measure(b, pool, 80, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/"+[]string{"new", "active", "pending", "closed"}[i%4], true)
		})
		badges := measure(b, pool, 40, func(c *testutil.Client, i int) int { return fetch(c, "/me/badges", true) })
		elapsed := time.Since(started)
		stop()
		fmt.Printf("%d clients at once, without the live features (this run's baseline):\n", clients)
		report(b, "GET /board (full page)", quietPage, 50*time.Millisecond)
		report(b, "GET /board/columns/:status (partial)", quietColumn, 20*time.Millisecond)
		fmt.Printf("%d clients at once, with rail badges and collision events (%.0f announcements/s, %d failed):\n",
			clients, float64(announced.Load())/elapsed.Seconds(), failed.Load())
		report(b, "GET /board (full page)", page, 50*time.Millisecond)
		report(b, "GET /board/columns/:status (partial)", column, 20*time.Millisecond)
		report(b, "GET /me/badges (rail badges)", badges, 20*time.Millisecond)
		b.ReportMetric(ms(pct(page, 95)), "page-p95-ms")
		b.ReportMetric(ms(pct(column, 95)), "column-p95-ms")
		b.ReportMetric(ms(pct(badges, 95)), "badges-p95-ms")
	}
}

// startCollisions has 8 admins (who see every chat) announce viewing or typing on 8
// open conversations, one announcement each 500 ms, until stop is called.
func startCollisions(b *testing.B, s boardSeed, transport *http.Transport) (stop func(), announced, failed *atomic.Int64) {
	var convIDs []int64
	testutil.Must(b, s.app.DB.Gorm.Raw(`SELECT id FROM conversations WHERE workspace_id = ? AND status = 'active' ORDER BY id LIMIT 8`, s.ws.ID).Scan(&convIDs).Error)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	announced, failed = new(atomic.Int64), new(atomic.Int64)
	for i, id := range convIDs {
		v := s.app.LoginAs(s.admin)
		v.HTTP.Transport = transport
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			state := []string{"viewing", "typing"}[i%2]
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				req, _ := http.NewRequest(http.MethodPost, v.Base+fmt.Sprintf("/conversations/%d/viewing", id), strings.NewReader(url.Values{"state": {state}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-CSRF-Token", v.CSRF)
				req.Header.Set("HX-Request", "true")
				res, err := v.HTTP.Do(req)
				if err != nil || res.StatusCode != http.StatusNoContent {
					failed.Add(1)
				} else {
					announced.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, announced, failed
}
