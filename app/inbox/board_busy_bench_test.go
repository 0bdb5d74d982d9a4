package inbox_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// BenchmarkBoardBusy measures the board while the workspace is busy: 16 clients read
// boards and columns while signed webhooks arrive for the same workspace at 100
// messages/s (customers of the seeded conversations writing again, closed ones
// reopening), so almost every read finds the workspace changed since the last one and
// misses the cache. It prints the quiet and the busy figures side by side. Targets
// under load: full page p95 < 50 ms, column partial p95 < 20 ms, webhook p99 < 100 ms.
func BenchmarkBoardBusy(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding 2M messages is not short")
	}
	const conversations = 200_000
	s := seedBoard(b, conversations, 10_000, 2_000_000)
	const clients = 16
	users := []models.User{s.admin, s.sup, s.agent}
	transport := &http.Transport{MaxIdleConnsPerHost: clients * 2}
	pool := make([]*testutil.Client, clients)
	for i := range pool {
		pool[i] = s.app.LoginAs(users[i%len(users)])
		pool[i].HTTP.Transport = transport
	}
	var ch models.Channel
	testutil.Must(b, s.app.DB.Gorm.First(&ch, s.channels[0]).Error)
	for _, c := range pool {
		c.Get("/board")
	}
	columns := []string{"new", "active", "pending", "closed"}
	// CPU spent per request, the server's process (with the bench's own clients) and
	// PostgreSQL's backends apart: unlike latencies, it hardly depends on what else the
	// machine is doing, so it compares runs taken under different loads.
	type cost struct{ page, column [2]time.Duration }
	var costs []cost
	reads := func() (page, column []time.Duration) {
		c0 := cpuNow(b, s)
		page = measure(b, pool, 30, func(c *testutil.Client, i int) int { return fetch(c, "/board", false) })
		c1 := cpuNow(b, s)
		column = measure(b, pool, 60, func(c *testutil.Client, i int) int {
			return fetch(c, "/board/columns/"+columns[i%4], true)
		})
		c2 := cpuNow(b, s)
		per := func(a, z [2]time.Duration, n int) [2]time.Duration {
			return [2]time.Duration{(z[0] - a[0]) / time.Duration(max(n, 1)), (z[1] - a[1]) / time.Duration(max(n, 1))}
		}
		costs = append(costs, cost{per(c0, c1, len(page)), per(c1, c2, len(column))})
		return page, column
	}

	b.ResetTimer()
	for range b.N {
		quietPage, quietColumn := reads()
		quietHook := webhooks(b, s, ch, 100, 3*time.Second, 0) // the webhook alone, no readers

		// Busy: the same reads while webhooks arrive at 100/s.
		stop := make(chan struct{})
		var hooks []time.Duration
		done := make(chan struct{})
		go func() { defer close(done); hooks = webhooksUntil(b, s, ch, 100, stop, 1_000_000) }()
		time.Sleep(time.Second) // the stream is under way before the readers start
		busyPage, busyColumn := reads()
		close(stop)
		<-done

		fmt.Printf("\nboard, quiet vs busy (16 readers; busy: signed webhooks at 100 msg/s, same workspace):\n")
		fmt.Printf("%-38s %-34s %-34s %-12s %s\n", "", "quiet", "busy", "busy/quiet", "target")
		row := func(name string, q, bz []time.Duration, p int, target time.Duration) {
			cell := func(d []time.Duration) string {
				return fmt.Sprintf("p50 %5.1f  p%d %5.1f ms (n=%d)", ms(pct(d, 50)), p, ms(pct(d, p)), len(d))
			}
			// The ratio says what the webhooks cost the readers whatever else the machine
			// is doing (both columns are measured in the same run).
			ratio := fmt.Sprintf("%.2f×", ms(pct(bz, p))/max(ms(pct(q, p)), 0.001))
			fmt.Printf("%-38s %-34s %-34s %-12s p%d < %s: %s\n", name, cell(q), cell(bz), ratio, p, target,
				map[bool]string{true: "ok", false: "MISSED"}[pct(bz, p) < target])
		}
		row("GET /board (full page)", quietPage, busyPage, 95, 50*time.Millisecond)
		row("GET /board/columns/:status (partial)", quietColumn, busyColumn, 95, 20*time.Millisecond)
		row("POST /webhooks (signed, 1 message)", quietHook, hooks, 99, 100*time.Millisecond)
		fmt.Printf("(load average at the end: %s)\n", loadAverage())
		if len(costs) == 2 {
			q := costs[0]
			fmt.Printf("CPU per request, quiet (Go process incl. the bench's clients + PostgreSQL): full page %.1f + %.1f ms, partial %.1f + %.1f ms\n",
				ms(q.page[0]), ms(q.page[1]), ms(q.column[0]), ms(q.column[1]))
			bz := costs[1]
			fmt.Printf("CPU per request, busy (webhooks' share included): full page %.1f + %.1f ms, partial %.1f + %.1f ms\n",
				ms(bz.page[0]), ms(bz.page[1]), ms(bz.column[0]), ms(bz.column[1]))
		}
		b.ReportMetric(ms(pct(busyPage, 95)), "busy-page-p95-ms")
		b.ReportMetric(ms(pct(busyColumn, 95)), "busy-column-p95-ms")
		b.ReportMetric(ms(pct(hooks, 99)), "busy-webhook-p99-ms")
	}
}

