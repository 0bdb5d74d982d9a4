package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// boardFixture is a workspace with two teams, agents in each, a supervisor of Ventas,
// an admin, one WhatsApp number, and a stranger in another workspace.
type boardFixture struct {
	app              *testutil.App
	ws               models.Workspace
	ventas, soporte  models.Team
	ch               models.Channel
	ana, carla, luis models.User // agents: Ana and Carla in Ventas, Luis in Soporte
	sup, admin       models.User // supervisor of Ventas; admin
	stranger         models.User // admin of another workspace
	labels           map[string]int64
}

func newBoardFixture(t *testing.T) *boardFixture {
	t.Helper()
	app := testutil.NewApp(t)
	f := &boardFixture{app: app, ws: app.Workspace("Acme")}
	f.ventas, f.soporte = app.Team(f.ws, "Ventas"), app.Team(f.ws, "Soporte")
	f.ch = app.Channel(f.ws, "Principal")
	f.ana = app.User(f.ws, "ana@acme.pe", models.RoleAgent, f.ventas)
	f.carla = app.User(f.ws, "carla@acme.pe", models.RoleAgent, f.ventas)
	f.luis = app.User(f.ws, "luis@acme.pe", models.RoleAgent, f.soporte)
	f.sup = app.User(f.ws, "sup@acme.pe", models.RoleSupervisor, f.ventas)
	f.admin = app.User(f.ws, "admin@acme.pe", models.RoleAdmin)
	f.stranger = app.User(app.Workspace("Otra"), "intrusa@otra.pe", models.RoleAdmin)
	f.labels = map[string]int64{}
	for _, l := range []struct{ name, color string }{{"Ventas", "#2563eb"}, {"Soporte", "#7c3aed"}, {"Cobranzas", "#c2410c"}, {"VIP", "#be185d"}} {
		var id int64
		testutil.Must(t, app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name, color) VALUES (?, ?, ?) RETURNING id`, f.ws.ID, l.name, l.color).Scan(&id).Error)
		f.labels[l.name] = id
	}
	return f
}

func (f *boardFixture) viewer(t *testing.T, u models.User) accounts.Viewer {
	t.Helper()
	v, err := f.app.Accounts.LoadViewer(context.Background(), u.ID)
	testutil.Must(t, err)
	return v
}

var boardWaSeq atomic.Int64

// customer makes a new customer write text ago before now and returns the conversation.
func (f *boardFixture) customer(t *testing.T, name, text string, ago time.Duration) models.Conversation {
	t.Helper()
	wa := fmt.Sprintf("51987%06d", boardWaSeq.Add(1))
	return f.write(t, wa, name, text, ago)
}

// write delivers a customer message from wa through the signed webhook.
func (f *boardFixture) write(t *testing.T, wa, name, text string, ago time.Duration) models.Conversation {
	t.Helper()
	wamid := fmt.Sprintf("wamid.BOARD%d.%s", time.Now().UnixNano(), wa)
	if code := f.app.Webhook(f.ch, testutil.InboundText(f.ch, wa, name, wamid, text, time.Now().Add(-ago))); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var c models.Conversation
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND k.wa_id = ?`, f.ch.ID, wa).Scan(&c).Error)
	return c
}

func (f *boardFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	testutil.Must(t, f.app.DB.Gorm.Exec(sql, args...).Error)
	f.app.Server.Hub.Bump(f.ws.ID) // as the app's own writes do: no cached board hides it
}

func (f *boardFixture) setTeam(t *testing.T, c models.Conversation, team models.Team) {
	t.Helper()
	f.exec(t, `UPDATE conversations SET team_id = ? WHERE id = ?`, team.ID, c.ID)
}

func (f *boardFixture) assign(t *testing.T, c models.Conversation, u models.User) {
	t.Helper()
	testutil.Must(t, f.app.Server.Inbox.Assign(context.Background(), inbox.By(f.viewer(t, f.admin)), c.ID, u.ID))
}

func (f *boardFixture) label(t *testing.T, c models.Conversation, names ...string) {
	t.Helper()
	var ids []int64
	for _, n := range names {
		ids = append(ids, f.labels[n])
	}
	testutil.Must(t, f.app.Server.Inbox.SetLabels(context.Background(), inbox.By(f.viewer(t, f.admin)), c.ID, ids))
}

