package routing_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/atiende/atiende/models"
)

// An agent offline past the team's grace loses their Nuevos and En atención chats to
// the queue, and they are assigned again by strategy; pending ones stay.
func TestOfflineGraceReassigns(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	ana := e.agent("Ana", 10, ventas)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	c1 := e.say("51966000001", "Hola")
	c2 := e.say("51966000002", "Hola")
	c3 := e.say("51966000003", "Hola")
	e.exec(`UPDATE conversations SET status = 'active' WHERE id = ?`, c2.ID)
	e.exec(`UPDATE conversations SET status = 'pending' WHERE id = ?`, c3.ID)
	if e.assignee(c1.ID) != "Ana" || e.assignee(c2.ID) != "Ana" {
		t.Fatal("Ana did not get the chats")
	}
	// Ana goes offline from the API; Beto is online.
	if r := e.app.API(ana).Do("POST", "/api/v1/me/presence", `{"status":"offline"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("presence answered %d: %s", r.StatusCode, r.Body)
	}
	if r := e.app.API(ana).Do("POST", "/api/v1/me/presence", `{"status":"away"}`); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown presence answered %d", r.StatusCode)
	}
	e.agent("Beto", 10, ventas)
	e.clk.Advance(9 * time.Minute) // inside the default grace of 10 minutes
	e.runJob("routing.reassign")
	if e.assignee(c1.ID) != "Ana" {
		t.Fatal("reassigned inside the grace period")
	}
	e.clk.Advance(2 * time.Minute)
	e.runJob("routing.reassign")
	if e.assignee(c1.ID) != "Beto" || e.assignee(c2.ID) != "Beto" || e.assignee(c3.ID) != "Ana" {
		t.Fatalf("after the grace: %q %q %q", e.assignee(c1.ID), e.assignee(c2.ID), e.assignee(c3.ID))
	}
	if cv := e.conv(c2.ID); cv.Status != models.StatusNew {
		t.Fatalf("the active chat taken back is %s", cv.Status)
	}
	if d := e.decisions(c2.ID); !contains(d, "Ana se desconectó: vuelve a la cola") || !contains(d, "Asignada a Beto (turno rotativo)") {
		t.Fatalf("decisions %q", d)
	}
	// A per-team grace: 1 minute; a deactivated agent counts as gone too.
	e.exec(`UPDATE teams SET offline_grace_seconds = 60 WHERE id = ?`, ventas.ID)
	e.exec(`UPDATE users SET active = false, updated_at = ? WHERE name = 'Beto'`, e.clk.Now())
	e.agent("Caro", 10, ventas)
	e.clk.Advance(61 * time.Second)
	e.runJob("routing.reassign")
	if e.assignee(c1.ID) != "Caro" {
		t.Fatalf("the deactivated agent's chat is with %q", e.assignee(c1.ID))
	}
	if d := e.decisions(c1.ID); !contains(d, "Beto ya no está activo: vuelve a la cola") {
		t.Fatalf("decisions %q", d)
	}
}

// A chat left unanswered past the team's limit, counted in business time of its
// calendar, goes to someone else.
func TestUnansweredLimitReassignsInBusinessTime(t *testing.T) {
	// Tuesday 17:50 in Lima; the office closes at 18:00 and opens at 9:00.
	e := newEnv(t, time.Date(2026, 3, 3, 22, 50, 0, 0, time.UTC))
	cal := e.scalar(`INSERT INTO calendars (workspace_id, name, timezone, hours) VALUES (?, 'Lima', 'America/Lima',
		'{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],"wed":[["09:00","18:00"]],"thu":[["09:00","18:00"]],"fri":[["09:00","18:00"]]}') RETURNING id`, e.ws.ID)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.exec(`UPDATE teams SET unanswered_limit_seconds = 900, calendar_id = ? WHERE id = ?`, cal, ventas.ID)
	e.agent("Ana", 10, ventas)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	c := e.say("51977000001", "Hola")
	if e.assignee(c.ID) != "Ana" {
		t.Fatal("not assigned")
	}
	e.agent("Beto", 10, ventas)
	// 14 hours later, 7:50 next morning: only 10 business minutes have passed.
	e.clk.Advance(14 * time.Hour)
	e.exec(`UPDATE users SET last_seen_at = ?`, e.clk.Now())
	e.runJob("routing.reassign")
	if e.assignee(c.ID) != "Ana" {
		t.Fatal("reassigned on wall-clock time")
	}
	e.clk.Advance(80 * time.Minute) // 9:10: 20 business minutes
	e.exec(`UPDATE users SET last_seen_at = ?`, e.clk.Now())
	e.runJob("routing.reassign")
	if e.assignee(c.ID) != "Beto" {
		t.Fatalf("the unanswered chat is with %q: %q %+v", e.assignee(c.ID), e.decisions(c.ID), e.conv(c.ID))
	}
	if d := e.decisions(c.ID); !contains(d, "Ana no respondió en 15 minutos: vuelve a la cola") {
		t.Fatalf("decisions %q", d)
	}
}

// A transfer to a team with nobody named (web or API) is assigned by the team's strategy.
func TestTransferToATeamIsAssigned(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas, soporte := e.team("Ventas", models.RoutingRoundRobin), e.team("Soporte", models.RoutingLeastBusy)
	ana := e.agent("Ana", 10, ventas)
	e.agent("Sole", 10, soporte)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	c := e.say("51988000001", "Hola, mi equipo no prende")
	if r := e.app.API(ana).Do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", c.ID), `{"team":"Soporte","note":"Falla técnica"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("transfer answered %d: %s", r.StatusCode, r.Body)
	}
	if e.teamName(c.ID) != "Soporte" || e.assignee(c.ID) != "Sole" {
		t.Fatalf("after the transfer: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	// Nobody eligible: it waits in the team's queue, and the activity says so.
	e.exec(`UPDATE users SET presence = 'offline' WHERE name = 'Ana'`)
	sole := e.scalar(`SELECT id FROM users WHERE name = 'Sole'`)
	web := e.app.LoginAs(models.User{ID: sole, Email: "sole@acme.test"})
	web.Get(fmt.Sprintf("/conversations/%d", c.ID))
	r := web.PostForm(fmt.Sprintf("/conversations/%d/transfer", c.ID), map[string][]string{"team_id": {fmt.Sprint(ventas.ID)}, "note": {"Es de ventas"}})
	if r.StatusCode >= 400 {
		t.Fatalf("web transfer answered %d", r.StatusCode)
	}
	if e.teamName(c.ID) != "Ventas" || e.assignee(c.ID) != "" {
		t.Fatalf("after the web transfer: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	if d := e.decisions(c.ID); !contains(d, "Sin agentes disponibles: espera en la cola de Ventas") {
		t.Fatalf("decisions %q", d)
	}
}

// Presence set through the API lasts like the board's: every API call counts as
// activity, and without any the idle job shows the agent offline.
func TestAPICallsKeepPresenceAlive(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	ana := e.agent("Ana", 10, ventas)
	api := e.app.API(ana)
	if r := api.Do("POST", "/api/v1/me/presence", `{"status":"online"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("presence answered %d", r.StatusCode)
	}
	presence := func() string {
		var p string
		if err := e.app.DB.Gorm.Raw(`SELECT presence FROM users WHERE id = ?`, ana.ID).Row().Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := 0; i < 3; i++ {
		e.clk.Advance(90 * time.Second)
		if r := api.Do("GET", "/api/v1/me", ""); r.StatusCode != http.StatusOK {
			t.Fatalf("me answered %d", r.StatusCode)
		}
		e.runJob("presence.away")
		if p := presence(); p != models.PresenceOnline {
			t.Fatalf("after %d API calls 90 s apart Ana is %s", i+1, p)
		}
	}
	e.clk.Advance(3 * time.Minute)
	e.runJob("presence.away")
	if p := presence(); p != models.PresenceOffline {
		t.Fatalf("3 minutes without API calls Ana is %s", p)
	}
	// The next call brings back what she had chosen.
	api.Do("GET", "/api/v1/me", "")
	if p := presence(); p != models.PresenceOnline {
		t.Fatalf("back from idle through the API Ana is %s", p)
	}
}
