package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// threadWorld is a workspace with a channel, a team and a few people, and an inbox
// service whose queries are counted.
type threadWorld struct {
	app     *testutil.App
	ws      models.Workspace
	ch      models.Channel
	team    models.Team
	queries *atomic.Int64
	svc     *inbox.Service
}

// countingLogger counts the SQL statements gorm runs.
type countingLogger struct {
	logger.Interface
	n *atomic.Int64
}

func (l countingLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l countingLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	l.n.Add(1)
}

func newThreadWorld(t *testing.T) *threadWorld {
	t.Helper()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	n := &atomic.Int64{}
	db := app.DB.Gorm.Session(&gorm.Session{Logger: countingLogger{Interface: logger.Discard, n: n}})
	return &threadWorld{app: app, ws: ws, ch: app.Channel(ws, "Principal"), team: app.Team(ws, "Ventas"), queries: n,
		svc: inbox.New(db, clock.Real{})}
}

func (w *threadWorld) viewer(t *testing.T, u models.User) accounts.Viewer {
	t.Helper()
	v, err := w.app.Accounts.LoadViewer(context.Background(), u.ID)
	testutil.Must(t, err)
	return v
}

func (w *threadWorld) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	testutil.Must(t, w.app.DB.Gorm.Exec(q, args...).Error)
}

// addHistory inserts n plain text messages one second apart, starting at start.
func (w *threadWorld) addHistory(t *testing.T, c models.Conversation, n int, start time.Time) {
	t.Helper()
	w.exec(t, `INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, sender_type, created_at)
		SELECT ?, ?, ?, ?, 'in', 'text', 'mensaje ' || g, 'contact', ?::timestamptz + g * interval '1 second'
		FROM generate_series(1, ?) g`, c.WorkspaceID, c.ID, c.CycleID, c.ChannelID, start, n)
}

func TestThreadIsScopedByVisibility(t *testing.T) {
	t.Parallel()
	w := newThreadWorld(t)
	ctx := context.Background()
	ana := w.app.User(w.ws, "ana@acme.pe", models.RoleAgent, w.team)
	rosa := w.app.User(w.ws, "rosa@acme.pe", models.RoleAgent, w.team)
	admin := w.app.User(w.ws, "admin@acme.pe", models.RoleAdmin)
	otherWS := w.app.Workspace("Otra")
	stranger := w.app.User(otherWS, "x@otra.pe", models.RoleAdmin)

	c := w.app.Inbound(w.ch, "51987654321", "María José", "Hola")
	w.exec(t, `UPDATE conversations SET team_id = ? WHERE id = ?`, w.team.ID, c.ID)
	testutil.Must(t, w.svc.Take(ctx, inbox.By(w.viewer(t, ana)), c.ID))

	for _, tc := range []struct {
		who  models.User
		sees bool
	}{{ana, true}, {admin, true}, {rosa, false}, {stranger, false}} {
		v := w.viewer(t, tc.who)
		_, err := w.svc.Thread(ctx, v, c.ID)
		_, merr := w.svc.Messages(ctx, v, c.ID, inbox.Cursor{}, 10)
		if tc.sees && (err != nil || merr != nil) {
			t.Errorf("%s cannot open the conversation: %v / %v", tc.who.Email, err, merr)
		}
		if !tc.sees && (!errors.Is(err, apperr.ErrNotFound) || !errors.Is(merr, apperr.ErrNotFound)) {
			t.Errorf("%s: Thread = %v, Messages = %v; want ErrNotFound for both", tc.who.Email, err, merr)
		}
	}
	name, taken, err := w.svc.TakenBy(ctx, w.viewer(t, rosa), c.ID)
	if err != nil || !taken || name != "Ana" {
		t.Errorf("TakenBy for a teammate = %q, %v, %v; want Ana", name, taken, err)
	}
	if _, taken, _ := w.svc.TakenBy(ctx, w.viewer(t, stranger), c.ID); taken {
		t.Errorf("TakenBy tells another workspace who has the conversation")
	}
}