var busySeq int64

// seedProfileNames are the seed's WhatsApp names (seedBoardInto: contact i is named
// seedProfileNames[i % 8] followed by i % 97).
var seedProfileNames = [...]string{"Mari", "Jose", "Lu", "Carmen R", "J", "Rosita", "Pedro", "Lucy"}

// webhooks sends rate signed webhooks a second for d and returns their latencies.
func webhooks(b testing.TB, s boardSeed, ch models.Channel, rate int, d time.Duration, offset int) []time.Duration {
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	return webhooksUntil(b, s, ch, rate, stop, offset)
}

// webhooksUntil sends rate signed webhooks a second, each from a customer of the
// seeded conversations, on its own goroutine (a slow answer does not slow the rate),
// until stop closes.
func webhooksUntil(b testing.TB, s boardSeed, ch models.Channel, rate int, stop chan struct{}, offset int) []time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	target := s.app.URL + ch.WebhookPath()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var lat []time.Duration
	for {
		select {
		case <-stop:
			wg.Wait()
			slices.Sort(lat)
			return lat
		case <-tick.C:
		}
		busySeq++
		n := busySeq
		// Customers of the seeded conversations (on this channel or not: a customer who
		// writes to another number opens a conversation there).
		i := 1 + (n*7919+int64(offset))%200_000
		wa := fmt.Sprintf("519%08d", i)
		// Each customer writes under the WhatsApp name the seed gave them, as Meta sends
		// it with every message (a name that changed with every message would make each
		// one rename its contact).
		profile := fmt.Sprintf("%s%d", seedProfileNames[i%8], i%97)
		body := testutil.InboundText(ch, wa, profile, fmt.Sprintf("wamid.BUSY%d.%d", time.Now().UnixNano(), n), "Hola, ¿me confirman el pedido?", time.Now())
		sig := whatsapp.Sign([]byte(testutil.AppSecret), body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", sig)
			t0 := time.Now()
			res, err := client.Do(req)
			el := time.Since(t0)
			if err != nil {
				b.Errorf("webhook: %v", err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("webhook: status %d", res.StatusCode)
				return
			}
			mu.Lock()
			lat = append(lat, el)
			mu.Unlock()
		}()
	}
}

// loadAverage is the machine's 1, 5 and 15-minute load averages ("" where unknown):
// figures taken on a machine busy with other work say so.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return fmt.Sprintf("%s %s %s on %d CPUs", f[0], f[1], f[2], runtime.NumCPU())
}

// cpuNow is the CPU time used so far by this process and by the PostgreSQL backends
// serving the bench's database (from /proc; zero where unavailable).
func cpuNow(b testing.TB, s boardSeed) [2]time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var pids []int
	if err := s.app.DB.Gorm.Raw(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`).Scan(&pids).Error; err != nil {
		b.Fatal(err)
	}
	var pg time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): utime and stime are the
		// 12th and 13th, in clock ticks (100 a second on Linux).
		_, rest, _ := strings.Cut(string(raw), ") ")
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		pg += time.Duration(u+st) * 10 * time.Millisecond
	}
	return [2]time.Duration{self, pg}
}
