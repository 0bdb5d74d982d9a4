package inbox_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestBoardCountsFollowEveryChange: the column counts kept in board_counts stay equal
// to counting the conversations after every kind of change (customer messages, taking,
// assigning, transferring, closing, reopening, a bulk action, a deleted team), and the
// board's counts agree with its columns for every role.
func TestBoardCountsFollowEveryChange(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	db := w.app.DB.Gorm
	check := func(step string) {
		t.Helper()
		var kept, actual []string
		testutil.Must(t, db.Raw(`SELECT concat_ws('/', status, channel_id, team_id, assignee_id, sum(n)) FROM (
				SELECT status, channel_id, team_id, assignee_id, n FROM board_counts WHERE workspace_id = ?
				UNION ALL SELECT status, channel_id, team_id, assignee_id, n FROM board_count_deltas WHERE workspace_id = ?) x
			GROUP BY status, channel_id, team_id, assignee_id HAVING sum(n) <> 0 ORDER BY 1`, w.ws.ID, w.ws.ID).Scan(&kept).Error)
		testutil.Must(t, db.Raw(`SELECT concat_ws('/', status, channel_id, team_id, assignee_id, count(*)) FROM conversations
			WHERE workspace_id = ? AND status <> 'closed' AND last_message_at IS NOT NULL
			GROUP BY status, channel_id, team_id, assignee_id ORDER BY 1`, w.ws.ID).Scan(&actual).Error)
		if !slices.Equal(kept, actual) {
			t.Fatalf("after %s, board_counts holds %v; the conversations count %v", step, kept, actual)
		}
		for _, v := range []inbox.BoardFilter{{}, {View: inbox.ViewMine}, {View: inbox.ViewUnassigned}, {TeamID: &w.ventas.ID}} {
			for _, vw := range []accounts.Viewer{w.admin, w.sup, w.ana, w.luis} {
				who := vw.User.Email
				counts, err := w.svc.Counts(ctx, vw, v)
				testutil.Must(t, err)
				for _, st := range inbox.BoardStatuses {
					cards, next, err := w.svc.ListColumn(ctx, vw, st, v, "", inbox.MaxColumnLimit)
					testutil.Must(t, err)
					if next != "" {
						t.Fatalf("more than %d cards", inbox.MaxColumnLimit)
					}
					if counts[st] != len(cards) {
						t.Errorf("after %s, %s sees %d in %s with %+v but the column holds %d cards", step, who, counts[st], st, v, len(cards))
					}
				}
			}
		}
	}
	var ids []int64
	for i := range 6 {
		ids = append(ids, w.inbound(t, fmt.Sprintf("5199000000%d", i), "Hola").ID)
	}
	check("six customers writing")
	ana, luis, admin := inbox.By(w.ana), inbox.By(w.luis), inbox.By(w.admin)
	testutil.Must(t, w.svc.Transfer(ctx, admin, ids[0], inbox.TransferInput{TeamID: &w.ventas.ID, Note: "ventas"}))
	testutil.Must(t, w.svc.Transfer(ctx, admin, ids[1], inbox.TransferInput{TeamID: &w.soporte.ID, Note: "soporte"}))
	testutil.Must(t, w.svc.Transfer(ctx, admin, ids[2], inbox.TransferInput{TeamID: &w.ventas.ID, Note: "ventas"}))
	check("transfers to teams")
	testutil.Must(t, w.svc.Take(ctx, ana, ids[0]))
	testutil.Must(t, w.svc.Take(ctx, luis, ids[1]))
	testutil.Must(t, w.svc.Assign(ctx, admin, ids[3], w.ana.User.ID))
	check("taking and assigning")
	_, err := w.svc.Reply(ctx, ana, ids[0], "¡Hola! ¿En qué te ayudo?", "")
	testutil.Must(t, err)
	w.inbound(t, "51990000000", "Quiero una cotización")
	check("a reply and the customer's answer")
	testutil.Must(t, w.svc.SetStatus(ctx, ana, ids[0], models.StatusClosed, "Resuelto"))
	testutil.Must(t, w.svc.SetStatus(ctx, admin, ids[4], models.StatusClosed, "Duplicado"))
	check("closing")
	w.inbound(t, "51990000000", "Una consulta más")
	testutil.Must(t, w.svc.SetStatus(ctx, admin, ids[4], models.StatusActive, ""))
	check("reopening")
	_, err = w.svc.Bulk(ctx, w.admin, []int64{ids[2], ids[3], ids[5]}, inbox.BulkAction{Kind: inbox.BulkClose, Reason: "Limpieza"})
	testutil.Must(t, err)
	check("a bulk close")
	testutil.Must(t, db.Exec(`DELETE FROM teams WHERE id = ?`, w.soporte.ID).Error)
	check("a deleted team")

	// Changes pile up (here 600 conversations entering and leaving Nuevos): the next
	// read folds them into board_counts, and the counts stay what they were.
	before, err := w.svc.Counts(ctx, w.admin, inbox.BoardFilter{})
	testutil.Must(t, err)
	testutil.Must(t, db.Exec(`INSERT INTO board_count_deltas (workspace_id, status, channel_id, n)
		SELECT ?, 'new', ?, (ARRAY[1, -1])[1 + i % 2] FROM generate_series(1, 600) i`, w.ws.ID, w.ch.ID).Error)
	w.app.Server.Inbox.Changed(w.ws.ID)
	after, err := w.svc.Counts(ctx, w.admin, inbox.BoardFilter{})
	testutil.Must(t, err)
	var waiting int64
	testutil.Must(t, db.Raw(`SELECT count(*) FROM board_count_deltas WHERE workspace_id = ?`, w.ws.ID).Scan(&waiting).Error)
	if waiting != 0 || !reflect.DeepEqual(before, after) {
		t.Errorf("after folding: %d changes still waiting; counts %v, were %v", waiting, after, before)
	}
	check("folding the changes")
}

