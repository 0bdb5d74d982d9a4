package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// slaWorld is a workspace whose team Ventas has an SLA policy (wall clock: first
// response 1 h, next response 30 min, resolution 4 h, warning at 80%), a team Soporte
// with another (first response 2 h, resolution 8 h), and people in every role. Time
// is a manual clock: the engine and the job see exactly the minutes the test says.
type slaWorld struct {
	app             *testutil.App
	clk             *clock.Manual
	ws              models.Workspace
	ch              models.Channel
	ventas, soporte models.Team
	admin, sup      models.User
	ana, rosa       models.User
	seq             int
}

var slaT0 = time.Date(2026, 10, 5, 15, 0, 0, 0, time.UTC) // Monday 10:00 in Lima

func newSLAWorld(t *testing.T) *slaWorld {
	t.Helper()
	return newSLAWorldAt(t, slaT0)
}

// newSLAWorldAt is newSLAWorld with the clock at t0 (offsets in at and job stay from slaT0).
func newSLAWorldAt(t *testing.T, t0 time.Time) *slaWorld {
	t.Helper()
	clk := clock.NewManual(t0)
	app := testutil.NewAppWithClock(t, clk)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	w := &slaWorld{app: app, clk: clk, ws: ws, ch: app.Channel(ws, "Principal"), ventas: ventas, soporte: soporte,
		admin: app.User(ws, "admin@acme.pe", models.RoleAdmin),
		sup:   app.User(ws, "sofia@acme.pe", models.RoleSupervisor, ventas),
		ana:   app.User(ws, "ana@acme.pe", models.RoleAgent, ventas),
		rosa:  app.User(ws, "rosa@acme.pe", models.RoleAgent, ventas),
	}
	w.policy(t, ventas, "Ventas", 3600, 1800, 4*3600)
	w.policy(t, soporte, "Soporte", 2*3600, 0, 8*3600)
	return w
}

func (w *slaWorld) policy(t *testing.T, team models.Team, name string, first, next, res int) {
	t.Helper()
	opt := func(n int) *int {
		if n == 0 {
			return nil
		}
		return &n
	}
	p := models.SLAPolicy{WorkspaceID: w.ws.ID, Name: name, FirstResponseSeconds: opt(first), NextResponseSeconds: opt(next),
		ResolutionSeconds: opt(res), WarningPercent: 80}
	testutil.Must(t, w.app.DB.Gorm.Create(&p).Error)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE teams SET sla_policy_id = ? WHERE id = ?`, p.ID, team.ID).Error)
}

// at moves the clock to t0 + d.
func (w *slaWorld) at(d time.Duration) time.Time {
	w.clk.Set(slaT0.Add(d))
	return w.clk.Now()
}

// customer makes waID write text now through a signed webhook.
func (w *slaWorld) customer(t *testing.T, waID, text string) models.Conversation {
	t.Helper()
	w.seq++
	wamid := fmt.Sprintf("wamid.SLA.%s.%d", waID, w.seq)
	if code := w.app.Webhook(w.ch, testutil.InboundText(w.ch, waID, "Cliente "+waID, wamid, text, w.clk.Now())); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var c models.Conversation
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND k.wa_id = ?`, w.ch.ID, waID).Scan(&c).Error)
	return c
}

// toTeam hands the conversation to team over HTTP (as routing or a supervisor would).
func (w *slaWorld) toTeam(t *testing.T, as *testutil.Client, id int64, team models.Team) {
	t.Helper()
	res := as.PostForm(fmt.Sprintf("/conversations/%d/transfer", id), url.Values{"team_id": {strconv.FormatInt(team.ID, 10)}, "note": {"para el equipo"}})
	if res.StatusCode >= 400 {
		t.Fatalf("transfer: %d %s", res.StatusCode, res.Body)
	}
}

