package routing_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// burst sends n first messages from n new customers at once: signed webhooks over real
// HTTP from workers goroutines. It returns how long until every webhook was answered.
func (e *env) burst(n, workers int, prefix string) time.Duration {
	e.t.Helper()
	bodies := make([][]byte, n)
	for i := range bodies {
		msg := map[string]any{"from": fmt.Sprintf("%s%06d", prefix, i), "id": fmt.Sprintf("wamid.B%s%d", prefix, i),
			"timestamp": strconv.FormatInt(e.clk.Now().Unix(), 10), "type": "text", "text": map[string]any{"body": "Hola, quiero información"}}
		bodies[i] = testutil.InboundMessages(e.ch, []map[string]any{{"profile": map[string]any{"name": "Cliente"}, "wa_id": msg["from"]}}, msg)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 60 * time.Second}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, e.app.URL+e.ch.WebhookPath(), bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(testutil.AppSecret), bodies[i]))
				res, err := client.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
					if res != nil {
						res.Body.Close()
					}
					continue
				}
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f > 0 {
		e.t.Fatalf("%d webhooks failed", f)
	}
	return el
}

// assignedTwice counts conversations with more than one automatic assignment.
func (e *env) assignedTwice() int64 {
	return e.scalar(`SELECT count(*) FROM (SELECT conversation_id FROM conversation_events WHERE kind = 'route' AND to_user_id IS NOT NULL
		GROUP BY conversation_id HAVING count(*) > 1) x`)
}

// THE BURST: 1,000 new customers write at once to a team of 10 eligible agents with
// capacity 100. Round-robin ends with per-agent counts within ±1, every conversation
// assigned once, capacity never exceeded.
func TestBurstOfAThousandNewConversations(t *testing.T) {
	if testing.Short() {
		t.Skip("the burst takes a few seconds")
	}
	chats, capacity := 1000, 100
	if raceOn {
		chats, capacity = 300, 30
	}
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	for i := 0; i < 10; i++ {
		e.agent(fmt.Sprintf("Agente%02d", i), capacity, ventas)
	}
	el := e.burst(chats, 32, "51700")
	t.Logf("%d first messages routed in %s", chats, el.Round(time.Millisecond))
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL AND team_id = ?`, ventas.ID); n != int64(chats) {
		t.Fatalf("%d of %d assigned", n, chats)
	}
	loads := e.loads()
	lo, hi := int64(1<<62), int64(0)
	for _, n := range loads {
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 || hi > int64(capacity) {
		t.Fatalf("per-agent counts %v", loads)
	}
	if n := e.assignedTwice(); n != 0 {
		t.Fatalf("%d conversations assigned twice", n)
	}
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE status <> 'new'`); n != 0 {
		t.Fatalf("%d cards left Nuevos", n)
	}
}

// With less capacity than chats: 10 agents × 50 → 500 assigned, 500 in the queue; then
// raising capacity and bringing an agent online drains the oldest first.
func TestBurstBeyondCapacityQueuesAndDrainsOldestFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("the burst takes a few seconds")
	}
	chats, capacity, early := 1000, 50, 100
	if raceOn {
		chats, capacity, early = 300, 15, 30
	}
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	for i := 0; i < 10; i++ {
		e.agent(fmt.Sprintf("Agente%02d", i), capacity, ventas)
	}
	e.burst(chats, 32, "51701")
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id IS NOT NULL`); n != int64(chats/2) {
		t.Fatalf("%d assigned, want %d", n, chats/2)
	}
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id IS NULL AND status = 'new' AND team_id = ?`, ventas.ID); n != int64(chats/2) {
		t.Fatalf("%d queued, want %d", n, chats/2)
	}
	for name, n := range e.loads() {
		if n != int64(capacity) {
			t.Fatalf("%s has %d chats, capacity %d", name, n, capacity)
		}
	}
	// Mark the queue's order: the oldest waiting first.
	e.exec(`UPDATE conversations SET waiting_since = waiting_since - (random() * interval '10 minutes') WHERE assignee_id IS NULL`)
	oldest := func(k int) []int64 {
		var ids []int64
		testutil.Must(t, e.app.DB.Gorm.Raw(`SELECT id FROM conversations WHERE assignee_id IS NULL ORDER BY waiting_since, id LIMIT ?`, k).Scan(&ids).Error)
		return ids
	}
	first := oldest(early)
	// A new agent comes online through the API, with room for the oldest ones.
	nuevo := e.agent("Nuevo", early, ventas)
	e.exec(`UPDATE users SET presence = 'offline' WHERE id = ?`, nuevo.ID)
	if r := e.app.API(nuevo).Do("POST", "/api/v1/me/presence", `{"status":"online"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("presence answered %d", r.StatusCode)
	}
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id = ? AND id IN ?`, nuevo.ID, first); n != int64(early) {
		t.Fatalf("the new agent got %d of the %d oldest", n, early)
	}
	// Raising everyone's capacity drains the rest (the job, as a safety net).
	e.exec(`UPDATE users SET max_concurrent = 200`)
	e.runJob("routing.drain")
	if n := e.scalar(`SELECT count(*) FROM conversations WHERE assignee_id IS NULL`); n != 0 {
		t.Fatalf("%d still queued", n)
	}
	if n := e.assignedTwice(); n != 0 {
		t.Fatalf("%d assigned twice by routing", n)
	}
}