// seedRealistic fills the board the way a Tuesday morning looks.
func (f *boardFixture) seedRealistic(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	in := f.app.Server.Inbox
	company := func(c models.Conversation, name string) {
		f.exec(t, `UPDATE contacts SET company = ? WHERE id = ?`, name, c.ContactID)
	}
	sla := func(c models.Conversation, state string, due time.Duration) {
		f.exec(t, `UPDATE conversations SET sla_state = ?, first_response_due_at = ? WHERE id = ?`, state, time.Now().Add(due), c.ID)
	}

	pedro := f.customer(t, "Pedro Quispe", "Hola, ¿tienen stock de taladros Bosch GSB 13? Necesito 12 unidades", 4*time.Minute)
	company(pedro, "Ferretería El Sol")
	f.setTeam(t, pedro, f.ventas)
	f.label(t, pedro, "Ventas")
	sla(pedro, "ok", 50*time.Minute)

	maria := f.customer(t, "María Fernanda López", "Buenos días, necesito la factura de octubre por favor", 23*time.Minute)
	company(maria, "Clínica San Gabriel")
	f.setTeam(t, maria, f.ventas)
	f.assign(t, maria, f.ana)
	f.label(t, maria, "Cobranzas")
	sla(maria, "warning", 7*time.Minute)

	f.customer(t, "", "Buenas tardes, ¿atienden los sábados?", 2*time.Minute)

	diego := f.customer(t, "Diego Salazar", "", 9*time.Minute)
	f.exec(t, `UPDATE conversations SET last_message_preview = '📷 Foto: así llegó la caja' WHERE id = ?`, diego.ID)

	jorge := f.customer(t, "Jorge Ramírez", "¿Me confirman la fecha de entrega del pedido 4471?", 95*time.Minute)
	company(jorge, "Distribuidora Norte SAC")
	f.setTeam(t, jorge, f.ventas)
	testutil.Must(t, in.Take(ctx, inbox.By(f.viewer(t, f.carla)), jorge.ID))
	f.label(t, jorge, "Ventas", "VIP")
	sla(jorge, "breached", -35*time.Minute)

	lucia := f.customer(t, "Lucía Torres", "La plataforma no me deja ingresar desde ayer", 12*time.Minute)
	company(lucia, "Colegio Santa Rosa")
	f.setTeam(t, lucia, f.soporte)
	testutil.Must(t, in.Take(ctx, inbox.By(f.viewer(t, f.luis)), lucia.ID))
	f.label(t, lucia, "Soporte")
	sla(lucia, "ok", 3*time.Hour)

	fernando := f.customer(t, "Fernando Rojas", "Perfecto, entonces pasamos la orden hoy", 31*time.Minute)
	company(fernando, "Constructora Lima Sur")
	f.setTeam(t, fernando, f.ventas)
	testutil.Must(t, in.Take(ctx, inbox.By(f.viewer(t, f.ana)), fernando.ID))
	_, err := in.Reply(ctx, inbox.By(f.viewer(t, f.ana)), fernando.ID, "Genial, te preparo la proforma", "")
	testutil.Must(t, err)
	f.write(t, boardWaOf(t, f, fernando), "Fernando Rojas", "¿Me la mandas actualizada con el descuento? Porfa antes de las 12", -2*time.Second)

	andres := f.customer(t, "Andrés Castillo", "¿Cuánto cuesta el plan anual para 20 usuarios?", 3*time.Hour)
	company(andres, "Estudio Castillo & Asociados")
	f.setTeam(t, andres, f.ventas)
	_, err = in.Reply(ctx, inbox.By(f.viewer(t, f.ana)), andres.ID, "Te envío la cotización en un momento, Andrés", "")
	testutil.Must(t, err)
	f.label(t, andres, "Ventas")

	rosa := f.customer(t, "Rosa Huamán", "Gracias, ya probé y funciona", 26*time.Hour)
	company(rosa, "Minimarket Rosita")
	f.setTeam(t, rosa, f.soporte)
	testutil.Must(t, in.Take(ctx, inbox.By(f.viewer(t, f.luis)), rosa.ID))
	testutil.Must(t, in.SetStatus(ctx, inbox.By(f.viewer(t, f.luis)), rosa.ID, models.StatusPending, ""))

	gaby := f.customer(t, "Gabriela Ríos", "Lo reviso con mi jefe y te aviso", 5*time.Hour)
	f.setTeam(t, gaby, f.ventas)
	_, err = in.Reply(ctx, inbox.By(f.viewer(t, f.carla)), gaby.ID, "¡Claro! Quedo atenta, Gabriela", "")
	testutil.Must(t, err)
	f.label(t, gaby, "VIP")

	carlos := f.customer(t, "Carlos Mendoza", "Listo, recibido. Muchas gracias", 2*24*time.Hour)
	company(carlos, "Transportes Andinos")
	f.setTeam(t, carlos, f.ventas)
	testutil.Must(t, in.Take(ctx, inbox.By(f.viewer(t, f.ana)), carlos.ID))
	testutil.Must(t, in.SetStatus(ctx, inbox.By(f.viewer(t, f.ana)), carlos.ID, models.StatusClosed, "Pedido entregado"))

	valeria := f.customer(t, "Valeria Paredes", "Ok, gracias por la info", 4*time.Hour)
	testutil.Must(t, in.SetStatus(ctx, inbox.By(f.viewer(t, f.sup)), valeria.ID, models.StatusClosed, ""))
}

// boardHTMXGet fetches path as htmx does.
func boardHTMXGet(c *testutil.Client, path string) testutil.Response {
	return c.HTMX(http.MethodGet, path, nil)
}

func boardMove(c *testutil.Client, id int64, status, reason string) testutil.Response {
	return c.HTMX(http.MethodPost, fmt.Sprintf("/conversations/%d/move", id), url.Values{"status": {status}, "reason": {reason}})
}

// boardColumnIDs lists the conversation ids of the cards in a column, top to bottom.
func boardColumnIDs(t *testing.T, doc *goquery.Document, status string) []int64 {
	t.Helper()
	var ids []int64
	doc.Find(`[data-testid="cards-` + status + `"] [data-testid="card"]`).Each(func(_ int, s *goquery.Selection) {
		n, _ := strconv.ParseInt(s.AttrOr("data-id", ""), 10, 64)
		ids = append(ids, n)
	})
	return ids
}