func TestThreadLoadsWhatThePanelShows(t *testing.T) {
	t.Parallel()
	w := newThreadWorld(t)
	ctx := context.Background()
	ana := w.app.User(w.ws, "ana@acme.pe", models.RoleAgent, w.team)
	soporte := w.app.Team(w.ws, "Soporte")
	luis := w.app.User(w.ws, "luis@acme.pe", models.RoleAgent, soporte)
	admin := w.app.User(w.ws, "admin@acme.pe", models.RoleAdmin)
	c := w.app.Inbound(w.ch, "51987654321", "María José Quispe", "Hola")
	other := w.app.Channel(w.ws, "Cobranzas")
	c2 := w.app.Inbound(other, "51987654321", "María José Quispe", "Consulta de pago")
	w.exec(t, `UPDATE conversations SET team_id = ? WHERE id = ?`, w.team.ID, c2.ID)
	w.exec(t, `UPDATE contacts SET company = 'Quispe SAC', owner_id = ? WHERE id = ?`, ana.ID, c.ContactID)
	w.exec(t, `INSERT INTO labels (workspace_id, name, color) VALUES (?, 'VIP', '#b91c1c')`, w.ws.ID)
	var label int64
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT id FROM labels WHERE name = 'VIP'`).Scan(&label).Error)
	av := w.viewer(t, admin)
	testutil.Must(t, w.svc.SetLabels(ctx, inbox.By(av), c.ID, []int64{label}))
	testutil.Must(t, w.svc.Take(ctx, inbox.By(av), c.ID))
	testutil.Must(t, w.svc.Transfer(ctx, inbox.By(av), c.ID, inbox.TransferInput{TeamID: &soporte.ID, AgentID: &luis.ID, Note: "pide factura"}))

	w.queries.Store(0)
	th, err := w.svc.Thread(ctx, w.viewer(t, luis), c.ID)
	testutil.Must(t, err)
	if n := w.queries.Load(); n > 10 {
		t.Errorf("Thread ran %d queries", n)
	}
	if th.Contact.Company != "Quispe SAC" || th.Owner == nil || th.Owner.Name != "Ana" {
		t.Errorf("contact = %+v owner %+v", th.Contact, th.Owner)
	}
	if th.Assignee == nil || th.Assignee.ID != luis.ID || th.Team == nil || th.Team.ID != soporte.ID {
		t.Errorf("assignee %+v team %+v", th.Assignee, th.Team)
	}
	if len(th.Labels) != 1 || th.Labels[0].Name != "VIP" {
		t.Errorf("labels = %+v", th.Labels)
	}
	if th.Transfer == nil || th.Transfer.Note != "pide factura" || th.Transfer.ToTeam != "Soporte" || th.Transfer.ToAgent != "Luis" || th.Transfer.ByName != "Admin" {
		t.Errorf("transfer note = %+v", th.Transfer)
	}
	if len(th.Cycles) != 1 || th.WindowExpiresAt == nil || !th.WindowOpen(time.Now()) {
		t.Errorf("cycles %d, window %v", len(th.Cycles), th.WindowExpiresAt)
	}
	if th.Channel.Name != "Principal" {
		t.Errorf("channel = %+v", th.Channel)
	}
	// The contact's other conversation waits in Ventas: Luis (Soporte) may not see it.
	if len(th.Others) != 0 {
		t.Errorf("Luis sees another team's conversation in the contact panel: %+v", th.Others)
	}
	ath, err := w.svc.Thread(ctx, av, c.ID)
	testutil.Must(t, err)
	if len(ath.Others) != 1 || ath.Others[0].ID != c2.ID || ath.Others[0].ChannelName != "Cobranzas" || ath.Others[0].Preview != "Consulta de pago" {
		t.Errorf("admin's other conversations = %+v", ath.Others)
	}
}

func TestMessagesPagesWithAKeysetAndAFixedNumberOfQueries(t *testing.T) {
	t.Parallel()
	w := newThreadWorld(t)
	ctx := context.Background()
	admin := w.app.User(w.ws, "admin@acme.pe", models.RoleAdmin)
	v := w.viewer(t, admin)
	c := w.app.Inbound(w.ch, "51987654321", "María José", "primero")
	w.exec(t, `UPDATE messages SET created_at = now() - interval '1 day' WHERE conversation_id = ?`, c.ID)
	w.addHistory(t, c, 119, time.Now().Add(-12*time.Hour))
	// Two messages at the very same instant: the id breaks the tie, none is lost.
	w.exec(t, `UPDATE messages SET created_at = (SELECT created_at FROM messages WHERE body = 'mensaje 60') WHERE body = 'mensaje 61'`)

	var seen []string
	var counts []int64
	cur := inbox.Cursor{}
	for pages := 0; ; pages++ {
		w.queries.Store(0)
		p, err := w.svc.Messages(ctx, v, c.ID, cur, 50)
		testutil.Must(t, err)
		counts = append(counts, w.queries.Load())
		var bodies []string
		for _, m := range p.Messages {
			bodies = append(bodies, m.Body)
		}
		seen = append(bodies, seen...)
		if p.Older == nil {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		next, ok := inbox.ParseCursor(p.Older.String())
		if !ok || !next.At.Equal(p.Older.At) || next.ID != p.Older.ID {
			t.Fatalf("cursor %q does not round-trip", p.Older.String())
		}
		cur = next
	}
	if len(seen) != 120 || seen[0] != "primero" || seen[119] != "mensaje 119" {
		t.Fatalf("pages hold %d messages, first %q last %q", len(seen), seen[0], seen[len(seen)-1])
	}
	for i := 1; i < 120; i++ {
		if seen[i] != fmt.Sprintf("mensaje %d", i) {
			t.Fatalf("item %d = %q: out of order or duplicated", i, seen[i])
		}
	}
	for _, n := range counts {
		if n > 5 {
			t.Errorf("queries per page = %v: at most 5 whatever the page holds", counts)
			break
		}
	}
	// The first item of the cycle carries its separator.
	p, _ := w.svc.Messages(ctx, v, c.ID, cur, 50)
	if p.Messages[0].Cycle == nil || p.Messages[0].Cycle.Number != 1 {
		t.Errorf("first message of the cycle has no separator mark: %+v", p.Messages[0].Cycle)
	}
	if p.Messages[1].Cycle != nil {
		t.Errorf("second message marked as the start of a cycle")
	}
}

func TestMessagesGroupReactionsAndQuotes(t *testing.T) {
	t.Parallel()
	w := newThreadWorld(t)
	ctx := context.Background()
	admin := w.app.User(w.ws, "admin@acme.pe", models.RoleAdmin)
	v := w.viewer(t, admin)
	c := w.app.Inbound(w.ch, "51987654321", "María José", "Hola")
	now := time.Now()
	ins := func(wamid, kind, body, ctxWamid string, at time.Time) {
		w.exec(t, `INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, wamid, context_wamid, sender_type, created_at)
			VALUES (?, ?, ?, ?, 'in', ?, ?, NULLIF(?, ''), ?, 'contact', ?)`, c.WorkspaceID, c.ID, c.CycleID, c.ChannelID, kind, body, wamid, ctxWamid, at)
	}
	ins("wamid.A", "text", "¿Tienen stock?", "", now.Add(time.Second))
	ins("wamid.B", "text", "Sí, 20 unidades", "wamid.A", now.Add(2*time.Second))
	ins("wamid.R1", "reaction", "❤️", "wamid.A", now.Add(3*time.Second))
	ins("wamid.R2", "reaction", "👍", "wamid.A", now.Add(4*time.Second)) // replaces ❤️
	ins("wamid.R3", "reaction", "😮", "wamid.B", now.Add(5*time.Second))
	ins("wamid.R4", "reaction", "", "wamid.B", now.Add(6*time.Second)) // withdrawn
	ins("wamid.C", "text", "¿y esto?", "wamid.GONE", now.Add(7*time.Second))

	p, err := w.svc.Messages(ctx, v, c.ID, inbox.Cursor{}, 50)
	testutil.Must(t, err)
	byBody := map[string]inbox.MessageView{}
	for _, m := range p.Messages {
		if m.Kind == models.KindReaction {
			t.Errorf("reaction %q listed as an item", m.Body)
		}
		byBody[m.Body] = m
	}
	if r := byBody["¿Tienen stock?"].Reactions; len(r) != 1 || r[0].Emoji != "👍" {
		t.Errorf("reactions on A = %+v, want the latest 👍", r)
	}
	if r := byBody["Sí, 20 unidades"].Reactions; len(r) != 0 {
		t.Errorf("a withdrawn reaction still shows: %+v", r)
	}
	if q := byBody["Sí, 20 unidades"].Quoted; q == nil || q.Body != "¿Tienen stock?" || q.Missing {
		t.Errorf("quote = %+v", q)
	}
	if q := byBody["¿y esto?"].Quoted; q == nil || !q.Missing {
		t.Errorf("quote of an unknown message = %+v, want Missing", q)
	}
	if len(p.Messages) != 4 || !strings.HasPrefix(p.Messages[0].Body, "Hola") {
		t.Errorf("items = %d, first %q", len(p.Messages), p.Messages[0].Body)
	}
}