func (w *slaWorld) reply(t *testing.T, as *testutil.Client, id int64, body string) {
	t.Helper()
	res := as.PostForm(fmt.Sprintf("/conversations/%d/messages", id), url.Values{"body": {body}})
	if res.StatusCode >= 400 {
		t.Fatalf("reply: %d %s", res.StatusCode, res.Body)
	}
}

func (w *slaWorld) move(t *testing.T, as *testutil.Client, id int64, status string) {
	t.Helper()
	res := as.PostForm(fmt.Sprintf("/conversations/%d/move", id), url.Values{"status": {status}})
	if res.StatusCode >= 400 {
		t.Fatalf("move to %s: %d %s", status, res.StatusCode, res.Body)
	}
}

// job runs the sla job at t0 + d (the clock moves there too).
func (w *slaWorld) job(t *testing.T, d time.Duration) {
	t.Helper()
	testutil.Must(t, w.app.Server.Services.RunJob(context.Background(), "sla", w.at(d)))
	w.app.SyncLive() // open boards (and the board's cache) hear of it through the live channel
}

// alerts lists the conversation's SLA events as "kind note".
func (w *slaWorld) alerts(t *testing.T, id int64) []string {
	t.Helper()
	var rows []struct{ Kind, Note string }
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT kind, note FROM conversation_events WHERE conversation_id = ? AND kind LIKE 'sla_%' ORDER BY at, id`, id).Scan(&rows).Error)
	var out []string
	for _, r := range rows {
		out = append(out, r.Kind+" "+r.Note)
	}
	return out
}

func sameTime(a *time.Time, b time.Time) bool { return a != nil && a.Equal(b) }

func TestSLAFirstResponseBreachMarkedByJobAtTheMinute(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin := w.app.LoginAs(w.admin)
	c := w.customer(t, "51987000001", "Hola, quiero una cotización")
	w.at(2 * time.Minute)
	w.toTeam(t, admin, c.ID, w.ventas) // the clocks run from the cycle's start, not from the hand-over
	c = w.app.Conversation(c.ID)
	if !sameTime(c.FirstResponseDueAt, slaT0.Add(time.Hour)) || !sameTime(c.ResolutionDueAt, slaT0.Add(4*time.Hour)) || c.SLAState != "ok" {
		t.Fatalf("due: first %v resolution %v state %q", c.FirstResponseDueAt, c.ResolutionDueAt, c.SLAState)
	}
	if c.NextResponseDueAt != nil {
		t.Fatalf("no wait is open, yet next response is due %v", c.NextResponseDueAt)
	}

	w.job(t, 47*time.Minute)
	if got := w.alerts(t, c.ID); len(got) != 0 || w.app.Conversation(c.ID).SLAState != "ok" {
		t.Fatalf("before 80%%: %v", got)
	}
	w.job(t, 48*time.Minute)
	if got := w.alerts(t, c.ID); strings.Join(got, ",") != "sla_warning first_response 3600" || w.app.Conversation(c.ID).SLAState != "warning" {
		t.Fatalf("at 48 min: %v %q", got, w.app.Conversation(c.ID).SLAState)
	}
	w.job(t, 59*time.Minute+59*time.Second)
	if got := w.alerts(t, c.ID); len(got) != 1 {
		t.Fatalf("before the deadline: %v", got)
	}
	w.job(t, 60*time.Minute)
	w.job(t, 61*time.Minute) // again: nothing new
	if got := w.alerts(t, c.ID); strings.Join(got, ",") != "sla_warning first_response 3600,sla_breach first_response 3600" {
		t.Fatalf("after the deadline: %v", got)
	}
	if got := w.app.Conversation(c.ID); got.SLAState != "breached" {
		t.Fatalf("state %q", got.SLAState)
	}
	// The history says it in words, at the minute it happened.
	page := admin.Get(fmt.Sprintf("/conversations/%d", c.ID))
	if !strings.Contains(page.Body, "Se venció el plazo de primera respuesta (1 h)") ||
		!strings.Contains(page.Body, "El plazo de primera respuesta (1 h) está por vencer") {
		t.Fatalf("activity lines missing:\n%s", page.Body)
	}

	// The reply ends the first-response clock; the card is no longer red for it.
	w.at(70 * time.Minute)
	w.reply(t, w.app.LoginAs(w.ana), c.ID, "¡Hola! Te la preparo.")
	c = w.app.Conversation(c.ID)
	if c.FirstResponseDueAt != nil || c.ResolutionDueAt != nil || c.SLAState != "ok" {
		t.Fatalf("after the reply: first %v resolution %v (paused) state %q", c.FirstResponseDueAt, c.ResolutionDueAt, c.SLAState)
	}
}

func TestSLANextResponseAndResolutionPausedWhilePending(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin, ana := w.app.LoginAs(w.admin), w.app.LoginAs(w.ana)
	c := w.customer(t, "51987000002", "Hola")
	w.toTeam(t, admin, c.ID, w.ventas)

	w.at(10 * time.Minute)
	w.reply(t, ana, c.ID, "Hola, ¿en qué te ayudo?") // pending from 10 min: resolution paused
	w.at(70 * time.Minute)
	c = w.customer(t, "51987000002", "Necesito factura") // a wait starts; resolution resumes after 60 min paused
	if c.Status == models.StatusPending {
		t.Fatal("still pending")
	}
	if !sameTime(c.NextResponseDueAt, slaT0.Add(100*time.Minute)) {
		t.Fatalf("next response due %v, want %v", c.NextResponseDueAt, slaT0.Add(100*time.Minute))
	}
	if !sameTime(c.ResolutionDueAt, slaT0.Add(5*time.Hour)) {
		t.Fatalf("resolution due %v, want 4 h + 1 h pending = %v", c.ResolutionDueAt, slaT0.Add(5*time.Hour))
	}
	w.at(80 * time.Minute)
	c = w.customer(t, "51987000002", "¿Hola?") // a later message before the reply does not restart the wait
	if !sameTime(c.NextResponseDueAt, slaT0.Add(100*time.Minute)) {
		t.Fatalf("the wait restarted: %v", c.NextResponseDueAt)
	}
	w.job(t, 101*time.Minute)
	if got := w.alerts(t, c.ID); strings.Join(got, ",") != "sla_breach next_response 1800" {
		t.Fatalf("alerts %v", got)
	}
	w.at(105 * time.Minute)
	w.reply(t, ana, c.ID, "Aquí está tu factura")
	c = w.app.Conversation(c.ID)
	if c.NextResponseDueAt != nil || c.ResolutionDueAt != nil || c.SLANextCheckAt != nil {
		t.Fatalf("after the reply: next %v resolution %v check %v", c.NextResponseDueAt, c.ResolutionDueAt, c.SLANextCheckAt)
	}
	// Dragged out of Pendientes at 2 h 45 min: paused 60 + 60 min, resolution due at 6 h.
	w.at(165 * time.Minute)
	w.move(t, ana, c.ID, models.StatusActive)
	c = w.app.Conversation(c.ID)
	if !sameTime(c.ResolutionDueAt, slaT0.Add(6*time.Hour)) || c.NextResponseDueAt != nil {
		t.Fatalf("resolution due %v, want %v (next %v)", c.ResolutionDueAt, slaT0.Add(6*time.Hour), c.NextResponseDueAt)
	}
	// 80% of 4 h of resolution time: 3 h 12 min + 2 h paused = 5 h 12 min.
	w.job(t, 5*time.Hour+11*time.Minute)
	if got := w.alerts(t, c.ID); len(got) != 1 {
		t.Fatalf("early resolution alert: %v", got)
	}
	w.job(t, 5*time.Hour+12*time.Minute)
	if got := w.alerts(t, c.ID); len(got) != 2 || got[1] != "sla_warning resolution 14400" {
		t.Fatalf("resolution warning: %v", got)
	}
	// Closing stops every clock.
	w.at(5*time.Hour + 30*time.Minute)
	w.move(t, ana, c.ID, models.StatusClosed)
	c = w.app.Conversation(c.ID)
	if c.ResolutionDueAt != nil || c.SLAState != "" || c.SLANextCheckAt != nil {
		t.Fatalf("closed: %v %q %v", c.ResolutionDueAt, c.SLAState, c.SLANextCheckAt)
	}
	w.job(t, 7*time.Hour)
	if got := w.alerts(t, c.ID); len(got) != 2 {
		t.Fatalf("alerts after the close: %v", got)
	}
}

func TestSLATransferRecomputesUnderTheNewTeam(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin := w.app.LoginAs(w.admin)
	c := w.customer(t, "51987000003", "Hola")
	w.toTeam(t, admin, c.ID, w.ventas)
	w.job(t, 50*time.Minute) // Ventas: warning at 48 min
	if got := w.alerts(t, c.ID); len(got) != 1 {
		t.Fatalf("alerts %v", got)
	}
	w.at(55 * time.Minute)
	w.toTeam(t, admin, c.ID, w.soporte) // Soporte: 2 h from the cycle's start (10:00), not from the transfer
	c = w.app.Conversation(c.ID)
	if !sameTime(c.FirstResponseDueAt, slaT0.Add(2*time.Hour)) || !sameTime(c.ResolutionDueAt, slaT0.Add(8*time.Hour)) {
		t.Fatalf("after the transfer: first %v resolution %v", c.FirstResponseDueAt, c.ResolutionDueAt)
	}
	if c.SLAState != "ok" || c.NextResponseDueAt != nil {
		t.Fatalf("state %q next %v", c.SLAState, c.NextResponseDueAt)
	}
	w.job(t, 61*time.Minute) // Ventas' deadline means nothing now
	if got := w.alerts(t, c.ID); len(got) != 1 {
		t.Fatalf("alerts after Ventas' deadline: %v", got)
	}
	w.job(t, 2*time.Hour)
	if got := w.alerts(t, c.ID); strings.Join(got, ",") != "sla_warning first_response 3600,sla_breach first_response 7200" {
		t.Fatalf("alerts %v", got)
	}
}

func TestSLAToastsGoToAssigneeAndSupervisors(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin := w.app.LoginAs(w.admin)
	c := w.customer(t, "51987000004", "Hola")
	w.toTeam(t, admin, c.ID, w.ventas)
	res := admin.PostForm(fmt.Sprintf("/conversations/%d/assign", c.ID), url.Values{"agent_id": {strconv.FormatInt(w.ana.ID, 10)}})
	if res.StatusCode >= 400 {
		t.Fatalf("assign: %d", res.StatusCode)
	}
	w.app.SyncLive()
	ana := boardOpenEvents(t, w.app.LoginAs(w.ana), "")
	sup := boardOpenEvents(t, w.app.LoginAs(w.sup), "")
	boss := boardOpenEvents(t, w.app.LoginAs(w.admin), "")
	w.app.SyncLive()

	w.job(t, 48*time.Minute)
	for name, ch := range map[string]<-chan boardSSE{"ana": ana, "sofia": sup} {
		ev, ok := boardNextChange(t, ch, c.ID, boardEventWait)
		if !ok || ev.Data["kind"] != "sla" || ev.Data["text"] != "Cliente 51987000004 · El plazo de primera respuesta (1 h) está por vencer: quedan 12 min" {
			t.Fatalf("%s: warning toast %v %v", name, ok, ev.Data)
		}
	}
	// The admin (not the team's supervisor) sees the card refresh, without a toast.
	if ev, ok := boardNextChange(t, boss, c.ID, boardEventWait); !ok || ev.Data["kind"] != "sla" || ev.Data["text"] != nil {
		t.Fatalf("admin: %v %v", ok, ev.Data)
	}
	w.job(t, time.Hour)
	for name, ch := range map[string]<-chan boardSSE{"ana": ana, "sofia": sup} {
		ev, ok := boardNextChange(t, ch, c.ID, boardEventWait)
		if !ok || ev.Data["text"] != "Cliente 51987000004 · Se venció el plazo de primera respuesta (1 h)" {
			t.Fatalf("%s: breach toast %v %v", name, ok, ev.Data)
		}
	}
}

// cardSLA reads the SLA badge and the window warning of a conversation's card on a
// rendered board.
func cardSLA(t *testing.T, c *testutil.Client, path string, id int64) (badge, class, window string) {
	t.Helper()
	res := c.Get(path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, res.StatusCode)
	}
	card := res.Doc(t).Find(fmt.Sprintf("#card-%d", id))
	if card.Length() == 0 {
		t.Fatalf("card %d not on %s", id, path)
	}
	b := card.Find(`[data-testid="card-sla"]`)
	class, _ = b.Attr("class")
	return strings.TrimSpace(b.Text()), class, strings.TrimSpace(card.Find(`[data-testid="card-window-warning"]`).Text())
}

func TestSLABadgeOnTheBoardAndTheAPI(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin, sup := w.app.LoginAs(w.admin), w.app.LoginAs(w.sup)
	c := w.customer(t, "51987000005", "Hola")
	w.toTeam(t, admin, c.ID, w.ventas)

	w.at(20 * time.Minute)
	if badge, class, _ := cardSLA(t, sup, "/board", c.ID); badge != "Vence en 40 min" || !strings.Contains(class, "sla-ok") {
		t.Fatalf("green badge: %q %q", badge, class)
	}
	w.job(t, 50*time.Minute)
	if badge, class, _ := cardSLA(t, sup, "/board", c.ID); badge != "Vence en 10 min" || !strings.Contains(class, "sla-warning") {
		t.Fatalf("amber badge: %q %q", badge, class)
	}
	w.job(t, 61*time.Minute)
	w.at(65 * time.Minute)
	if badge, class, _ := cardSLA(t, sup, "/board", c.ID); badge != "Vencido hace 5 min" || !strings.Contains(class, "sla-breached") {
		t.Fatalf("red badge: %q %q", badge, class)
	}
	// A live refresh of the card (what an open board fetches on the job's event) shows it too.
	res := sup.HTMX(http.MethodGet, fmt.Sprintf("/board/cards/%d", c.ID), nil)
	if !strings.Contains(res.Body, "Vencido hace 5 min") {
		t.Fatalf("card refresh: %s", res.Body)
	}

	// The API tells the same.
	api := w.app.API(w.sup).Do(http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d", c.ID), "")
	var body struct {
		Data struct {
			SLA struct {
				State              string     `json:"state"`
				DueAt              *time.Time `json:"due_at"`
				Target             *string    `json:"target"`
				FirstResponseDueAt *time.Time `json:"first_response_due_at"`
				ResolutionDueAt    *time.Time `json:"resolution_due_at"`
				NextResponseDueAt  *time.Time `json:"next_response_due_at"`
				WindowClosing      bool       `json:"window_closing"`
			} `json:"sla"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(api.Body), &body); err != nil {
		t.Fatalf("%v: %s", err, api.Body)
	}
	s := body.Data.SLA
	if s.State != "breached" || !sameTime(s.DueAt, slaT0.Add(time.Hour)) || s.Target == nil || *s.Target != "first_response" ||
		!sameTime(s.FirstResponseDueAt, slaT0.Add(time.Hour)) || !sameTime(s.ResolutionDueAt, slaT0.Add(4*time.Hour)) ||
		s.NextResponseDueAt != nil || s.WindowClosing {
		t.Fatalf("api sla: %s", api.Body)
	}

	// WhatsApp's window: 22 h 40 min after the customer's message, still unanswered.
	w.at(22*time.Hour + 40*time.Minute)
	if _, _, win := cardSLA(t, sup, "/board", c.ID); win != "La ventana de 24 h cierra en 1 h 20 min" {
		t.Fatalf("window warning %q", win)
	}
	api = w.app.API(w.sup).Do(http.MethodGet, fmt.Sprintf("/api/v1/conversations/%d", c.ID), "")
	if !strings.Contains(api.Body, `"window_closing":true`) {
		t.Fatalf("api window: %s", api.Body)
	}
	w.reply(t, w.app.LoginAs(w.ana), c.ID, "Perdón la demora, aquí estoy")
	if _, _, win := cardSLA(t, sup, "/board", c.ID); win != "" {
		t.Fatalf("answered, yet the window warns: %q", win)
	}
}

