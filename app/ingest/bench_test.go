package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/config"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// BenchmarkWebhookIngest measures issue 3's target: signed webhooks with one text
// message each, 32 concurrent connections over loopback, against the real server
// binary on a fresh database; then pgbench doing the same writes (one message insert
// + one conversation update per transaction) at the same concurrency, in the same
// run. It prints messages/s, p50/p99 latency, the ratio, and the server's peak RSS.
// Run with `make bench` (it builds bin/atiende first).
func BenchmarkWebhookIngest(b *testing.B) {
	bin, err := filepath.Abs("../../bin/atiende")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Skip("bin/atiende missing: run `make bench`")
	}
	const contacts = 2000
	workers := 32 // BENCH_WORKERS changes it (1: the latency of one webhook alone)
	if n, err := strconv.Atoi(os.Getenv("BENCH_WORKERS")); err == nil && n > 0 {
		workers = n
	}
	duration := 15 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil {
		duration = d
	}
	srv := startBenchServer(b, bin)
	url, ws, ch, base := srv.url, srv.ws, srv.ch, srv.base
	_ = base
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 10 * time.Second}
	target := base + ch.WebhookPath()
	// Bodies are built and signed before the clock starts, so the load generator
	// spends its CPU on sending, not on JSON and HMAC.
	type signed struct {
		body []byte
		sig  string
	}
	const prebuilt = 60000
	bodies := make([]signed, prebuilt)
	for i := range bodies {
		body := testutil.InboundText(ch, fmt.Sprintf("51900%06d", i%contacts), "Cliente", fmt.Sprintf("wamid.BENCH%d", i), "Hola, ¿tienen stock?", time.Now())
		bodies[i] = signed{body, whatsapp.Sign([]byte(testutil.AppSecret), body)}
	}
	var seq atomic.Int64
	send := func() (time.Duration, bool) {
		n := int(seq.Add(1)-1) % prebuilt
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(bodies[n].body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", bodies[n].sig)
		start := time.Now()
		res, err := client.Do(req)
		el := time.Since(start)
		if err != nil {
			return el, false
		}
		res.Body.Close()
		return el, res.StatusCode == http.StatusOK
	}
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
					el, ok := send()
					if !ok {
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
	run(3 * time.Second) // warm-up: connections, caches, the first conversations
	b.ResetTimer()
	start := time.Now()
	lat, failed := run(duration)
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	rate := float64(len(lat)) / elapsed.Seconds()
	rss := peakRSS(srv.cmd.Process.Pid)

	tps := pgbench(b, url, ws.ID, ch.ID, workers)
	ratio := rate / tps
	fmt.Printf("\nwebhook ingest: %.0f messages/s over %s with %d connections (%d failed), p50 %.1f ms, p99 %.1f ms\n",
		rate, elapsed.Round(time.Second), workers, failed, ms(pct(0.50)), ms(pct(0.99)))
	fmt.Printf("raw PostgreSQL (pgbench, insert message + update conversation, %d clients): %.0f tps\n", workers, tps)
	fmt.Printf("ratio webhook/pgbench: %.2f (target >= 0.35)   server peak RSS: %.0f MB (target < 200)\n", ratio, rss)
	fmt.Printf("targets: >= 1000 msg/s %v, p99 < 100 ms %v, ratio >= 0.35 %v, RSS < 200 MB %v\n\n",
		rate >= 1000, ms(pct(0.99)) < 100, ratio >= 0.35, rss < 200)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(rss, "rss-MB")
}

type benchServer struct {
	url  string
	base string
	ws   models.Workspace
	ch   models.Channel
	cmd  *exec.Cmd
}

// startBenchServer starts the real binary on a fresh database with one channel and an
// admin (password testutil.Password); it stops when the benchmark ends.
func startBenchServer(b *testing.B, bin string) benchServer {
	url := testutil.NewDatabaseURL(b)
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	cfg, _ := config.Load(func(string) string { return "" })
	acc := accounts.New(d.Gorm, clock.Real{})
	ws, err := acc.EnsureWorkspace(ctx, "Bench", "America/Lima")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := acc.CreateUser(ctx, ws.ID, accounts.UserInput{Email: "admin@bench.pe", Name: "Admin", Role: "admin", Password: testutil.Password, Active: true}); err != nil {
		b.Fatal(err)
	}
	box, _ := secrets.New(cfg.SecretKey)
	ch, err := channels.New(d.Gorm, box, clock.Real{}).Create(ctx, ws.ID, channels.Input{Name: "Bench", PhoneNumberID: "106540352242922",
		AccessToken: "t", AppSecret: testutil.AppSecret, VerifyToken: "v"})
	if err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "PORT="+strconv.Itoa(port), "LOG_LEVEL=error", "WHATSAPP_GRAPH_URL=http://127.0.0.1:1")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitReady(b, base)
	return benchServer{url: url, base: base, ws: ws, ch: ch, cmd: cmd}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitReady(t testing.TB, base string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("server did not become ready")
}

// peakRSS reads the process's high-water resident set size in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// pgbench runs the same writes the webhook path must do at its core, straight in SQL.
func pgbench(t testing.TB, url string, wsID, chID int64, clients int) float64 {
	if _, err := exec.LookPath("pgbench"); err != nil {
		t.Skip("pgbench not installed")
	}
	// Conversation ids have gaps (upserts consume sequence values): number them densely.
	var n int64
	conn, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	conn.Gorm.Exec("CREATE TABLE bench_convs AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM conversations")
	conn.Gorm.Exec("ALTER TABLE bench_convs ADD PRIMARY KEY (n)")
	conn.Gorm.Raw("SELECT count(*) FROM bench_convs").Row().Scan(&n)
	conn.Close()
	script := fmt.Sprintf(`\set k random(1, %d)
\set n random(1, 1000000000000)
BEGIN;
INSERT INTO messages (workspace_id, conversation_id, channel_id, direction, kind, body, wamid, sender_type, created_at)
  SELECT %d, id, %d, 'in', 'text', 'Hola, ¿tienen stock?', 'pgb.' || :client_id || '.' || :n, 'contact', now() FROM bench_convs WHERE n = :k;
UPDATE conversations SET last_message_at = now(), last_message_preview = 'Hola, ¿tienen stock?', unread_count = unread_count + 1, updated_at = now()
  WHERE id = (SELECT id FROM bench_convs WHERE n = :k);
END;
`, n, wsID, chID)
	f := filepath.Join(t.TempDir(), "ingest.sql")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pgbench", "-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", "10", "-f", f, url).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pgbench output: %s", out)
	}
	tps, _ := strconv.ParseFloat(strings.TrimSpace(m[1]), 64)
	return tps
}