// TestFirstPagesMatchColumns: the full board's one-statement first pages are exactly
// what each column gives on its own (cards, order, details and the next cursor).
func TestFirstPagesMatchColumns(t *testing.T) {
	t.Parallel()
	s := seedBoard(t, 400, 150, 1_500)
	ctx := context.Background()
	svc := s.app.Server.Inbox
	for _, u := range []models.User{s.admin, s.sup, s.agent} {
		v := viewerOf(t, s.app, u)
		for _, f := range []inbox.BoardFilter{{}, {View: inbox.ViewMine}, {TeamID: &s.teams[1].ID}, {Q: "factura"}} {
			cards, next, err := svc.FirstPages(ctx, v, inbox.BoardStatuses, f, 7)
			testutil.Must(t, err)
			for _, st := range inbox.BoardStatuses {
				want, wantNext, err := svc.ListColumn(ctx, v, st, f, "", 7)
				testutil.Must(t, err)
				if !reflect.DeepEqual(cards[st], want) || next[st] != wantNext {
					t.Errorf("%s, %+v, %s: first page %v (next %q), the column gives %v (next %q)", u.Email, f, st,
						ids(cards[st]), next[st], ids(want), wantNext)
				}
			}
		}
	}
}

func ids(cards []inbox.Card) []int64 {
	out := make([]int64, len(cards))
	for i, c := range cards {
		out[i] = c.ID
	}
	return out
}

