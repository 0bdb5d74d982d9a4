package routing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// env is a running Atiende on a manual clock with one workspace and one channel.
type env struct {
	t   *testing.T
	app *testutil.App
	clk *clock.Manual
	ws  models.Workspace
	ch  models.Channel
}

// A Tuesday, 10:00 in Lima: inside any office's hours.
var tuesday = time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, at time.Time) *env {
	clk := clock.NewManual(at)
	app := testutil.NewAppWithClock(t, clk)
	ws := app.Workspace("Acme")
	return &env{t: t, app: app, clk: clk, ws: ws, ch: app.Channel(ws, "Principal")}
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	testutil.Must(e.t, e.app.DB.Gorm.Exec(q, args...).Error)
}

func (e *env) scalar(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	testutil.Must(e.t, e.app.DB.Gorm.Raw(q, args...).Row().Scan(&n))
	return n
}

// team creates a team routing by mode.
func (e *env) team(name, mode string) models.Team {
	e.t.Helper()
	t := e.app.Team(e.ws, name)
	e.exec(`UPDATE teams SET routing_mode = ? WHERE id = ?`, mode, t.ID)
	t.RoutingMode = mode
	return t
}

// agent creates an agent of the teams, online now, with capacity max.
func (e *env) agent(name string, max int, teams ...models.Team) models.User {
	e.t.Helper()
	u := e.app.User(e.ws, strings.ToLower(name)+"@acme.test", models.RoleAgent, teams...)
	e.exec(`UPDATE users SET name = ?, presence = 'online', last_seen_at = ?, max_concurrent = ? WHERE id = ?`, name, e.clk.Now(), max, u.ID)
	u.Name = name
	return u
}

func (e *env) label(name string) int64 {
	e.t.Helper()
	return e.scalar(`INSERT INTO labels (workspace_id, name) VALUES (?, ?) RETURNING id`, e.ws.ID, name)
}

var rulePos atomic.Int64

// rule adds a routing rule at the end of the order.
func (e *env) rule(name, kind, cond string, team *models.Team, label *int64, priority string) int64 {
	e.t.Helper()
	var tid *int64
	if team != nil {
		tid = &team.ID
	}
	return e.scalar(`INSERT INTO routing_rules (workspace_id, name, position, kind, cond, team_id, label_id, priority)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.ws.ID, name, rulePos.Add(1), kind, cond, tid, label, priority)
}

// menu sets the channel's welcome menu.
func (e *env) menu(text string, opts ...models.MenuOption) {
	e.t.Helper()
	b, _ := json.Marshal(opts)
	e.exec(`INSERT INTO channel_menus (workspace_id, channel_id, text, options) VALUES (?, ?, ?, ?)`, e.ws.ID, e.ch.ID, text, string(b))
}

var seq atomic.Int64

// say makes customer waID write text now through a signed webhook; it returns the conversation.
func (e *env) say(waID, text string) models.Conversation {
	e.t.Helper()
	msg := map[string]any{"from": waID, "id": fmt.Sprintf("wamid.R%d", seq.Add(1)), "timestamp": strconv.FormatInt(e.clk.Now().Unix(), 10),
		"type": "text", "text": map[string]any{"body": text}}
	return e.post(waID, []map[string]any{{"profile": map[string]any{"name": "Cliente " + waID}, "wa_id": waID}}, msg)
}

// tap makes customer waID tap the interactive option id (a reply button or list row).
func (e *env) tap(waID, kind, id, title string) models.Conversation {
	e.t.Helper()
	msg := map[string]any{"from": waID, "id": fmt.Sprintf("wamid.R%d", seq.Add(1)), "timestamp": strconv.FormatInt(e.clk.Now().Unix(), 10),
		"type": "interactive", "interactive": map[string]any{"type": kind, kind: map[string]any{"id": id, "title": title}}}
	return e.post(waID, []map[string]any{{"profile": map[string]any{"name": "Cliente " + waID}, "wa_id": waID}}, msg)
}

func (e *env) post(waID string, contacts []map[string]any, msg map[string]any) models.Conversation {
	e.t.Helper()
	if code := e.app.Webhook(e.ch, testutil.InboundMessages(e.ch, contacts, msg)); code != http.StatusOK {
		e.t.Fatalf("webhook answered %d", code)
	}
	var c models.Conversation
	key, val := "wa_id", waID
	if waID == "" {
		key, val = "user_id", fmt.Sprint(msg["from_user_id"])
	}
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND k.`+key+` = ?`, e.ch.ID, val).Scan(&c).Error)
	if c.ID == 0 {
		e.t.Fatalf("no conversation for %s", val)
	}
	return c
}

func (e *env) conv(id int64) models.Conversation { return e.app.Conversation(id) }

// decisions are the notes of the routing decisions recorded on the conversation, in order.
func (e *env) decisions(id int64) []string {
	e.t.Helper()
	var notes []string
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT note FROM conversation_events WHERE conversation_id = ? AND actor_kind = 'routing'
		ORDER BY at, id`, id).Scan(&notes).Error)
	return notes
}

// automatic are the automatic messages sent on the conversation, oldest first.
func (e *env) automatic(id int64) []models.Message {
	e.t.Helper()
	var ms []models.Message
	testutil.Must(e.t, e.app.DB.Gorm.Where("conversation_id = ? AND automatic", id).Order("id").Find(&ms).Error)
	return ms
}

// payload is the Graph request queued in the outbox for message id.
func (e *env) payload(id int64) map[string]any {
	e.t.Helper()
	var raw []byte
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT payload FROM outbox WHERE message_id = ?`, id).Row().Scan(&raw))
	var m map[string]any
	testutil.Must(e.t, json.Unmarshal(raw, &m))
	return m
}

func (e *env) assignee(id int64) string {
	e.t.Helper()
	c := e.conv(id)
	if c.AssigneeID == nil {
		return ""
	}
	var name string
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT name FROM users WHERE id = ?`, *c.AssigneeID).Row().Scan(&name))
	return name
}

func (e *env) teamName(id int64) string {
	e.t.Helper()
	c := e.conv(id)
	if c.TeamID == nil {
		return ""
	}
	var name string
	testutil.Must(e.t, e.app.DB.Gorm.Raw(`SELECT name FROM teams WHERE id = ?`, *c.TeamID).Row().Scan(&name))
	return name
}

func (e *env) runJob(name string) {
	e.t.Helper()
	testutil.Must(e.t, e.app.Server.Services.RunJob(context.Background(), name, e.clk.Now()))
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
