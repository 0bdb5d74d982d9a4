package routing_test

import (
	"strings"
	"testing"

	"github.com/atiende/atiende/models"
)

func menuEnv(t *testing.T, opts int) (*env, models.Team, models.Team, int64) {
	e := newEnv(t, tuesday)
	ventas, soporte := e.team("Ventas", models.RoutingRoundRobin), e.team("Soporte", models.RoutingRoundRobin)
	e.agent("Vera", 10, ventas)
	e.agent("Sole", 10, soporte)
	lv := e.label("Ventas")
	options := []models.MenuOption{
		{Key: "1", Title: "Ventas y nuevos servicios", TeamID: &ventas.ID, LabelID: &lv},
		{Key: "2", Title: "Soporte técnico", TeamID: &soporte.ID},
	}
	for i := 3; i <= opts; i++ {
		options = append(options, models.MenuOption{Key: string(rune('0' + i)), Title: "Otra opción número " + string(rune('0'+i)), TeamID: &soporte.ID})
	}
	e.menu("Hola 👋, ¿en qué te ayudamos?", options...)
	e.rule("Por defecto", models.RuleDefault, `{"default":true}`, &soporte, nil, "")
	return e, ventas, soporte, lv
}

// With no other rule matching, the channel's menu is sent (as buttons inside the
// window) and the answer decides: by number, word, title or tapped button.
func TestWelcomeMenuAnswers(t *testing.T) {
	e, _, _, lv := menuEnv(t, 2)
	c := e.say("51922000001", "Hola")
	if e.conv(c.ID).TeamID != nil || e.assignee(c.ID) != "" {
		t.Fatalf("routed before the menu was answered: %q", e.teamName(c.ID))
	}
	auto := e.automatic(c.ID)
	if len(auto) != 1 || !strings.Contains(auto[0].Body, "1. Ventas y nuevos servicios") || auto[0].SenderType != models.SenderSystem {
		t.Fatalf("menu messages %+v", auto)
	}
	p := e.payload(auto[0].ID)
	in, _ := p["interactive"].(map[string]any)
	if p["type"] != "interactive" || in["type"] != "button" {
		t.Fatalf("the menu went as %v", p)
	}
	buttons := in["action"].(map[string]any)["buttons"].([]any)
	first := buttons[0].(map[string]any)["reply"].(map[string]any)
	if len(buttons) != 2 || first["id"] != "menu:1" || first["title"] != "Ventas y nuevos…" {
		t.Fatalf("buttons %v", buttons)
	}
	// The menu is no agent reply: the chat still waits for one.
	if cv := e.conv(c.ID); cv.Status != models.StatusNew || cv.WaitingSince == nil {
		t.Fatalf("after the menu the chat is %s, waiting since %v", cv.Status, cv.WaitingSince)
	}
	if e.scalar(`SELECT count(*) FROM cycles WHERE conversation_id = ? AND first_reply_at IS NOT NULL`, c.ID) != 0 {
		t.Fatal("the menu counted as the first reply")
	}
	c = e.say("51922000001", "1")
	if e.teamName(c.ID) != "Ventas" || e.assignee(c.ID) != "Vera" {
		t.Fatalf("«1» went to %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	if e.scalar(`SELECT count(*) FROM conversation_labels WHERE conversation_id = ? AND label_id = ?`, c.ID, lv) != 1 {
		t.Fatal("the option's label was not added")
	}
	if d := e.decisions(c.ID); !contains(d, "Eligió «Ventas y nuevos servicios» en el menú → Ventas. Asignada a Vera (turno rotativo)") {
		t.Fatalf("decisions %q", d)
	}
	// A later message in the same cycle is not read as an answer.
	e.say("51922000001", "2")
	if e.teamName(c.ID) != "Ventas" || len(e.automatic(c.ID)) != 1 {
		t.Fatal("a message after the answer was read as another answer")
	}

	for _, tc := range []struct{ wa, answer, team string }{
		{"51922000002", "soporte", "Soporte"},
		{"51922000003", "Ventas y nuevos servicios", "Ventas"},
		{"51922000004", "  VENTAS!! ", "Ventas"},
		{"51922000005", "opción 2", "Soporte"},
		{"51922000006", "Soporte tecnico", "Soporte"},
	} {
		e.say(tc.wa, "Buenas")
		if c := e.say(tc.wa, tc.answer); e.teamName(c.ID) != tc.team {
			t.Errorf("answer %q went to %q, want %s", tc.answer, e.teamName(c.ID), tc.team)
		}
	}
	// A tapped button comes back with its id.
	e.say("51922000007", "Hola")
	if c := e.tap("51922000007", "button_reply", "menu:2", "Soporte técnico"); e.teamName(c.ID) != "Soporte" || e.assignee(c.ID) != "Sole" {
		t.Fatalf("the tapped button went to %q", e.teamName(c.ID))
	}
}

// Four options or more go as a list; a row tapped from the list decides too, and a
// menu_option rule for that key applies (its team and priority).
func TestWelcomeMenuListAndMenuOptionRule(t *testing.T) {
	e, _, _, _ := menuEnv(t, 5)
	vip := e.team("VIP", models.RoutingRoundRobin)
	e.agent("Vito", 10, vip)
	e.rule("Opción 4 a VIP", models.RuleMenuOption, `{"menu_option":"4"}`, &vip, nil, "urgent")
	c := e.say("51922000011", "Hola")
	auto := e.automatic(c.ID)
	p := e.payload(auto[0].ID)
	in := p["interactive"].(map[string]any)
	rows := in["action"].(map[string]any)["sections"].([]any)[0].(map[string]any)["rows"].([]any)
	if in["type"] != "list" || len(rows) != 5 {
		t.Fatalf("five options went as %v", in)
	}
	c = e.tap("51922000011", "list_reply", "menu:4", "Otra opción número 4")
	if e.teamName(c.ID) != "VIP" || e.assignee(c.ID) != "Vito" || e.conv(c.ID).Priority != "urgent" {
		t.Fatalf("option 4 went to %q (%s), priority %q", e.teamName(c.ID), e.assignee(c.ID), e.conv(c.ID).Priority)
	}
}

// An unclear answer gets the menu again, at most twice; then the default rule's team.
func TestUnclearMenuAnswerTwiceThenDefault(t *testing.T) {
	e, _, _, _ := menuEnv(t, 2)
	c := e.say("51922000021", "Hola")
	e.say("51922000021", "no sé")
	e.say("51922000021", "quiero hablar con alguien")
	if n := len(e.automatic(c.ID)); n != 3 || e.conv(c.ID).TeamID != nil {
		t.Fatalf("after two unclear answers: %d menus, team %q", n, e.teamName(c.ID))
	}
	if !strings.HasPrefix(e.automatic(c.ID)[1].Body, "No entendí tu respuesta") {
		t.Fatalf("the menu came again as %q", e.automatic(c.ID)[1].Body)
	}
	e.say("51922000021", "???")
	if n := len(e.automatic(c.ID)); n != 3 {
		t.Fatalf("the menu went %d times", n)
	}
	if e.teamName(c.ID) != "Soporte" || e.assignee(c.ID) != "Sole" {
		t.Fatalf("after three unclear answers the chat is in %q", e.teamName(c.ID))
	}
	if d := e.decisions(c.ID); !contains(d, "Sin respuesta clara al menú: regla por defecto «Por defecto» → Soporte") {
		t.Fatalf("decisions %q", d)
	}
}

// A customer who already has an agent this cycle gets no menu and their answer is
// not read as a choice; a new cycle shows the menu again.
func TestNoMenuOnceAnAgentHasTheChat(t *testing.T) {
	e, _, _, _ := menuEnv(t, 2)
	c := e.say("51922000031", "Hola")
	sole := e.scalar(`SELECT id FROM users WHERE name = 'Sole'`)
	e.exec(`UPDATE conversations SET assignee_id = ? WHERE id = ?`, sole, c.ID) // taken by hand meanwhile
	e.say("51922000031", "1")
	if e.teamName(c.ID) == "Ventas" || e.assignee(c.ID) != "Sole" || e.conv(c.ID).MenuState != "" {
		t.Fatalf("the answer re-routed a taken chat: %q (%s)", e.teamName(c.ID), e.assignee(c.ID))
	}
	if n := len(e.automatic(c.ID)); n != 1 {
		t.Fatalf("%d menus", n)
	}
}