// TestClosedCountWindow: Cerrados' count is exactly what its column shows whatever hour
// its window starts (its start included, a microsecond before not), with an end or
// without, after closings are moved, reopened or deleted.
func TestClosedCountWindow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	db := w.app.DB.Gorm
	start := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	closedAt := []time.Time{
		start.Add(-time.Hour),        // the first day, before the start: out
		start.Add(-time.Microsecond), // out, by a hair
		start,                        // in: the window includes its start
		start.Add(time.Hour),         // the first day, after the start
		time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), // the next day's first instant
		time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 19, 23, 59, 0, 0, time.UTC), // the day before: out
	}
	var ids []int64
	for i, at := range closedAt {
		id := w.inbound(t, fmt.Sprintf("5199100000%d", i), "Hola").ID
		testutil.Must(t, w.svc.SetStatus(ctx, inbox.By(w.admin), id, models.StatusClosed, "Resuelto"))
		testutil.Must(t, db.Exec(`UPDATE conversations SET closed_at = ? WHERE id = ?`, at, id).Error)
		ids = append(ids, id)
	}
	count := func(f inbox.BoardFilter) int {
		t.Helper()
		w.app.Server.Inbox.Changed(w.ws.ID)
		counts, err := w.svc.Counts(ctx, w.admin, f)
		testutil.Must(t, err)
		cards, _, err := w.svc.ListColumn(ctx, w.admin, models.StatusClosed, f, "", inbox.MaxColumnLimit)
		testutil.Must(t, err)
		if counts[models.StatusClosed] != len(cards) {
			t.Fatalf("Cerrados counts %d with %+v but shows %d cards", counts[models.StatusClosed], f, len(cards))
		}
		return len(cards)
	}
	if n := count(inbox.BoardFilter{ClosedSince: start}); n != 4 {
		t.Errorf("window from %s: %d closed, want 4", start, n)
	}
	midnight := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if n := count(inbox.BoardFilter{ClosedSince: midnight}); n != 6 {
		t.Errorf("window from midnight: %d closed, want 6", n)
	}
	if n := count(inbox.BoardFilter{ClosedSince: start, ClosedUntil: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}); n != 2 {
		t.Errorf("window from %s to the next midnight: %d closed, want 2", start, n)
	}
	// A closing moved out of the window, one reopened, one deleted.
	testutil.Must(t, db.Exec(`UPDATE conversations SET closed_at = ? WHERE id = ?`, start.Add(-2*time.Hour), ids[5]).Error)
	testutil.Must(t, w.svc.SetStatus(ctx, inbox.By(w.admin), ids[3], models.StatusActive, ""))
	testutil.Must(t, db.Exec(`DELETE FROM conversations WHERE id = ?`, ids[4]).Error)
	if n := count(inbox.BoardFilter{ClosedSince: start}); n != 1 {
		t.Errorf("after moving, reopening and deleting: %d closed, want 1", n)
	}
	// For an agent, by the same rules (none of these is theirs or their teams').
	w.app.Server.Inbox.Changed(w.ws.ID)
	counts, err := w.svc.Counts(ctx, w.ana, inbox.BoardFilter{ClosedSince: midnight, View: inbox.ViewMine})
	testutil.Must(t, err)
	if counts[models.StatusClosed] != 0 {
		t.Errorf("an agent's Mías counts %d closed, want 0", counts[models.StatusClosed])
	}
}

