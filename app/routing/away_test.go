package routing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/routing"
	"github.com/atiende/atiende/models"
)

var weekdays = map[string][][2]string{"mon": {{"09:00", "18:00"}}, "tue": {{"09:00", "18:00"}}, "wed": {{"09:00", "18:00"}},
	"thu": {{"09:00", "18:00"}}, "fri": {{"09:00", "18:00"}}}

// The next opening named in Spanish across a weekend, a holiday and both DST changes
// of America/Santiago (September: 24:00 → 01:00; April: 24:00 → 23:00).
func TestNextOpeningText(t *testing.T) {
	santiago, _ := time.LoadLocation("America/Santiago")
	hours := map[string][][2]string{"sun": {{"09:00", "13:00"}}}
	for k, v := range weekdays {
		hours[k] = v
	}
	cal, err := calendar.Parse("America/Santiago", hours, []string{"2026-09-18", "2026-09-19"})
	if err != nil {
		t.Fatal(err)
	}
	weekOnly, _ := calendar.Parse("America/Santiago", weekdays, nil)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, santiago) }
	for _, tc := range []struct {
		name string
		cal  calendar.Calendar
		now  time.Time
		want string
		utc  time.Time // the instant of the opening
	}{
		{"a weekend", weekOnly, at(2026, 3, 6, 19, 0), "el lunes 9 de marzo a las 9:00", time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)},
		{"early the same day", weekOnly, at(2026, 3, 9, 7, 30), "hoy a las 9:00", time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)},
		{"the evening before", weekOnly, at(2026, 3, 10, 18, 0), "mañana a las 9:00", time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)},
		{"a holiday (Fiestas Patrias, Friday and Saturday)", cal, at(2026, 9, 17, 19, 0), "el domingo 20 de septiembre a las 9:00",
			time.Date(2026, 9, 20, 12, 0, 0, 0, time.UTC)},
		{"September DST: the night the clock jumps to 01:00", cal, at(2026, 9, 5, 22, 0), "mañana a las 9:00",
			time.Date(2026, 9, 6, 12, 0, 0, 0, time.UTC)}, // 9:00 at UTC-3
		{"April DST: the night the clock goes back to 23:00", cal, at(2026, 4, 4, 23, 30), "mañana a las 9:00",
			time.Date(2026, 4, 5, 13, 0, 0, 0, time.UTC)}, // 9:00 at UTC-4
		{"April DST over a weekday calendar", weekOnly, at(2026, 4, 3, 18, 30), "el lunes 6 de abril a las 9:00",
			time.Date(2026, 4, 6, 13, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := routing.NextOpeningText(tc.cal, tc.now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if got := tc.cal.NextOpening(tc.now); !got.Equal(tc.utc) {
				t.Errorf("opening at %s, want %s", got.UTC(), tc.utc)
			}
		})
	}
	if got := routing.AwayText("", weekOnly, at(2026, 3, 6, 19, 0)); got != "Gracias por escribirnos. Te responderemos el lunes 9 de marzo a las 9:00." {
		t.Errorf("default away message %q", got)
	}
	if got := routing.AwayText("Volvemos {proxima_apertura} 🙌", weekOnly, at(2026, 3, 6, 19, 0)); got != "Volvemos el lunes 9 de marzo a las 9:00 🙌" {
		t.Errorf("custom away message %q", got)
	}
}

// Outside the team's hours the customer gets the away message once per cycle, the
// chat still queues, and the message is automatic (no agent reply).
func TestAwayMessageOncePerCycle(t *testing.T) {
	// Friday 6 March 2026, 19:00 in Santiago (22:00 UTC).
	e := newEnv(t, time.Date(2026, 3, 6, 22, 0, 0, 0, time.UTC))
	cal := e.scalar(`INSERT INTO calendars (workspace_id, name, timezone, hours) VALUES (?, 'Santiago', 'America/Santiago',
		'{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],"wed":[["09:00","18:00"]],"thu":[["09:00","18:00"]],"fri":[["09:00","18:00"]]}') RETURNING id`, e.ws.ID)
	ventas := e.team("Ventas", models.RoutingRoundRobin)
	e.exec(`UPDATE teams SET calendar_id = ? WHERE id = ?`, cal, ventas.ID)
	ana := e.agent("Ana", 10, ventas)
	e.exec(`UPDATE users SET presence = 'offline' WHERE id = ?`, ana.ID)
	e.rule("Todo a Ventas", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	c := e.say("56911110001", "Hola, ¿atienden hoy?")
	e.say("56911110001", "¿Hola?")
	auto := e.automatic(c.ID)
	if len(auto) != 1 || auto[0].Body != "Gracias por escribirnos. Te responderemos el lunes 9 de marzo a las 9:00." {
		t.Fatalf("away messages: %+v", auto)
	}
	if cv := e.conv(c.ID); cv.Status != models.StatusNew || cv.TeamID == nil || cv.AssigneeID != nil || cv.WaitingSince == nil {
		t.Fatalf("after the away message the chat is %s, team %v", cv.Status, cv.TeamID)
	}
	if e.scalar(`SELECT count(*) FROM outbox WHERE message_id = ?`, auto[0].ID) != 1 {
		t.Fatal("the away message did not go through the outbox")
	}
	// A new cycle gets it again; a custom message names the opening its own way.
	e.close(c.ID)
	e.exec(`UPDATE teams SET away_message = 'Estamos fuera de horario. Volvemos {proxima_apertura}.' WHERE id = ?`, ventas.ID)
	e.clk.Advance(time.Hour)
	e.say("56911110001", "Sigo esperando")
	auto = e.automatic(c.ID)
	if len(auto) != 2 || auto[1].Body != "Estamos fuera de horario. Volvemos el lunes 9 de marzo a las 9:00." {
		t.Fatalf("second cycle: %+v", auto)
	}
	// Inside hours: none.
	e.clk.Set(time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)) // Monday 10:00
	c2 := e.say("56911110002", "Hola")
	if n := len(e.automatic(c2.ID)); n != 0 {
		t.Fatalf("%d away messages inside hours", n)
	}
	// Before a team is known (the menu waits), the default rule's team's calendar decides.
	e.clk.Set(time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC)) // Saturday
	e.menu("¿En qué te ayudamos?", models.MenuOption{Key: "1", Title: "Ventas", TeamID: &ventas.ID})
	c3 := e.say("56911110003", "Hola")
	auto = e.automatic(c3.ID)
	if len(auto) != 2 || !strings.HasPrefix(auto[0].Body, "Estamos fuera de horario") || !strings.Contains(auto[1].Body, "1. Ventas") {
		t.Fatalf("before the menu: %+v", auto)
	}
	e.say("56911110003", "1")
	if n := len(e.automatic(c3.ID)); n != 2 || e.teamName(c3.ID) != "Ventas" {
		t.Fatalf("after the answer: %d automatic messages, team %q", n, e.teamName(c3.ID))
	}
}