func TestSLARiskFilterOrdersByTimeLeft(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin, sup := w.app.LoginAs(w.admin), w.app.LoginAs(w.sup)
	a := w.customer(t, "51987000011", "Hola A") // due 60 min
	w.toTeam(t, admin, a.ID, w.ventas)
	w.at(5 * time.Minute)
	b := w.customer(t, "51987000012", "Hola B") // due 65 min
	w.toTeam(t, admin, b.ID, w.ventas)
	w.at(30 * time.Minute)
	c := w.customer(t, "51987000013", "Hola C") // due 90 min: still fine at 61 min
	w.toTeam(t, admin, c.ID, w.ventas)
	w.at(31 * time.Minute)
	d := w.customer(t, "51987000014", "Hola D") // no team, no SLA
	w.job(t, 61*time.Minute)

	res := sup.Get("/board?risk=1")
	doc := res.Doc(t)
	if _, on := doc.Find(`[data-testid="filter-risk"]`).Attr("checked"); !on {
		t.Fatal("the En riesgo filter is not shown as on")
	}
	var ids []string
	doc.Find(`#column-new [data-testid="card"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-id")
		ids = append(ids, id)
	})
	want := []string{strconv.FormatInt(a.ID, 10), strconv.FormatInt(b.ID, 10)}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("En riesgo shows %v, want %v (breached first, then by time left; C and D are not at risk)", ids, want)
	}
	// The plain board still orders by activity and shows everyone.
	ids = nil
	sup.Get("/board").Doc(t).Find(`#column-new [data-testid="card"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-id")
		ids = append(ids, id)
	})
	if len(ids) != 4 || ids[0] != strconv.FormatInt(d.ID, 10) { // newest activity first: D wrote last
		t.Fatalf("board: %v", ids)
	}
	// "Cargar más" under En riesgo continues by time left.
	v, err := w.app.Accounts.LoadViewer(context.Background(), w.sup.ID)
	testutil.Must(t, err)
	f := inbox.BoardFilter{Risk: true}
	first, next, err := w.app.Server.Inbox.ListColumn(context.Background(), v, models.StatusNew, f, "", 1)
	testutil.Must(t, err)
	rest, last, err := w.app.Server.Inbox.ListColumn(context.Background(), v, models.StatusNew, f, next, 1)
	testutil.Must(t, err)
	if len(first) != 1 || first[0].ID != a.ID || next == "" || len(rest) != 1 || rest[0].ID != b.ID || last != "" {
		t.Fatalf("pages: %v %q %v %q", first, next, rest, last)
	}
	// A column refresh under En riesgo (after a reconnect) keeps the order.
	res = sup.HTMX(http.MethodGet, "/board/columns/new?risk=1", nil)
	ia, ib := strings.Index(res.Body, fmt.Sprintf(`id="card-%d"`, a.ID)), strings.Index(res.Body, fmt.Sprintf(`id="card-%d"`, b.ID))
	if ia < 0 || ib < ia || strings.Contains(res.Body, fmt.Sprintf(`id="card-%d"`, c.ID)) {
		t.Fatalf("column refresh: %d %d", ia, ib)
	}
}

