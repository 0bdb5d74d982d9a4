package routing_test

import (
	"testing"

	"github.com/atiende/atiende/models"
)

// Routing remembers a workspace's setup between messages; any change to a rule, a
// team, a calendar or a menu, however it is made (here straight in SQL), reaches the
// very next first message.
func TestSetupChangesReachTheNextMessage(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas, soporte := e.team("Ventas", models.RoutingRoundRobin), e.team("Soporte", models.RoutingRoundRobin)
	e.agent("Vera", 10, ventas)
	e.agent("Sole", 10, soporte)
	if c := e.say("51912000001", "Hola"); c.TeamID != nil {
		t.Fatalf("without rules the chat went to team %d", *c.TeamID)
	}
	rule := e.rule("Todo", models.RuleDefault, `{"default":true}`, &ventas, nil, "")
	if c := e.say("51912000002", "Hola"); e.teamName(c.ID) != "Ventas" || e.assignee(c.ID) != "Vera" {
		t.Fatalf("a new rule: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	e.exec(`UPDATE routing_rules SET team_id = ? WHERE id = ?`, soporte.ID, rule)
	if c := e.say("51912000003", "Hola"); e.teamName(c.ID) != "Soporte" || e.assignee(c.ID) != "Sole" {
		t.Fatalf("a rule changed: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	e.exec(`UPDATE teams SET routing_mode = 'manual' WHERE id = ?`, soporte.ID)
	if c := e.say("51912000004", "Hola"); e.teamName(c.ID) != "Soporte" || e.assignee(c.ID) != "" {
		t.Fatalf("a team turned manual: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	e.exec(`UPDATE teams SET routing_mode = 'round_robin' WHERE id = ?`, soporte.ID)
	cal := e.scalar(`INSERT INTO calendars (workspace_id, name, timezone, hours) VALUES (?, 'Noches', 'America/Lima', '{"mon":[["22:00","23:00"]]}') RETURNING id`, e.ws.ID)
	e.exec(`UPDATE teams SET calendar_id = ? WHERE id = ?`, cal, soporte.ID)
	c := e.say("51912000005", "Hola")
	if len(e.automatic(c.ID)) != 1 {
		t.Fatalf("a team's new calendar: %d automatic messages", len(e.automatic(c.ID)))
	}
	e.exec(`UPDATE calendars SET hours = '{"tue":[["00:00","23:59"]]}' WHERE id = ?`, cal)
	if c := e.say("51912000006", "Hola"); len(e.automatic(c.ID)) != 0 {
		t.Fatalf("a calendar's new hours: %d automatic messages", len(e.automatic(c.ID)))
	}
	e.exec(`DELETE FROM routing_rules WHERE id = ?`, rule)
	if c := e.say("51912000007", "Hola"); c.TeamID != nil {
		t.Fatalf("a rule deleted: the chat went to team %d", *c.TeamID)
	}
	e.exec(`INSERT INTO routing_rules (workspace_id, name, position, kind, cond, team_id) VALUES (?, 'Otra vez', 1, 'default', '{"default":true}', ?)`, e.ws.ID, ventas.ID)
	e.exec(`TRUNCATE routing_rules`)
	if c := e.say("51912000008", "Hola"); c.TeamID != nil {
		t.Fatalf("rules truncated: the chat went to team %d", *c.TeamID)
	}
}