func boardDoc(t *testing.T, c *testutil.Client, path string) *goquery.Document {
	t.Helper()
	res := c.Get(path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Body)
	}
	return res.Doc(t)
}

func boardCount(doc *goquery.Document, status string) string {
	return strings.TrimSpace(doc.Find(`[data-testid="count-` + status + `"]`).Text())
}

func boardCardOf(doc *goquery.Document, id int64) *goquery.Selection {
	return doc.Find(fmt.Sprintf(`[data-testid="card"][data-id="%d"]`, id))
}

func TestBoardShowsColumnsCountsAndCards(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	ctx := context.Background()
	pedro := f.customer(t, "Pedro Quispe", "Hola, ¿tienen taladros?", 12*time.Minute)
	f.exec(t, `UPDATE contacts SET company = 'Ferretería El Sol' WHERE id = ?`, pedro.ContactID)
	f.label(t, pedro, "Ventas", "VIP")
	f.exec(t, `UPDATE conversations SET sla_state = 'warning', first_response_due_at = now() + interval '5 minutes 30 seconds' WHERE id = ?`, pedro.ID)
	anon := f.customer(t, "", "Buenas", time.Minute)
	taken := f.customer(t, "Jorge Ramírez", "¿Y la entrega?", 3*time.Minute)
	testutil.Must(t, f.app.Server.Inbox.Take(ctx, inbox.By(f.viewer(t, f.ana)), taken.ID))
	replied := f.customer(t, "Andrés Castillo", "¿Precio?", time.Hour)
	_, err := f.app.Server.Inbox.Reply(ctx, inbox.By(f.viewer(t, f.ana)), replied.ID, "Te envío la cotización", "")
	testutil.Must(t, err)
	closed := f.customer(t, "Carlos Mendoza", "Gracias", 2*time.Hour)
	testutil.Must(t, f.app.Server.Inbox.SetStatus(ctx, inbox.By(f.viewer(t, f.admin)), closed.ID, models.StatusClosed, "Listo"))

	doc := boardDoc(t, f.app.LoginAs(f.admin), "/board")
	for st, want := range map[string]string{"new": "2", "active": "1", "pending": "1", "closed": "1"} {
		if got := boardCount(doc, st); got != want {
			t.Errorf("count %s = %q, want %s", st, got, want)
		}
	}
	if got := boardColumnIDs(t, doc, "new"); !slices.Equal(got, []int64{anon.ID, pedro.ID}) {
		t.Errorf("Nuevos = %v, want newest first [%d %d]", got, anon.ID, pedro.ID)
	}
	card := boardCardOf(doc, pedro.ID)
	for testid, want := range map[string]string{
		"card-name": "Pedro Quispe", "card-company": "Ferretería El Sol", "card-preview": "Hola, ¿tienen taladros?",
		"card-wait": "espera 12 min", "card-sla": "Vence en 5 min", "card-unassigned": "Sin asignar", "card-window": "Ventana de 24 h: 23 h",
	} {
		if got := boardSquash(card.Find(`[data-testid="` + testid + `"]`).Text()); got != want {
			t.Errorf("card %s = %q, want %q", testid, got, want)
		}
	}
	if got := card.Find(`[data-testid="card-label"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() }); !slices.Equal(got, []string{"Ventas", "VIP"}) {
		t.Errorf("labels = %v", got)
	}
	if card.Find(`[data-testid="unread"]`).Length() != 1 {
		t.Error("a card with an unread customer message shows no dot")
	}
	if href := card.Find(`[data-testid="card-open"]`).AttrOr("hx-get", ""); href != fmt.Sprintf("/conversations/%d", pedro.ID) {
		t.Errorf("card opens %q", href)
	}
	if title := card.Find(`time`).AttrOr("title", ""); !strings.Contains(title, ":") {
		t.Errorf("absolute time on hover = %q", title)
	}
	// A contact without a name shows the formatted number.
	if got := boardSquash(boardCardOf(doc, anon.ID).Find(`[data-testid="card-name"]`).Text()); !strings.HasPrefix(got, "+51 987") {
		t.Errorf("nameless contact shows %q", got)
	}
	if got := boardSquash(boardCardOf(doc, taken.ID).Find(`[data-testid="card-assignee"]`).Text()); got != "A" {
		t.Errorf("assignee initials = %q", got)
	}
	if got := boardSquash(boardCardOf(doc, replied.ID).Find(`[data-testid="card-preview"]`).Text()); got != "Tú: Te envío la cotización" {
		t.Errorf("our own last message = %q", got)
	}
	if boardCardOf(doc, replied.ID).Find(`[data-testid="card-wait"]`).Length() != 0 {
		t.Error("a pending card (waiting on the customer) shows a waiting time")
	}
	if doc.Find(`[data-testid="board-empty"]`).Length() != 0 {
		t.Error("empty state on a board with cards")
	}
	if got := doc.Find("title").Text(); got != "Tablero · Atiende" {
		t.Errorf("admin with nothing assigned: title %q", got)
	}
}

func TestBoardEmptyStateSaysWhatToDo(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	doc := boardDoc(t, f.app.LoginAs(f.admin), "/board")
	if got := boardSquash(doc.Find(`[data-testid="board-empty"]`).Text()); !strings.Contains(got, "Aún no hay conversaciones. Conecta un número en Configuración → Canales") {
		t.Errorf("empty board says %q", got)
	}
	if doc.Find(`[data-testid="board-empty"] a[href="/settings/channels"]`).Length() != 1 {
		t.Error("admins get no link to Canales")
	}
	for _, st := range inbox.BoardStatuses {
		if doc.Find(`[data-testid="empty-`+st+`"]`).Length() != 1 {
			t.Errorf("column %s has no empty text", st)
		}
	}
	// Filters that match nothing say so instead.
	f.customer(t, "Pedro", "Hola", time.Minute)
	doc = boardDoc(t, f.app.LoginAs(f.admin), "/board?q=zzzz")
	if doc.Find(`[data-testid="board-no-match"]`).Length() != 1 || doc.Find(`[data-testid="board-empty"]`).Length() != 0 {
		t.Error("a search without results is not explained")
	}
}

// TestBoardVisibility: agents see their own conversations and the unassigned ones of
// their teams or without a team; supervisors their teams'; nobody another workspace's.
// Reading or moving what one may not see is 404, as if it did not exist.
func TestBoardVisibility(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	noTeam := f.customer(t, "Sin equipo", "hola", 5*time.Minute)
	ventas := f.customer(t, "Ventas libre", "hola", 4*time.Minute)
	f.setTeam(t, ventas, f.ventas)
	soporte := f.customer(t, "Soporte libre", "hola", 3*time.Minute)
	f.setTeam(t, soporte, f.soporte)
	anas := f.customer(t, "De Ana", "hola", 2*time.Minute)
	f.setTeam(t, anas, f.ventas)
	f.assign(t, anas, f.ana)
	carlas := f.customer(t, "De Carla", "hola", time.Minute)
	f.setTeam(t, carlas, f.ventas)
	f.assign(t, carlas, f.carla)

	cases := []struct {
		who  models.User
		sees []int64
	}{
		{f.ana, []int64{anas.ID, ventas.ID, noTeam.ID}},
		{f.luis, []int64{soporte.ID, noTeam.ID}},
		{f.sup, []int64{carlas.ID, anas.ID, ventas.ID, noTeam.ID}},
		{f.admin, []int64{carlas.ID, anas.ID, soporte.ID, ventas.ID, noTeam.ID}},
		{f.stranger, nil},
	}
	all := []int64{noTeam.ID, ventas.ID, soporte.ID, anas.ID, carlas.ID}
	for _, tc := range cases {
		t.Run(tc.who.Email, func(t *testing.T) {
			c := f.app.LoginAs(tc.who)
			doc := boardDoc(t, c, "/board")
			if got := boardColumnIDs(t, doc, "new"); !slices.Equal(got, tc.sees) {
				t.Errorf("board shows %v, want %v", got, tc.sees)
			}
			if got := boardCount(doc, "new"); got != strconv.Itoa(len(tc.sees)) {
				t.Errorf("count %s, want %d", got, len(tc.sees))
			}
			res := boardHTMXGet(c, "/board/columns/new")
			if got := boardColumnIDs(t, res.Doc(t), "new"); !slices.Equal(got, tc.sees) {
				t.Errorf("column partial shows %v, want %v", got, tc.sees)
			}
			for _, id := range all {
				visible := slices.Contains(tc.sees, id)
				res := boardHTMXGet(c, fmt.Sprintf("/board/cards/%d", id))
				if visible && res.StatusCode != http.StatusOK || !visible && res.StatusCode != http.StatusNotFound {
					t.Errorf("card %d: %d (visible: %v)", id, res.StatusCode, visible)
				}
				if !visible {
					if res := boardMove(c, id, models.StatusPending, ""); res.StatusCode != http.StatusNotFound {
						t.Errorf("moving invisible %d: %d %s", id, res.StatusCode, res.Body)
					}
				}
			}
		})
	}
	// Nothing moved.
	for _, id := range all {
		if got := f.app.Conversation(id).Status; got != models.StatusNew {
			t.Errorf("conversation %d is %s after refused moves", id, got)
		}
	}
}

func TestBoardMoves(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	c := f.app.LoginAs(f.ana)
	conv := f.customer(t, "Pedro", "Hola", 10*time.Minute)
	f.setTeam(t, conv, f.ventas)

	steps := []struct {
		name, to, reason string
		code             int
		msg              string // a refusal's message (Spanish, shown in the toast)
		status           string // the conversation's status afterwards
	}{
		{"taking by dragging into En atención", models.StatusActive, "", 200, "", models.StatusActive},
		{"nothing answered goes back to Nuevos", models.StatusNew, "", 422, "no vuelve a Nuevos", models.StatusActive},
		{"waiting on the customer", models.StatusPending, "", 200, "", models.StatusPending},
		{"back to work", models.StatusActive, "", 200, "", models.StatusActive},
		{"unknown column", "archived", "", 422, "Estado desconocido", models.StatusActive},
		{"a reason too long", models.StatusClosed, strings.Repeat("x", 501), 422, "hasta 500 caracteres", models.StatusActive},
		{"closing with a reason", models.StatusClosed, "Pedido entregado", 200, "", models.StatusClosed},
		{"reopening starts a new cycle", models.StatusPending, "", 200, "", models.StatusPending},
		{"closing without a reason", models.StatusClosed, "", 200, "", models.StatusClosed},
	}
	for _, s := range steps {
		res := boardMove(c, conv.ID, s.to, s.reason)
		if res.StatusCode != s.code {
			t.Fatalf("%s: %d %s", s.name, res.StatusCode, res.Body)
		}
		if s.code != 200 {
			if !strings.Contains(res.Body, s.msg) || strings.Contains(res.Body, "<") {
				t.Errorf("%s: message %q, want plain text with %q", s.name, res.Body, s.msg)
			}
		} else {
			card := res.Doc(t).Find(`[data-testid="card"]`)
			if card.AttrOr("data-status", "") != s.to {
				t.Errorf("%s: answer is the card in %q", s.name, card.AttrOr("data-status", ""))
			}
			var counts map[string]int
			testutil.Must(t, json.Unmarshal([]byte(res.Header.Get("X-Board-Counts")), &counts))
			if counts[s.to] != 1 {
				t.Errorf("%s: counts %v", s.name, counts)
			}
		}
		if got := f.app.Conversation(conv.ID).Status; got != s.status {
			t.Fatalf("%s: status %s, want %s", s.name, got, s.status)
		}
	}
	now := f.app.Conversation(conv.ID)
	if now.AssigneeID == nil || *now.AssigneeID != f.ana.ID {
		t.Errorf("dragging into En atención did not assign Ana: %v", now.AssigneeID)
	}
	var cycles []models.Cycle
	testutil.Must(t, f.app.DB.Gorm.Where("conversation_id = ?", conv.ID).Order("id").Find(&cycles).Error)
	if len(cycles) != 2 || cycles[0].CloseReason != "Pedido entregado" || cycles[1].OpenedBy != "reopen" || cycles[1].ClosedAt == nil {
		t.Errorf("cycles after close, reopen, close: %+v", cycles)
	}

	// Without CSRF the move is refused and nothing changes.
	other := f.customer(t, "Rosa", "Hola", time.Minute)
	req, _ := http.NewRequest(http.MethodPost, f.app.URL+fmt.Sprintf("/conversations/%d/move", other.ID), strings.NewReader("status=pending"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	if res := c.Do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("move without CSRF: %d", res.StatusCode)
	}
	// A supervisor may move a colleague's conversation; an agent may not even see it.
	f.assign(t, other, f.carla)
	if res := boardMove(c, other.ID, models.StatusPending, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("agent moving a colleague's conversation: %d", res.StatusCode)
	}
	f.setTeam(t, other, f.ventas)
	if res := boardMove(f.app.LoginAs(f.sup), other.ID, models.StatusPending, ""); res.StatusCode != http.StatusOK {
		t.Errorf("supervisor moving an agent's conversation: %d %s", res.StatusCode, res.Body)
	}
	// Another workspace's admin finds nothing.
	if res := boardMove(f.app.LoginAs(f.stranger), other.ID, models.StatusClosed, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("stranger moving: %d", res.StatusCode)
	}
	if got := f.app.Conversation(other.ID).Status; got != models.StatusPending {
		t.Errorf("after the stranger's try: %s", got)
	}
}

// TestBoardMoveWithoutJavaScript: the "Mover a…" menu is a plain form; it works and
// comes back to the same filtered board.
func TestBoardMoveWithoutJavaScript(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Pedro", "Hola", time.Minute)
	c := f.app.LoginAs(f.ana)
	doc := boardDoc(t, c, "/board?view=unassigned")
	form := boardCardOf(doc, conv.ID).Find(`[data-testid="move-menu"] form`)
	action := form.AttrOr("action", "")
	if action != fmt.Sprintf("/conversations/%d/move?view=unassigned", conv.ID) {
		t.Fatalf("menu posts to %q", action)
	}
	if got := form.Find(`button[name="status"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }); !slices.Equal(got, []string{"active", "pending", "closed"}) {
		t.Errorf("menu offers %v", got)
	}
	res := c.PostForm(action, url.Values{"status": {"pending"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/board?view=unassigned" {
		t.Fatalf("plain form move: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := f.app.Conversation(conv.ID).Status; got != models.StatusPending {
		t.Errorf("status %s", got)
	}
}

func TestBoardFilters(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	ch2 := f.app.Channel(f.ws, "Soporte WhatsApp")
	pedro := f.customer(t, "Pedro Quispe", "¿Tienen taladros?", 6*time.Minute)
	f.setTeam(t, pedro, f.ventas)
	f.label(t, pedro, "Ventas")
	jose := f.customer(t, "José Núñez", "Necesito la facturación de octubre", 5*time.Minute)
	f.exec(t, `UPDATE contacts SET company = 'Clínica San Gabriel' WHERE id = ?`, jose.ContactID)
	f.setTeam(t, jose, f.ventas)
	f.assign(t, jose, f.ana)
	f.label(t, jose, "Cobranzas")
	lucia := f.customer(t, "Lucía Torres", "No puedo ingresar", 4*time.Minute)
	f.setTeam(t, lucia, f.soporte)
	f.assign(t, lucia, f.luis)
	var other models.Conversation
	{
		wamid := fmt.Sprintf("wamid.OTHER%d", time.Now().UnixNano())
		if code := f.app.Webhook(ch2, testutil.InboundText(ch2, "51911222333", "Rita", wamid, "Hola desde el otro número", time.Now().Add(-3*time.Minute))); code != 200 {
			t.Fatal(code)
		}
		testutil.Must(t, f.app.DB.Gorm.Where("channel_id = ?", ch2.ID).First(&other).Error)
	}
	oldClosed := f.customer(t, "Carlos Antiguo", "Gracias", 20*24*time.Hour)
	testutil.Must(t, f.app.Server.Inbox.SetStatus(context.Background(), inbox.By(f.viewer(t, f.admin)), oldClosed.ID, models.StatusClosed, ""))
	f.exec(t, `UPDATE conversations SET closed_at = now() - interval '20 days' WHERE id = ?`, oldClosed.ID)

	admin := f.app.LoginAs(f.admin)
	cases := []struct {
		query string
		want  []int64 // in Nuevos (Cerrados for closed=)
		col   string
	}{
		{"", []int64{other.ID, lucia.ID, jose.ID, pedro.ID}, "new"},
		{"view=unassigned", []int64{other.ID, pedro.ID}, "new"},
		{fmt.Sprintf("team=%d", f.ventas.ID), []int64{jose.ID, pedro.ID}, "new"},
		{fmt.Sprintf("label=%d", f.labels["Cobranzas"]), []int64{jose.ID}, "new"},
		{fmt.Sprintf("channel=%d", ch2.ID), []int64{other.ID}, "new"},
		{fmt.Sprintf("agent=%d", f.luis.ID), []int64{lucia.ID}, "new"},
		{"q=quispe", []int64{pedro.ID}, "new"},
		{"q=jose+nunez", []int64{jose.ID}, "new"},                                                    // accents do not matter
		{"q=quispe+pedro", []int64{pedro.ID}, "new"},                                                 // every word, in any order
		{"q=gabriel+jose", []int64{jose.ID}, "new"},                                                  // name and company together
		{"q=san+gabr", []int64{jose.ID}, "new"},                                                      // company, by fragment
		{"q=222+333", []int64{other.ID}, "new"},                                                      // a number, by fragment
		{"q=555+444", nil, "new"},                                                                    // a number nobody has
		{"q=facturacion", []int64{jose.ID}, "new"},                                                   // message text, accents aside
		{"q=factura", []int64{jose.ID}, "new"},                                                       // a word's beginning
		{"q=ingresar", []int64{lucia.ID}, "new"},                                                     // message text
		{"q=%2B51+911+222", []int64{other.ID}, "new"},                                                // a number typed with + and spaces
		{"q=100%25_", nil, "new"},                                                                    // LIKE wildcards are literal
		{"", nil, "closed"},                                                                          // closed 20 days ago: outside 7 days
		{"closed=30", []int64{oldClosed.ID}, "closed"},                                               // asked for more
		{"view=mine", nil, "new"},                                                                    // the admin has nothing assigned
		{"team=abc&label=-1&view=everything", []int64{other.ID, lucia.ID, jose.ID, pedro.ID}, "new"}, // junk is ignored
	}
	for _, tc := range cases {
		doc := boardDoc(t, admin, "/board?"+tc.query)
		if got := boardColumnIDs(t, doc, tc.col); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %s shows %v, want %v", tc.query, tc.col, got, tc.want)
		}
		if got := boardCount(doc, tc.col); got != strconv.Itoa(len(tc.want)) {
			t.Errorf("%q: count %s, want %d", tc.query, got, len(tc.want))
		}
	}
	// Filters stay in the URL: the filter form shows them, links and moves keep them.
	doc := boardDoc(t, admin, fmt.Sprintf("/board?view=mine&team=%d&q=hola", f.ventas.ID))
	if v, _ := doc.Find(`[data-testid="view-mine"]`).Attr("checked"); v != "checked" && doc.Find(`[data-testid="view-mine"][checked]`).Length() != 1 {
		t.Error("Mías is not selected")
	}
	if doc.Find(fmt.Sprintf(`[data-testid="filter-team"] option[value="%d"][selected]`, f.ventas.ID)).Length() != 1 {
		t.Error("team is not selected")
	}
	if got := doc.Find(`[data-testid="board-page"]`).AttrOr("data-query", ""); got != fmt.Sprintf("q=hola&team=%d&view=mine", f.ventas.ID) {
		t.Errorf("board query = %q", got)
	}
	if got := boardSquash(doc.Find(`[data-testid="search-chip"]`).Text()); got != "Búsqueda: «hola»" {
		t.Errorf("search chip = %q", got)
	}
	// Agents get no agent filter; supervisors do.
	if boardDoc(t, f.app.LoginAs(f.ana), "/board").Find(`[data-testid="filter-agent"]`).Length() != 0 {
		t.Error("agents can filter by agent")
	}
	if boardDoc(t, f.app.LoginAs(f.sup), "/board").Find(`[data-testid="filter-agent"]`).Length() != 1 {
		t.Error("supervisors cannot filter by agent")
	}
	// A card that left the view (not mine) answers 204; with counts it says how many.
	res := boardHTMXGet(admin, fmt.Sprintf("/board/cards/%d?view=mine&counts=1", pedro.ID))
	if res.StatusCode != http.StatusNoContent || !strings.Contains(res.Header.Get("X-Board-Counts"), `"new":0`) {
		t.Errorf("card outside the view: %d %q", res.StatusCode, res.Header.Get("X-Board-Counts"))
	}
}

// TestBoardColumnPagesByKeyset walks a long column with "Cargar más": every card once,
// newest first, even when cards arrive between pages.
func TestBoardColumnPagesByKeyset(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	var want []int64
	for i := range 57 {
		want = append(want, f.customer(t, fmt.Sprintf("Cliente %02d", i), "Hola", time.Duration(60-i)*time.Minute).ID)
	}
	slices.Reverse(want)
	c := f.app.LoginAs(f.admin)
	doc := boardDoc(t, c, "/board")
	got := boardColumnIDs(t, doc, "new")
	if len(got) != inbox.DefaultColumnLimit {
		t.Fatalf("first page has %d cards", len(got))
	}
	next := doc.Find(`[data-testid="more-new"]`).AttrOr("hx-get", "")
	fresh := f.customer(t, "Recién llegado", "Hola", 0) // arrives while the person scrolls
	for pages := 1; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		if !strings.Contains(next, "cursor=") || strings.Contains(next, "offset") {
			t.Fatalf("more link %q", next)
		}
		res := boardHTMXGet(c, next)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, res.StatusCode, res.Body)
		}
		page := res.Doc(t)
		page.Find(`[data-testid="card"]`).Each(func(_ int, s *goquery.Selection) {
			n, _ := strconv.ParseInt(s.AttrOr("data-id", ""), 10, 64)
			got = append(got, n)
		})
		next = page.Find(`[data-testid="more-new"]`).AttrOr("hx-get", "")
	}
	if !slices.Equal(got, want) {
		t.Errorf("walking the column: %v\nwant %v", got, want)
	}
	if slices.Contains(got, fresh.ID) {
		t.Error("a card that arrived meanwhile showed up in a later page")
	}
	if res := boardHTMXGet(c, "/board/columns/new?cursor=not-a-cursor"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("tampered cursor: %d", res.StatusCode)
	}
	if res := boardHTMXGet(c, "/board/columns/archived"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown column: %d", res.StatusCode)
	}
	// The column partial without a cursor is the whole column, count included.
	col := boardHTMXGet(c, "/board/columns/new").Doc(t)
	if got := boardCount(col, "new"); got != "58" {
		t.Errorf("column refresh count %q", got)
	}
}