func TestSLAPoliciesSettings(t *testing.T) {
	t.Parallel()
	w := newSLAWorld(t)
	admin := w.app.LoginAs(w.admin)

	page := admin.Get("/settings/sla")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Ventas") || !strings.Contains(page.Body, "Soporte") {
		t.Fatalf("list: %d", page.StatusCode)
	}
	if got := page.Doc(t).Find(`[data-testid="sla-row"]`).First().Find(`[data-testid="sla-teams"]`).Text(); strings.TrimSpace(got) != "Soporte" {
		t.Fatalf("teams using the first policy: %q", got)
	}

	// Bad input: a clear message, nothing saved.
	res := admin.PostForm("/settings/sla", url.Values{"name": {"VIP"}, "first_response": {"-5"}, "first_response_unit": {"min"}, "warning_percent": {"80"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "El objetivo de primera respuesta debe ser un número mayor que cero") {
		t.Fatalf("validation: %d", res.StatusCode)
	}
	res = admin.PostForm("/settings/sla", url.Values{"name": {"VIP"}, "warning_percent": {"80"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Define al menos un objetivo") {
		t.Fatalf("no target: %d", res.StatusCode)
	}
	res = admin.PostForm("/settings/sla", url.Values{"name": {"ventas"}, "resolution": {"8"}, "resolution_unit": {"h"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Ya existe una política con ese nombre") {
		t.Fatalf("duplicate: %d", res.StatusCode)
	}

	res = admin.PostForm("/settings/sla", url.Values{"name": {"VIP"}, "first_response": {"15"}, "first_response_unit": {"min"},
		"resolution": {"24"}, "resolution_unit": {"h"}, "business_hours": {"1"}, "warning_percent": {"75"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", res.StatusCode, res.Body)
	}
	var p models.SLAPolicy
	testutil.Must(t, w.app.DB.Gorm.Where("workspace_id = ? AND name = 'VIP'", w.ws.ID).First(&p).Error)
	if p.FirstResponseSeconds == nil || *p.FirstResponseSeconds != 900 || p.NextResponseSeconds != nil || *p.ResolutionSeconds != 86400 ||
		!p.BusinessHours || p.WarningPercent != 75 {
		t.Fatalf("stored: %+v", p)
	}
	// Edit: the form shows it as typed, and saves.
	edit := admin.Get(fmt.Sprintf("/settings/sla/%d", p.ID)).Doc(t)
	if v, _ := edit.Find(`[data-testid="sla-first_response"]`).Attr("value"); v != "15" {
		t.Fatalf("edit form first response %q", v)
	}
	res = admin.PostForm(fmt.Sprintf("/settings/sla/%d", p.ID), url.Values{"name": {"VIP Oro"}, "first_response": {"1"}, "first_response_unit": {"h"},
		"business_hours": {"0"}, "warning_percent": {"90"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d %s", res.StatusCode, res.Body)
	}
	testutil.Must(t, w.app.DB.Gorm.First(&p, p.ID).Error)
	if p.Name != "VIP Oro" || *p.FirstResponseSeconds != 3600 || p.ResolutionSeconds != nil || p.BusinessHours || p.WarningPercent != 90 {
		t.Fatalf("updated: %+v", p)
	}
	res = admin.PostForm(fmt.Sprintf("/settings/sla/%d/delete", p.ID), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	// Audited, with Spanish names.
	var actions []string
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT action FROM audit_events WHERE workspace_id = ? AND target_type = 'sla_policy' ORDER BY id`, w.ws.ID).Scan(&actions).Error)
	if strings.Join(actions, ",") != "sla_policy.create,sla_policy.update,sla_policy.delete" {
		t.Fatalf("audit: %v", actions)
	}
	if !strings.Contains(admin.Get("/settings/audit").Body, "Política de SLA modificada") {
		t.Fatal("the audit screen does not name the change")
	}
	// Only admins.
	if res := w.app.LoginAs(w.sup).Get("/settings/sla"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("supervisor: %d", res.StatusCode)
	}
	if res := w.app.LoginAs(w.ana).PostForm("/settings/sla", url.Values{"name": {"X"}, "resolution": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("agent: %d", res.StatusCode)
	}
}
