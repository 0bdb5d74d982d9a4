package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The proof that there is one engine: the same scenario played live (signed webhooks,
// replies, takes, transfers and closes through the API, a manual clock advanced between
// steps) and as a history import yields the same rows — conversations, cycles, events
// and messages — field by field.
func TestLiveAndImportAgree(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 14, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	live := testutil.NewAppWithClock(t, clk)
	ws := live.Workspace("Demo")
	ventas, soporte := live.Team(ws, "Ventas"), live.Team(ws, "Soporte")
	ana := live.User(ws, "ana@example.com", models.RoleAgent, ventas)
	luis := live.User(ws, "luis@example.com", models.RoleAgent, soporte)
	sup := live.User(ws, "sup@example.com", models.RoleSupervisor, ventas, soporte)
	ch := live.Channel(ws, "Principal")
	api := map[string]*testutil.API{"ana@example.com": live.API(ana), "luis@example.com": live.API(luis), "sup@example.com": live.API(sup)}

	// The import file: setup, then the same events.
	var file bytes.Buffer
	emit := func(m map[string]any) {
		b, _ := json.Marshal(m)
		file.Write(append(b, '\n'))
	}
	emit(map[string]any{"type": "workspace", "name": "Demo", "timezone": "America/Lima"})
	emit(map[string]any{"type": "team", "name": "Ventas"})
	emit(map[string]any{"type": "team", "name": "Soporte"})
	emit(map[string]any{"type": "agent", "email": "ana@example.com", "name": "Ana", "role": "agent", "teams": []string{"Ventas"}})
	emit(map[string]any{"type": "agent", "email": "luis@example.com", "name": "Luis", "role": "agent", "teams": []string{"Soporte"}})
	emit(map[string]any{"type": "agent", "email": "sup@example.com", "name": "Sup", "role": "supervisor", "teams": []string{"Ventas", "Soporte"}})
	emit(map[string]any{"type": "channel", "name": "Principal", "phone_number_id": ch.PhoneNumberID, "display_phone": ch.DisplayPhone})

	convOf := map[string]int64{}
	at := t0
	step := func(d time.Duration) { at = at.Add(d); clk.Set(at) }
	seq := 0
	inbound := func(waID, name, text string) {
		seq++
		wamid := fmt.Sprintf("wamid.EQ%03d", seq)
		if code := live.Webhook(ch, testutil.InboundText(ch, waID, name, wamid, text, at)); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		var id int64
		testutil.Must(t, live.DB.Gorm.Raw(`SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.wa_id = ?`, waID).Row().Scan(&id))
		convOf[waID] = id
		emit(map[string]any{"type": "inbound", "at": at.Format(time.RFC3339), "channel": ch.PhoneNumberID, "from": waID, "name": name, "text": text, "id": wamid})
	}
	call := func(who, method, path string, body any) {
		b, _ := json.Marshal(body)
		if body == nil {
			b = nil
		}
		res := api[who].Do(method, path, string(b))
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
			t.Fatalf("%s %s as %s: %d %s", method, path, who, res.StatusCode, res.Body)
		}
	}
	conv := func(waID string) string { return fmt.Sprintf("/api/v1/conversations/%d", convOf[waID]) }
	reply := func(who, waID, text string) {
		call(who, "POST", conv(waID)+"/messages", map[string]any{"body": text})
		emit(map[string]any{"type": "reply", "at": at.Format(time.RFC3339), "contact": waID, "agent": who, "text": text})
	}
	note := func(who, waID, text string) {
		call(who, "POST", conv(waID)+"/messages", map[string]any{"body": text, "private": true})
		emit(map[string]any{"type": "note", "at": at.Format(time.RFC3339), "contact": waID, "agent": who, "text": text})
	}
	// take by hand: live, Tomar; in a file, an assign line and the agent's move to En atención.
	take := func(who, waID string, status string) {
		call(who, "POST", conv(waID)+"/take", nil)
		emit(map[string]any{"type": "assign", "at": at.Format(time.RFC3339), "contact": waID, "agent": who})
		if status != "" {
			emit(map[string]any{"type": "status", "at": at.Format(time.RFC3339), "contact": waID, "agent": who, "status": status})
		}
	}
	transfer := func(who, waID, team, note string) {
		call(who, "POST", conv(waID)+"/assign", map[string]any{"team": team, "note": note})
		emit(map[string]any{"type": "transfer", "at": at.Format(time.RFC3339), "contact": waID, "team": team, "note": note})
	}
	status := func(who, waID, st, reason string) {
		call(who, "POST", conv(waID)+"/status", map[string]any{"status": st, "reason": reason})
		emit(map[string]any{"type": "status", "at": at.Format(time.RFC3339), "contact": waID, "agent": who, "status": st, "reason": reason})
	}

	const pedro, carlos = "51987654321", "5215512345678"
	inbound(pedro, "Pedro", "Hola, necesito una cotización")
	step(2 * time.Minute)
	transfer("sup@example.com", pedro, "Ventas", "cliente nuevo, cotización")
	step(3 * time.Minute)
	take("ana@example.com", pedro, models.StatusActive)
	step(5 * time.Minute)
	reply("ana@example.com", pedro, "¡Hola Pedro! ¿Cuántas licencias?")
	step(20 * time.Minute) // a pending span, ended by the customer
	inbound(pedro, "Pedro", "Unas 20, anuales")
	step(time.Minute)
	inbound(pedro, "Pedro", "¿Tienen descuento?")
	step(9 * time.Minute)
	note("ana@example.com", pedro, "cliente VIP, revisar descuento")
	step(5 * time.Minute)
	reply("ana@example.com", pedro, "Sí, 15 % desde 20 licencias")
	inbound(carlos, "Carlos", "Buenas, ¿soporte?")
	step(5 * time.Minute)
	transfer("ana@example.com", pedro, "Soporte", "pide revisar su servidor antes de cotizar")
	take("luis@example.com", carlos, models.StatusActive)
	step(10 * time.Minute)
	take("luis@example.com", pedro, "")
	reply("luis@example.com", carlos, "Hola Carlos, dime")
	step(10 * time.Minute)
	reply("luis@example.com", pedro, "Revisé tu servidor: todo compatible")
	step(10 * time.Minute)
	status("luis@example.com", pedro, models.StatusClosed, "Resuelto")
	step(10 * time.Minute) // a reopen: dragging the closed card out
	status("luis@example.com", pedro, models.StatusActive, "")
	step(5 * time.Minute)
	reply("luis@example.com", pedro, "Te reabro para enviarte el manual")
	step(5 * time.Minute)
	status("luis@example.com", pedro, models.StatusClosed, "Manual enviado")
	status("luis@example.com", carlos, models.StatusPending, "")
	step(26 * time.Hour) // the customer comes back: a new cycle, unassigned
	inbound(pedro, "Pedro", "Hola otra vez")
	inbound(carlos, "Carlos", "Sigo esperando")

	// The same file into a fresh database.
	imp := testutil.NewApp(t)
	res, err := imp.Server.Services.Importer.Run(context.Background(), bytes.NewReader(file.Bytes()), importer.Options{})
	if err != nil {
		t.Fatalf("import: %v\n%s", err, file.String())
	}
	if res.Applied == 0 {
		t.Fatal("the import applied nothing")
	}
	for _, q := range comparisons {
		a, b := dump(t, live, q.sql), dump(t, imp, q.sql)
		if len(a) == 0 {
			t.Fatalf("%s: the live run left no rows", q.name)
		}
		if len(a) != len(b) {
			t.Errorf("%s: live has %d rows, import %d\nlive:\n%s\nimport:\n%s", q.name, len(a), len(b), strings.Join(a, "\n"), strings.Join(b, "\n"))
			continue
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s row %d differs\nlive:   %s\nimport: %s", q.name, i, a[i], b[i])
			}
		}
	}
}

