package inbox_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

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
				for _, st := range []string{models.StatusNew, models.StatusActive, models.StatusPending} {
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
