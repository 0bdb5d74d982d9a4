package routing_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/atiende/atiende/models"
)

// Each rule type sends the chat that opens a cycle to its team (with its label and
// priority); rules are tried in order and the default catches the rest.
func TestEachRuleTypeRoutesTheFirstMessage(t *testing.T) {
	e := newEnv(t, tuesday)
	ventas, soporte, mexico, cierre, cuentas, canal := e.team("Ventas", models.RoutingRoundRobin), e.team("Soporte", models.RoutingRoundRobin),
		e.team("México", models.RoutingRoundRobin), e.team("Cierre", models.RoutingRoundRobin), e.team("Cuentas", models.RoutingRoundRobin),
		e.team("Canal", models.RoutingRoundRobin)
	e.agent("Vera", 10, ventas)
	e.agent("Sole", 10, soporte)
	e.agent("Memo", 10, mexico)
	e.agent("Cira", 10, cierre)
	ana := e.agent("Ana", 10, cuentas)
	e.agent("Beto", 10, cuentas)
	urgent := e.label("Urgente")

	e.rule("Reclamos a Soporte", models.RuleKeywords, `{"keywords":["reclamo","no funciona"]}`, &soporte, &urgent, "high")
	e.rule("México", models.RuleCountry, `{"country":"MX"}`, &mexico, nil, "")
	e.rule("Estadounidenses", models.RuleCountry, `{"country":"US"}`, &mexico, nil, "")
	var stage int64
	pipe := e.scalar(`INSERT INTO pipelines (workspace_id, name, is_default) VALUES (?, 'B2B', true) RETURNING id`, e.ws.ID)
	stage = e.scalar(`INSERT INTO stages (workspace_id, pipeline_id, name, position) VALUES (?, ?, 'Propuesta', 1) RETURNING id`, e.ws.ID, pipe)
	e.rule("Propuestas a Cierre", models.RuleStage, fmt.Sprintf(`{"stage_id":%d}`, stage), &cierre, nil, "")
	e.rule("Cuentas con dueño", models.RuleCompanyOwner, `{"company_owner":true}`, &cuentas, nil, "")
	other := e.app.Channel(e.ws, "Segundo")
	e.rule("Segundo número", models.RuleChannel, fmt.Sprintf(`{"channel_id":%d}`, other.ID), &canal, nil, "")
	e.rule("Todo lo demás", models.RuleDefault, `{"default":true}`, &ventas, nil, "")

	// Keywords: any case, with or without accents, as whole words.
	c := e.say("51911000001", "Hola, tengo un RECLAMO: el equipo no funciona!")
	if got := e.teamName(c.ID); got != "Soporte" || e.assignee(c.ID) != "Sole" {
		t.Fatalf("a complaint went to %q (%s)", got, e.assignee(c.ID))
	}
	if cv := e.conv(c.ID); cv.Priority != "high" || e.scalar(`SELECT count(*) FROM conversation_labels WHERE conversation_id = ? AND label_id = ?`, c.ID, urgent) != 1 {
		t.Fatalf("the complaint has priority %q and not its label", cv.Priority)
	}
	if d := e.decisions(c.ID); !contains(d, "Regla «Reclamos a Soporte» → Soporte. Asignada a Sole (turno rotativo)") {
		t.Fatalf("decisions %q", d)
	}
	if c := e.say("51911000002", "Quiero reclamos de premios"); e.teamName(c.ID) != "Ventas" {
		t.Fatalf("«reclamos» matched the keyword «reclamo»: %q", e.teamName(c.ID))
	}
	// Country from the number (+52 → México), whatever the text says.
	if c := e.say("5215512345678", "Buenas tardes"); e.teamName(c.ID) != "México" {
		t.Fatalf("a Mexican number went to %q", e.teamName(c.ID))
	}
	// A customer with a username and no number: the country_code of the profile.
	msg := map[string]any{"from_user_id": "US.77001", "id": "wamid.USER1", "timestamp": strconv.FormatInt(e.clk.Now().Unix(), 10),
		"type": "text", "text": map[string]any{"body": "hi"}}
	c = e.post("", []map[string]any{{"profile": map[string]any{"name": "Jo", "username": "jo", "country_code": "US"}, "user_id": "US.77001"}}, msg)
	if e.teamName(c.ID) != "México" {
		t.Fatalf("a username customer from the US went to %q", e.teamName(c.ID))
	}
	// Stage: the contact's open lead is in Propuesta.
	c = e.say("51911000003", "Hola")
	e.exec(`UPDATE conversations SET status = 'closed' WHERE id = ?`, c.ID)
	e.exec(`UPDATE cycles SET closed_at = now() WHERE conversation_id = ?`, c.ID)
	e.exec(`INSERT INTO leads (workspace_id, pipeline_id, stage_id, title, currency, contact_id, stage_changed_at, created_at, updated_at)
		VALUES (?, ?, ?, 'Licencias', 'USD', ?, now(), now(), now())`, e.ws.ID, pipe, stage, c.ContactID)
	if c := e.say("51911000003", "¿Cómo va mi propuesta?"); e.teamName(c.ID) != "Cierre" || e.assignee(c.ID) != "Cira" {
		t.Fatalf("a contact with a lead in Propuesta went to %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	// Company owner: Ana owns Acme's account, so she gets it, not the next in turn.
	c = e.say("51911000004", "Hola")
	e.exec(`UPDATE conversations SET status = 'closed' WHERE id = ?`, c.ID)
	e.exec(`UPDATE cycles SET closed_at = now() WHERE conversation_id = ?`, c.ID)
	co := e.scalar(`INSERT INTO companies (workspace_id, name, owner_id) VALUES (?, 'Minera Sur', ?) RETURNING id`, e.ws.ID, ana.ID)
	e.exec(`UPDATE contacts SET company_id = ? WHERE id = ?`, co, c.ContactID)
	e.exec(`UPDATE users SET routed_at = now() WHERE name = 'Beto'`)
	e.exec(`UPDATE users SET routed_at = now() + interval '1 hour' WHERE id = ?`, ana.ID) // Beto would be next in turn
	if c := e.say("51911000004", "Necesito más equipos"); e.teamName(c.ID) != "Cuentas" || e.assignee(c.ID) != "Ana" {
		t.Fatalf("the owner's customer went to %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	} else if d := e.decisions(c.ID); !contains(d, "Asignada a Ana, responsable de Minera Sur") {
		t.Fatalf("decisions %q", d)
	}
	// Channel.
	c = e.postOn(other, "51911000005", "Hola")
	if e.teamName(c.ID) != "Canal" {
		t.Fatalf("the second number's chat went to %q", e.teamName(c.ID))
	}
	// Default.
	if c := e.say("51911000006", "Hola"); e.teamName(c.ID) != "Ventas" || e.assignee(c.ID) != "Vera" {
		t.Fatalf("the default went to %q", e.teamName(c.ID))
	}
	// Order: a Mexican complaint matches the keyword rule first.
	if c := e.say("5215599999999", "Tengo un reclamo"); e.teamName(c.ID) != "Soporte" {
		t.Fatalf("a Mexican complaint went to %q", e.teamName(c.ID))
	}
	// An inactive rule is skipped.
	e.exec(`UPDATE routing_rules SET active = false WHERE name = 'México'`)
	if c := e.say("5215500000001", "Hola"); e.teamName(c.ID) != "Ventas" {
		t.Fatalf("an inactive rule still routed to %q", e.teamName(c.ID))
	}
	// Only the message that opens a cycle is routed: a second message changes nothing.
	c = e.say("51911000006", "tengo un reclamo")
	if e.teamName(c.ID) != "Ventas" {
		t.Fatalf("a message inside the cycle re-routed to %q", e.teamName(c.ID))
	}
}

func (e *env) postOn(ch models.Channel, waID, text string) models.Conversation {
	e.t.Helper()
	saved := e.ch
	e.ch = ch
	defer func() { e.ch = saved }()
	return e.say(waID, text)
}