// boardSSE is one server-sent event.
type boardSSE struct {
	Event string
	Data  map[string]any
}

// boardOpenEvents opens /events as c and returns the events as they arrive.
func boardOpenEvents(t *testing.T, c *testutil.Client, lastEventID string) <-chan boardSSE {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/events", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	client := &http.Client{Jar: c.HTTP.Jar}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("/events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Content-Encoding") != "" || res.Header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("stream headers: %v", res.Header)
	}
	out := make(chan boardSSE, 64)
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev boardSSE
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data)
			case line == "" && ev.Event != "":
				out <- ev
				ev = boardSSE{}
			}
		}
	}()
	return out
}

// boardEventWait bounds the wait for an event that must arrive. It is long because
// an event that arrives ends the wait at once; only a missing one costs all of it.
const boardEventWait = 15 * time.Second

// boardNextChange waits for the next change event about conversation id, failing after wait.
func boardNextChange(t *testing.T, ch <-chan boardSSE, id int64, wait time.Duration) (boardSSE, bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev := <-ch:
			if ev.Event == "change" && int64(ev.Data["conv"].(float64)) == id {
				return ev, true
			}
		case <-deadline:
			return boardSSE{}, false
		}
	}
}

func TestEventsFollowVisibility(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Pedro", "Hola", time.Minute)
	f.setTeam(t, conv, f.ventas)

	// The event of the customer's first message must not reach the streams opened
	// below: it would be taken for the one of the message written next.
	f.app.SyncLive()
	ana := boardOpenEvents(t, f.app.LoginAs(f.ana), "")
	luis := boardOpenEvents(t, f.app.LoginAs(f.luis), "")
	stranger := boardOpenEvents(t, f.app.LoginAs(f.stranger), "")
	for _, ch := range []<-chan boardSSE{ana, luis, stranger} {
		if ev := <-ch; ev.Event != "hello" {
			t.Fatalf("first event %q", ev.Event)
		}
	}

	// A customer writes in an unassigned Ventas conversation: Ana (Ventas) hears it.
	f.write(t, boardWaOf(t, f, conv), "Pedro", "¿Siguen ahí?", 0)
	ev, ok := boardNextChange(t, ana, conv.ID, boardEventWait)
	if !ok || ev.Data["kind"] != "message" || ev.Data["in"] != true {
		t.Fatalf("Ana got %+v (%v)", ev, ok)
	}
	// It moves to Luis (Soporte): Ana hears it (it leaves her board), Luis too (it arrives).
	testutil.Must(t, f.app.Server.Inbox.Transfer(context.Background(), inbox.By(f.viewer(t, f.admin)), conv.ID,
		inbox.TransferInput{TeamID: &f.soporte.ID, AgentID: &f.luis.ID, Note: "cliente de soporte"}))
	if ev, ok := boardNextChange(t, ana, conv.ID, boardEventWait); !ok || ev.Data["kind"] != "assignment" {
		t.Errorf("Ana did not hear the card leave: %+v", ev)
	}
	if ev, ok := boardNextChange(t, luis, conv.ID, boardEventWait); !ok || int64(ev.Data["assignee"].(float64)) != f.luis.ID {
		t.Errorf("Luis did not hear the card arrive: %+v", ev)
	}
	// Now only Luis hears the customer; the card endpoint answers Ana 404 (she removes it).
	f.write(t, boardWaOf(t, f, conv), "Pedro", "Gracias", 0)
	if _, ok := boardNextChange(t, luis, conv.ID, boardEventWait); !ok {
		t.Error("Luis did not hear his customer")
	}
	if ev, ok := boardNextChange(t, ana, conv.ID, 500*time.Millisecond); ok {
		t.Errorf("Ana heard about a conversation she cannot see: %+v", ev)
	}
	if res := boardHTMXGet(f.app.LoginAs(f.ana), fmt.Sprintf("/board/cards/%d", conv.ID)); res.StatusCode != http.StatusNotFound {
		t.Errorf("card for Ana: %d", res.StatusCode)
	}
	// Another workspace hears nothing.
	if ev, ok := boardNextChange(t, stranger, conv.ID, 200*time.Millisecond); ok {
		t.Errorf("another workspace heard %+v", ev)
	}
	// A reconnecting browser is told to fetch its columns again.
	again := boardOpenEvents(t, f.app.LoginAs(f.ana), "1234")
	if ev := <-again; ev.Event != "resync" {
		t.Errorf("after a reconnect the first event is %q", ev.Event)
	}
}