// TestClosedCountKeptFollowsChanges: the server keeps Cerrados' count while nothing can
// have moved it and slides it with the clock; customers reopening chats closed before
// the window leave it, those closed inside it and agents' closings move it, and it
// always equals the column. A change no notification announces (a bare UPDATE) is
// seen at the next announced change.
func TestClosedCountKeptFollowsChanges(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	db := w.app.DB.Gorm
	srv := w.app.Server.Inbox
	now := time.Now()
	check := func(step string, want int) {
		t.Helper()
		w.app.SyncLive()
		counts, err := srv.Counts(ctx, w.admin, inbox.BoardFilter{})
		testutil.Must(t, err)
		cards, _, err := srv.ListColumn(ctx, w.admin, models.StatusClosed, inbox.BoardFilter{}, "", inbox.MaxColumnLimit)
		testutil.Must(t, err)
		if counts[models.StatusClosed] != want || len(cards) != want {
			t.Fatalf("after %s: Cerrados counts %d and shows %d, want %d", step, counts[models.StatusClosed], len(cards), want)
		}
		// The column (alone and on the full board) is what the conversations say now.
		var ids []int64
		testutil.Must(t, db.Raw(`SELECT id FROM conversations WHERE workspace_id = ? AND status = 'closed' AND closed_at >= ?
			ORDER BY last_message_at DESC, id DESC`, w.ws.ID, time.Now().Add(-inbox.ClosedWindow)).Scan(&ids).Error)
		pages, _, err := srv.FirstPages(ctx, w.admin, inbox.BoardStatuses, inbox.BoardFilter{}, inbox.MaxColumnLimit)
		testutil.Must(t, err)
		for name, got := range map[string][]inbox.Card{"column": cards, "board": pages[models.StatusClosed]} {
			var gotIDs []int64
			for _, c := range got {
				gotIDs = append(gotIDs, c.ID)
			}
			if !slices.Equal(gotIDs, ids) && !(len(gotIDs) == 0 && len(ids) == 0) {
				t.Fatalf("after %s: Cerrados' %s shows %v, the conversations say %v", step, name, gotIDs, ids)
			}
		}
	}
	closeAt := func(id int64, at time.Time) {
		t.Helper()
		testutil.Must(t, srv.SetStatus(ctx, inbox.By(w.admin), id, models.StatusClosed, "Resuelto"))
		testutil.Must(t, db.Exec(`UPDATE conversations SET closed_at = ? WHERE id = ?`, at, id).Error)
	}
	old := w.inbound(t, "51992000001", "Hola")
	recent := w.inbound(t, "51992000002", "Hola")
	edge := w.inbound(t, "51992000003", "Hola")
	open := w.inbound(t, "51992000004", "Hola")
	closeAt(old.ID, now.Add(-10*24*time.Hour))
	closeAt(recent.ID, now.Add(-2*24*time.Hour))
	srv.Changed(w.ws.ID)
	check("closing two chats, one before the window", 1)

	w.inbound(t, "51992000001", "¿Siguen ahí?") // reopens a chat closed before the window
	check("a customer reopening a chat closed 10 days ago", 1)
	w.inbound(t, "51992000002", "Una cosa más")
	check("a customer reopening a chat closed 2 days ago", 0)
	testutil.Must(t, srv.SetStatus(ctx, inbox.By(w.admin), open.ID, models.StatusClosed, "Listo"))
	leaves := time.Now().Add(4 * time.Second)
	closeAt(edge.ID, leaves.Add(-inbox.ClosedWindow)) // leaves the window in 4 s
	srv.Changed(w.ws.ID)
	check("an agent closing two chats", 2)
	time.Sleep(time.Until(leaves) + 300*time.Millisecond)
	srv.ChangedByMessages(w.ws.ID) // a message elsewhere: the board reads again
	check("the window sliding past a closing", 1)

	// A bare UPDATE announces nothing: the kept count holds until a change is announced.
	testutil.Must(t, db.Exec(`UPDATE conversations SET closed_at = ? WHERE id = ?`, now.Add(-30*24*time.Hour), open.ID).Error)
	srv.ChangedByMessages(w.ws.ID)
	counts, err := srv.Counts(ctx, w.admin, inbox.BoardFilter{})
	testutil.Must(t, err)
	if counts[models.StatusClosed] != 1 {
		t.Fatalf("Cerrados was counted again (%d) without any change announced: nothing is kept", counts[models.StatusClosed])
	}
	srv.Changed(w.ws.ID)
	check("an announced change", 0)
}