// Rows are compared by what they mean (names, emails, wa_ids, cycle numbers), never by
// ids, which differ between two databases. Events and activity lines leave out who
// acted (a person live, the importer in a file) and messages the delivery state (queued
// live, read as history).
var comparisons = []struct{ name, sql string }{
	{"conversations", `SELECT k.wa_id, c.status, COALESCE(t.name, '-'), COALESCE(u.email, '-'),
		(SELECT count(*) FROM cycles y WHERE y.conversation_id = c.id AND y.id <= c.cycle_id),
		c.last_message_at, c.last_message_preview, c.last_message_out, c.last_inbound_at, c.waiting_since, c.close_reason, c.closed_at
		FROM conversations c JOIN contacts k ON k.id = c.contact_id LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN users u ON u.id = c.assignee_id
		ORDER BY k.wa_id`},
	{"contacts", `SELECT wa_id, phone, country, profile_name FROM contacts ORDER BY wa_id`},
	{"cycles", `SELECT k.wa_id, y.opened_at, y.opened_by, y.closed_at, y.close_reason, COALESCE(t.name, '-'), COALESCE(u.email, '-'),
		y.first_reply_at, COALESCE(f.email, '-'), y.transferred
		FROM cycles y JOIN conversations c ON c.id = y.conversation_id JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN teams t ON t.id = y.team_id LEFT JOIN users u ON u.id = y.assignee_id LEFT JOIN users f ON f.id = y.first_reply_user_id
		ORDER BY k.wa_id, y.opened_at, y.id`},
	{"events", `SELECT k.wa_id, (SELECT count(*) FROM cycles y WHERE y.conversation_id = c.id AND y.id <= e.cycle_id), e.kind, e.at,
		e.from_status, e.to_status, COALESCE(ft.name, '-'), COALESCE(tt.name, '-'), COALESCE(fu.email, '-'), COALESCE(tu.email, '-'), e.note
		FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN teams ft ON ft.id = e.from_team_id LEFT JOIN teams tt ON tt.id = e.to_team_id
		LEFT JOIN users fu ON fu.id = e.from_user_id LEFT JOIN users tu ON tu.id = e.to_user_id
		ORDER BY k.wa_id, e.at, e.id`},
	{"messages", `SELECT k.wa_id, (SELECT count(*) FROM cycles y WHERE y.conversation_id = c.id AND y.id <= m.cycle_id), m.direction, m.kind,
		m.body, m.private, m.automatic, m.sender_type, CASE WHEN m.kind = 'activity' THEN '' ELSE COALESCE(u.email, '-') END, m.created_at,
		CASE WHEN m.direction = 'in' THEN m.wamid ELSE '' END, COALESCE(e.kind, '-')
		FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN users u ON u.id = m.sender_user_id LEFT JOIN conversation_events e ON e.id = m.event_id
		ORDER BY k.wa_id, m.created_at, m.id`},
}

func dump(t *testing.T, app *testutil.App, q string) []string {
	t.Helper()
	rows, err := app.DB.SQL.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		testutil.Must(t, rows.Scan(ptrs...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case time.Time:
				parts[i] = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				parts[i] = string(x)
			case nil:
				parts[i] = "∅"
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	testutil.Must(t, rows.Err())
	return out
}