func boardWaOf(t *testing.T, f *boardFixture, c models.Conversation) string {
	t.Helper()
	var wa string
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT wa_id FROM contacts WHERE id = ?`, c.ContactID).Scan(&wa).Error)
	return wa
}

func TestPresence(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	c := f.app.LoginAs(f.ana)
	sup := f.app.LoginAs(f.sup)
	// Both sign-ins publish a presence event; neither may be taken for Ana's "busy".
	f.app.SyncLive()
	events := boardOpenEvents(t, sup, "")
	if ev := <-events; ev.Event != "hello" {
		t.Fatalf("first event %q", ev.Event)
	}

	res := c.HTMX(http.MethodPost, "/me/presence", url.Values{"presence": {"busy"}})
	if res.StatusCode != 200 || boardSquash(res.Doc(t).Find(`[data-testid="presence-current"]`).Text()) != "Ocupado" {
		t.Fatalf("set presence: %d %s", res.StatusCode, res.Body)
	}
	if got := boardPresenceOf(t, f, f.ana); got != "busy" {
		t.Errorf("presence %s", got)
	}
	select {
	case ev := <-events:
		if ev.Event != "presence" || ev.Data["presence"] != "busy" || int64(ev.Data["user"].(float64)) != f.ana.ID {
			t.Errorf("presence event %+v", ev)
		}
	case <-time.After(boardEventWait):
		t.Error("the supervisor's board did not hear Ana's presence")
	}
	if res := c.HTMX(http.MethodPost, "/me/presence", url.Values{"presence": {"dancing"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invalid presence: %d", res.StatusCode)
	}
	// The board shows the picker with the current presence.
	if got := boardSquash(boardDoc(t, c, "/board").Find(`[data-testid="presence-current"]`).Text()); got != "Ocupado" {
		t.Errorf("picker shows %q", got)
	}

	// Heartbeats stop: the job shows Ana offline; her next heartbeat brings "busy" back.
	f.exec(t, `UPDATE users SET last_seen_at = now() - interval '5 minutes' WHERE id = ?`, f.ana.ID)
	n, err := inbox.MarkAwayOffline(context.Background(), f.app.DB.Gorm, time.Now(), inbox.AwayAfter)
	testutil.Must(t, err)
	if n != 1 || boardPresenceOf(t, f, f.ana) != "offline" {
		t.Fatalf("away job marked %d, Ana is %s", n, boardPresenceOf(t, f, f.ana))
	}
	res = c.HTMX(http.MethodPost, "/me/heartbeat", nil)
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"busy"`) || boardPresenceOf(t, f, f.ana) != "busy" {
		t.Errorf("heartbeat after being away: %d %s, presence %s", res.StatusCode, res.Body, boardPresenceOf(t, f, f.ana))
	}
	// Someone who chose offline stays offline, heartbeats or not.
	c.HTMX(http.MethodPost, "/me/presence", url.Values{"presence": {"offline"}})
	c.HTMX(http.MethodPost, "/me/heartbeat", nil)
	if got := boardPresenceOf(t, f, f.ana); got != "offline" {
		t.Errorf("chose offline, heartbeat made it %s", got)
	}
	if n, _ := inbox.MarkAwayOffline(context.Background(), f.app.DB.Gorm, time.Now(), inbox.AwayAfter); n != 0 {
		t.Errorf("the job touched %d users with fresh heartbeats", n)
	}
}

func boardPresenceOf(t *testing.T, f *boardFixture, u models.User) string {
	t.Helper()
	var p string
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT presence FROM users WHERE id = ?`, u.ID).Scan(&p).Error)
	return p
}

// TestBoardUnreadBadge: the tab title counts my conversations with unread customer messages.
func TestBoardUnreadBadge(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	for _, name := range []string{"Pedro", "Rosa"} {
		conv := f.customer(t, name, "Hola", time.Minute)
		f.assign(t, conv, f.ana)
	}
	doc := boardDoc(t, f.app.LoginAs(f.ana), "/board")
	if got := doc.Find("title").Text(); got != "(2) Tablero · Atiende" {
		t.Errorf("title %q", got)
	}
}

func boardSquash(s string) string { return strings.Join(strings.Fields(s), " ") }