// TestOpenColumnsKeptByColumn: the server keeps each open column's first page until a
// change touches that column: a customer writing on a chat in Nuevos reads Nuevos again
// and leaves En atención as it was (a bare UPDATE there, announced by nothing, stays
// unseen); a message on the chat in En atención, or a chat moving between columns,
// brings the columns it touched up to date.
func TestOpenColumnsKeptByColumn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	db := w.app.DB.Gorm
	srv := w.app.Server.Inbox
	preview := func(st string, id int64) string {
		t.Helper()
		w.app.SyncLive()
		pages, _, err := srv.FirstPages(ctx, w.admin, inbox.BoardStatuses, inbox.BoardFilter{}, inbox.DefaultColumnLimit)
		testutil.Must(t, err)
		col, _, err := srv.ListColumn(ctx, w.admin, st, inbox.BoardFilter{}, "", inbox.DefaultColumnLimit)
		testutil.Must(t, err)
		got := ""
		for _, c := range pages[st] {
			if c.ID == id {
				got = c.Preview
			}
		}
		alone := ""
		for _, c := range col {
			if c.ID == id {
				alone = c.Preview
			}
		}
		if got != alone {
			t.Fatalf("the board shows %q and the column %q for chat %d in %s", got, alone, id, st)
		}
		return got
	}
	fresh := w.inbound(t, "51993000001", "Hola, ¿hay stock?")
	taken := w.inbound(t, "51993000002", "Buenas")
	testutil.Must(t, srv.Take(ctx, inbox.By(w.admin), taken.ID))
	if got := preview(models.StatusActive, taken.ID); got != "Buenas" {
		t.Fatalf("En atención shows %q", got)
	}
	testutil.Must(t, db.Exec(`UPDATE conversations SET last_message_preview = 'sin anunciar' WHERE id = ?`, taken.ID).Error)
	w.inbound(t, "51993000001", "¿Y el precio?")
	if got := preview(models.StatusNew, fresh.ID); got != "¿Y el precio?" {
		t.Errorf("Nuevos shows %q after its customer wrote", got)
	}
	if got := preview(models.StatusActive, taken.ID); got != "Buenas" {
		t.Errorf("En atención was read again (%q) though no change touched it", got)
	}
	w.inbound(t, "51993000002", "¿Me confirman?")
	if got := preview(models.StatusActive, taken.ID); got != "¿Me confirman?" {
		t.Errorf("En atención shows %q after its customer wrote", got)
	}
	testutil.Must(t, srv.Take(ctx, inbox.By(w.admin), fresh.ID))
	if got := preview(models.StatusNew, fresh.ID); got != "" {
		t.Errorf("Nuevos still shows the chat taken (%q)", got)
	}
	if got := preview(models.StatusActive, fresh.ID); got != "¿Y el precio?" {
		t.Errorf("En atención shows %q for the chat just taken", got)
	}
	// Waiting on the customer, who answers: the chat moves from Pendientes to En
	// atención by the webhook alone.
	testutil.Must(t, srv.SetStatus(ctx, inbox.By(w.admin), taken.ID, models.StatusPending, ""))
	if got := preview(models.StatusPending, taken.ID); got != "¿Me confirman?" {
		t.Fatalf("Pendientes shows %q", got)
	}
	w.inbound(t, "51993000002", "Listo, ya pagué")
	if got := preview(models.StatusPending, taken.ID); got != "" {
		t.Errorf("Pendientes still shows the chat its customer answered (%q)", got)
	}
	if got := preview(models.StatusActive, taken.ID); got != "Listo, ya pagué" {
		t.Errorf("En atención shows %q for the chat its customer answered", got)
	}
}

// TestContactRenameRefreshesItsOtherCards: a customer writing under a new WhatsApp
// name on one number renames the card of their chat on another number too, in
// whatever column it is.
func TestContactRenameRefreshesItsOtherCards(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srv := w.app.Server.Inbox
	second := w.app.Channel(w.ws, "Segundo")
	w.app.Inbound(w.ch, "51994000001", "Rosa", "Hola")
	other := w.app.Inbound(second, "51994000001", "Rosa", "Hola por aquí")
	testutil.Must(t, srv.Take(ctx, inbox.By(w.admin), other.ID))
	name := func() string {
		t.Helper()
		w.app.SyncLive()
		pages, _, err := srv.FirstPages(ctx, w.admin, inbox.BoardStatuses, inbox.BoardFilter{}, inbox.DefaultColumnLimit)
		testutil.Must(t, err)
		for _, c := range pages[models.StatusActive] {
			if c.ID == other.ID {
				return c.ContactName
			}
		}
		t.Fatalf("chat %d is not in En atención", other.ID)
		return ""
	}
	if got := name(); got != "Rosa" {
		t.Fatalf("the card shows %q", got)
	}
	w.app.Inbound(w.ch, "51994000001", "Rosa Quispe", "Soy yo otra vez")
	if got := name(); got != "Rosa Quispe" {
		t.Errorf("after the customer's new name on the other number, the card shows %q", got)
	}
}
