package routing_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// close ends the conversation's cycle as an agent's close would.
func (e *env) close(id int64) {
	e.t.Helper()
	e.exec(`UPDATE cycles SET closed_at = ?, team_id = c.team_id, assignee_id = c.assignee_id FROM conversations c
		WHERE c.id = ? AND cycles.id = c.cycle_id`, e.clk.Now(), id)
	e.exec(`UPDATE conversations SET status = 'closed', closed_at = ? WHERE id = ?`, e.clk.Now(), id)
}

func (e *env) loads() map[string]int64 {
	e.t.Helper()
	var rows []struct {
		Name string
		N    int64
	}
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT u.name, count(c.id) AS n FROM users u
		LEFT JOIN conversations c ON c.assignee_id = u.id AND c.status IN ('new','active')
		WHERE u.workspace_id = ? AND u.role = 'agent' GROUP BY u.name`, e.ws.ID).Scan(&rows).Error)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Name] = r.N
	}
	return out
}

// Round-robin takes turns; least-busy picks the agent with fewest open chats; both
// leave the card in Nuevos and say why in the activity.
func TestRoundRobinAndLeastBusy(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.agent("Ana", 10, ventas)
	e.agent("Beto", 10, ventas)
	e.agent("Caro", 10, ventas)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	var got []string
	for i := 0; i < 6; i++ {
		e.clk.Advance(time.Second)
		c := e.say(fmt.Sprintf("5193300000%d", i), "Hola")
		got = append(got, e.assignee(c.ID))
		if cv := e.conv(c.ID); cv.Status != models.StatusNew {
			t.Fatalf("automatic assignment moved the card to %s", cv.Status)
		}
	}
	if strings.Join(got, ",") != "Ana,Beto,Caro,Ana,Beto,Caro" {
		t.Fatalf("round-robin gave %v", got)
	}
	// The conversation page shows the decision.
	var id int64
	testutil.Must(t, e.app.DB.Gorm.Raw(`SELECT id FROM conversations ORDER BY id LIMIT 1`).Row().Scan(&id))
	admin := e.app.User(e.ws, "jefa@acme.test", models.RoleAdmin)
	page := e.app.LoginAs(admin).Get(fmt.Sprintf("/conversations/%d", id))
	if !strings.Contains(page.Body, "Regla por defecto «Todo a Ventas» → Ventas. Asignada a Ana (turno rotativo)") {
		t.Fatal("the conversation's activity does not explain the assignment")
	}

	// Least busy: Ana's chats wait on their customers (Pendientes do not count) and one of
	// Caro's too, so Ana is the least busy.
	e.exec(`UPDATE teams SET routing_mode = 'least_busy' WHERE id = ?`, ventas.ID)
	e.exec(`UPDATE conversations SET status = 'pending' WHERE assignee_id = (SELECT id FROM users WHERE name = 'Ana')`)
	e.exec(`UPDATE conversations SET status = 'pending' WHERE id = (SELECT min(id) FROM conversations WHERE assignee_id = (SELECT id FROM users WHERE name = 'Caro'))`)
	// Loads: Ana 0, Beto 2, Caro 1.
	c := e.say("51933000010", "Hola")
	c2 := e.say("51933000011", "Hola")
	c3 := e.say("51933000012", "Hola")
	if a, b, cc := e.assignee(c.ID), e.assignee(c2.ID), e.assignee(c3.ID); a != "Ana" || b != "Ana" || (cc != "Ana" && cc != "Caro") {
		t.Fatalf("least busy gave %s, %s, %s", a, b, cc)
	}
	if d := e.decisions(c.ID); !contains(d, "Asignada a Ana (el menos ocupado: 0 conversaciones)") {
		t.Fatalf("decisions %q", d)
	}
}

// Sticky: a returning contact goes back to the agent who handled them, when eligible;
// capacity: an agent at max_concurrent gets no more (pending chats do not count); with
// nobody eligible the chat waits in the team's queue.
func TestStickyCapacityAndQueue(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	ana := e.agent("Ana", 1, ventas)
	beto := e.agent("Beto", 1, ventas)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")

	c1 := e.say("51944000001", "Hola")
	if e.assignee(c1.ID) != "Ana" {
		t.Fatalf("first chat to %q", e.assignee(c1.ID))
	}
	e.close(c1.ID)
	e.clk.Advance(time.Minute)
	c2 := e.say("51944000002", "Hola") // Beto's turn
	if e.assignee(c2.ID) != "Beto" {
		t.Fatalf("second chat to %q", e.assignee(c2.ID))
	}
	e.exec(`UPDATE conversations SET status = 'pending' WHERE id = ?`, c2.ID) // waiting on the customer: not counted
	e.clk.Advance(time.Minute)
	// The first customer returns while it is Beto's turn: back with Ana all the same.
	e.exec(`UPDATE users SET routed_at = ? WHERE id = ?`, e.clk.Now(), ana.ID)
	e.exec(`UPDATE users SET routed_at = ? WHERE id = ?`, e.clk.Now().Add(-time.Hour), beto.ID)
	c1 = e.say("51944000001", "Hola de nuevo")
	if e.assignee(c1.ID) != "Ana" {
		t.Fatalf("the returning customer went to %q", e.assignee(c1.ID))
	}
	if d := e.decisions(c1.ID); !contains(d, "Vuelve con Ana, que la atendió antes") {
		t.Fatalf("decisions %q", d)
	}
	// Not sticky: the strategy decides.
	e.close(c1.ID)
	e.exec(`UPDATE teams SET sticky = false WHERE id = ?`, ventas.ID)
	e.exec(`UPDATE users SET routed_at = ? WHERE id = ?`, e.clk.Now(), ana.ID)
	c1 = e.say("51944000001", "Otra vez yo")
	if e.assignee(c1.ID) != "Beto" {
		t.Fatalf("without stickiness the returning customer went to %q", e.assignee(c1.ID))
	}
	// Capacity: Ana has 0 open (her chat closed), Beto has 1 (= max). Ana gets one, then nobody.
	c3 := e.say("51944000003", "Hola")
	c4 := e.say("51944000004", "Hola")
	if e.assignee(c3.ID) != "Ana" || e.assignee(c4.ID) != "" {
		t.Fatalf("at capacity: %q and %q", e.assignee(c3.ID), e.assignee(c4.ID))
	}
	if cv := e.conv(c4.ID); cv.Status != models.StatusNew || cv.TeamID == nil || *cv.TeamID != ventas.ID {
		t.Fatalf("the queued chat is %s in team %v", cv.Status, cv.TeamID)
	}
	if d := e.decisions(c4.ID); !contains(d, "Sin agentes disponibles: espera en la cola de Ventas") {
		t.Fatalf("decisions %q", d)
	}
	// An offline agent, a busy one, one outside their schedule: none is eligible.
	e.exec(`UPDATE users SET max_concurrent = 5`)
	e.exec(`UPDATE users SET presence = 'busy' WHERE id = ?`, ana.ID)
	e.exec(`UPDATE users SET presence = 'offline' WHERE id = ?`, beto.ID)
	cal := e.scalar(`INSERT INTO calendars (workspace_id, name, timezone, hours) VALUES (?, 'Noches', 'America/Lima', '{"mon":[["20:00","23:00"]]}') RETURNING id`, e.ws.ID)
	cleo := e.agent("Cleo", 5, ventas)
	e.exec(`UPDATE users SET schedule_calendar_id = ? WHERE id = ?`, cal, cleo.ID)
	c5 := e.say("51944000005", "Hola")
	if e.assignee(c5.ID) != "" {
		t.Fatalf("assigned to %q, who is busy, offline or off shift", e.assignee(c5.ID))
	}
	// Manual teams never assign.
	e.exec(`UPDATE users SET presence = 'online'`)
	e.exec(`UPDATE teams SET routing_mode = 'manual' WHERE id = ?`, ventas.ID)
	if c := e.say("51944000006", "Hola"); e.assignee(c.ID) != "" || e.teamName(c.ID) != "Ventas" {
		t.Fatalf("a manual team assigned %q", e.assignee(c.ID))
	}
}

// Sticky across numbers: a customer who talked to Ana on the main number and now
// writes to the second one (another conversation, the same contact) goes back to Ana.
func TestStickyFollowsTheContactToAnotherNumber(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	ana := e.agent("Ana", 5, ventas)
	beto := e.agent("Beto", 5, ventas)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")

	first := e.say("51944100001", "Hola")
	if e.assignee(first.ID) != "Ana" {
		t.Fatalf("first chat to %q", e.assignee(first.ID))
	}
	e.close(first.ID)
	// Beto's turn by the strategy.
	e.exec(`UPDATE users SET routed_at = ? WHERE id = ?`, e.clk.Now(), ana.ID)
	e.exec(`UPDATE users SET routed_at = ? WHERE id = ?`, e.clk.Now().Add(-time.Hour), beto.ID)
	e.clk.Advance(time.Hour)
	other := e.app.Channel(e.ws, "Segundo")
	again := e.postOn(other, "51944100001", "Hola, les escribo al otro número")
	if again.ID == first.ID || again.ContactID != first.ContactID {
		t.Fatalf("expected another conversation of the same contact: %d/%d, contacts %d/%d", again.ID, first.ID, again.ContactID, first.ContactID)
	}
	if e.assignee(again.ID) != "Ana" {
		t.Fatalf("the returning customer on another number went to %q", e.assignee(again.ID))
	}
	if d := e.decisions(again.ID); !contains(d, "Vuelve con Ana, que la atendió antes") {
		t.Fatalf("decisions %q", d)
	}
	// A new customer on that number follows the strategy: Beto's turn.
	if c := e.postOn(other, "51944100002", "Hola"); e.assignee(c.ID) != "Beto" {
		t.Fatalf("a new customer went to %q", e.assignee(c.ID))
	}
}

// The queue drains when an agent comes online (the rail's picker) or frees capacity
// (closing a chat), oldest first; the job is a safety net.
func TestQueueDrainsWhenAnAgentComesOnlineOrFreesCapacity(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	ana := e.agent("Ana", 2, ventas)
	e.exec(`UPDATE users SET presence = 'offline' WHERE id = ?`, ana.ID)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	var ids []int64
	for i := 0; i < 3; i++ {
		e.clk.Advance(time.Minute)
		ids = append(ids, e.say(fmt.Sprintf("5195500000%d", i), "Hola").ID)
	}
	for _, id := range ids {
		if e.assignee(id) != "" {
			t.Fatal("assigned with nobody online")
		}
	}
	web := e.app.LoginAs(ana)
	web.Get("/board")
	if r := web.HTMX("POST", "/me/presence", url.Values{"presence": {"online"}}); r.StatusCode != 200 {
		t.Fatalf("presence answered %d", r.StatusCode)
	}
	if e.assignee(ids[0]) != "Ana" || e.assignee(ids[1]) != "Ana" || e.assignee(ids[2]) != "" {
		t.Fatalf("after coming online: %q %q %q", e.assignee(ids[0]), e.assignee(ids[1]), e.assignee(ids[2]))
	}
	if d := e.decisions(ids[0]); !contains(d, "De la cola: Asignada a Ana (turno rotativo)") {
		t.Fatalf("decisions %q", d)
	}
	// Closing one of hers (on the board) frees a place: the third comes to her.
	if r := web.HTMX("POST", fmt.Sprintf("/conversations/%d/status", ids[0]), url.Values{"status": {"closed"}}); r.StatusCode >= 300 {
		t.Fatalf("closing answered %d: %s", r.StatusCode, r.Body)
	}
	if e.assignee(ids[2]) != "Ana" {
		t.Fatalf("closing a chat did not drain the queue: %q", e.assignee(ids[2]))
	}
	// The job: a chat queued while nobody was eligible is assigned once someone is.
	e.exec(`UPDATE users SET max_concurrent = 2`)
	c := e.say("51955000009", "Hola")
	if e.assignee(c.ID) != "" {
		t.Fatal("assigned over capacity")
	}
	e.exec(`UPDATE users SET max_concurrent = 3 WHERE id = ?`, ana.ID) // raised by an admin
	e.runJob("routing.drain")
	if e.assignee(c.ID) != "Ana" {
		t.Fatalf("the drain job left it with %q", e.assignee(c.ID))
	}
}
