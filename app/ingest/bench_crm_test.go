package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
)

// BenchmarkWebhookFirstMessageAutoLead: every webhook is a new customer's first
// message on a channel with automatic leads on, so each one creates the contact, the
// conversation, its first cycle and its lead; 32 connections against the real binary,
// compared with pgbench's raw writes as in BenchmarkWebhookIngest. Target ratio ≥ 0.15.
func BenchmarkWebhookFirstMessageAutoLead(b *testing.B) {
	bin, err := filepath.Abs("../../bin/atiende")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skip("bin/atiende missing: run `make bench`")
	}
	const workers = 32
	duration := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil {
		duration = d
	}
	srv := startBenchServer(b, bin)
	ctx := context.Background()
	d, err := db.Open(ctx, srv.url)
	if err != nil {
		b.Fatal(err)
	}
	svc := crm.New(d.Gorm, clock.Real{}, nil)
	p, err := svc.SavePipeline(ctx, srv.ws.ID, 0, crm.PipelineInput{Name: "Entrantes", Stages: []crm.StageInput{{Name: "Entrantes"}, {Name: "Ganado", Kind: "won"}}})
	if err != nil {
		b.Fatal(err)
	}
	autoLead := os.Getenv("BENCH_AUTOLEAD") != "off" // off: the same first messages without leads, to compare
	if autoLead {
		if err := svc.SetAutoLead(ctx, srv.ws.ID, srv.ch.ID, &p.ID); err != nil {
			b.Fatal(err)
		}
	}
	d.Close()

	type signed struct {
		body []byte
		sig  string
	}
	const prebuilt = 80000
	bodies := make([]signed, prebuilt)
	for i := range bodies {
		body := testutil.InboundText(srv.ch, fmt.Sprintf("51800%07d", i), "Cliente nuevo", fmt.Sprintf("wamid.FIRST%d", i), "Hola, vi su anuncio", time.Now())
		bodies[i] = signed{body, whatsapp.Sign([]byte(testutil.AppSecret), body)}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 10 * time.Second}
	target := srv.base + srv.ch.WebhookPath()
	var seq atomic.Int64
	run := func(d time.Duration) (lat []time.Duration, failed int64) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var fails atomic.Int64
		stop := time.Now().Add(d)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local []time.Duration
				for time.Now().Before(stop) {
					n := int(seq.Add(1) - 1)
					if n >= prebuilt {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(bodies[n].body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Hub-Signature-256", bodies[n].sig)
					start := time.Now()
					res, err := client.Do(req)
					el := time.Since(start)
					if err != nil {
						fails.Add(1)
						continue
					}
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						fails.Add(1)
						continue
					}
					local = append(local, el)
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return lat, fails.Load()
	}
	run(2 * time.Second)
	b.ResetTimer()
	start := time.Now()
	lat, failed := run(duration)
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))]
	}
	rate := float64(len(lat)) / elapsed.Seconds()

	d, err = db.Open(ctx, srv.url)
	if err != nil {
		b.Fatal(err)
	}
	var convs, leads int64
	d.Gorm.Raw(`SELECT count(*) FROM conversations`).Row().Scan(&convs)
	d.Gorm.Raw(`SELECT count(*) FROM leads`).Row().Scan(&leads)
	d.Close()
	if autoLead && leads != convs {
		b.Fatalf("%d new conversations but %d automatic leads", convs, leads)
	}
	tps := pgbench(b, srv.url, srv.ws.ID, srv.ch.ID, workers)
	ratio := rate / tps
	fmt.Printf("\nwebhook first messages with automatic leads: %.0f/s over %s with %d connections (%d failed), p50 %.1f ms, p99 %.1f ms; %d conversations, %d leads\n",
		rate, elapsed.Round(time.Second), workers, failed, ms(pct(0.50)), ms(pct(0.99)), convs, leads)
	fmt.Printf("raw PostgreSQL (pgbench, insert message + update conversation, %d clients): %.0f tps\n", workers, tps)
	fmt.Printf("ratio first-message-with-lead/pgbench: %.2f (target >= 0.15: %v)\n\n", ratio, ratio >= 0.15)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(ratio, "ratio")
}
