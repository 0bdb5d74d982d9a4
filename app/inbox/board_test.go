package inbox_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// sqlRecorder is a GORM logger that keeps every statement run, with its values.
type sqlRecorder struct {
	mu   sync.Mutex
	sqls []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }
func (r *sqlRecorder) Info(context.Context, string, ...any)     {}
func (r *sqlRecorder) Warn(context.Context, string, ...any)     {}
func (r *sqlRecorder) Error(context.Context, string, ...any)    {}
func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	r.mu.Lock()
	r.sqls = append(r.sqls, sql)
	r.mu.Unlock()
}

func (r *sqlRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sqls
	r.sqls = nil
	return out
}

// recordingService is the inbox service on db with every statement recorded.
func recordingService(db *gorm.DB) (*inbox.Service, *sqlRecorder) {
	rec := &sqlRecorder{}
	return inbox.New(db.Session(&gorm.Session{Logger: rec}), clock.Real{}), rec
}

func viewerOf(t *testing.T, app *testutil.App, u models.User) accounts.Viewer {
	t.Helper()
	v, err := app.Accounts.LoadViewer(context.Background(), u.ID)
	testutil.Must(t, err)
	return v
}

// TestBoardQueriesUseIndexes runs every board query (each column, counts, cards,
// filters, search) for each role on a realistically filled, analyzed database, and
// fails if PostgreSQL would read messages or conversations sequentially.
func TestBoardQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	s := seedBoard(t, 20_000, 1_000, 100_000)
	ctx := context.Background()
	svc, rec := recordingService(s.app.DB.Gorm)
	var someConv, someLabel int64
	testutil.Must(t, s.app.DB.Gorm.Raw(`SELECT id FROM conversations WHERE workspace_id = ? AND status = 'new' LIMIT 1`, s.ws.ID).Scan(&someConv).Error)
	testutil.Must(t, s.app.DB.Gorm.Raw(`SELECT id FROM labels WHERE workspace_id = ? LIMIT 1`, s.ws.ID).Scan(&someLabel).Error)
	ch := s.channels[1]
	filters := []inbox.BoardFilter{
		{},
		{View: inbox.ViewMine},
		{View: inbox.ViewUnassigned},
		{TeamID: &s.teams[0].ID},
		{LabelID: &someLabel},
		{ChannelID: &ch},
		{AssigneeID: &s.agent.ID},
		{Q: "quispe"},
		{Q: "ferretería el sol"},
		{Q: "+51 900 001"},
		{Q: "cotización urgente"},
		{Q: "!!!"},
		{ClosedSince: time.Now().Add(-90 * 24 * time.Hour)},
	}
	for _, u := range []models.User{s.admin, s.sup, s.agent} {
		v := viewerOf(t, s.app, u)
		for _, f := range filters {
			for _, st := range inbox.BoardStatuses {
				cards, next, err := svc.ListColumn(ctx, v, st, f, "", inbox.DefaultColumnLimit)
				testutil.Must(t, err)
				if next != "" {
					_, _, err = svc.ListColumn(ctx, v, st, f, next, inbox.DefaultColumnLimit)
					testutil.Must(t, err)
				}
				if len(cards) > 0 {
					_, _, err = svc.CardInView(ctx, v, cards[0].ID, f)
					testutil.Must(t, err)
				}
			}
			_, err := svc.Counts(ctx, v, f)
			testutil.Must(t, err)
		}
		_, err := svc.MyUnread(ctx, v)
		testutil.Must(t, err)
		_, err = svc.HasConversations(ctx, v.Workspace.ID)
		testutil.Must(t, err)
		_, err = svc.CardByID(ctx, v, someConv)
		if err != nil && u.Role == models.RoleAdmin {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	checked := 0
	for _, sql := range rec.take() {
		if seen[sql] || !strings.HasPrefix(strings.TrimSpace(sql), "SELECT") {
			continue
		}
		seen[sql] = true
		var plan string
		testutil.Must(t, s.app.DB.Gorm.Raw("EXPLAIN (FORMAT JSON) "+sql).Scan(&plan).Error)
		var root []map[string]any
		testutil.Must(t, json.Unmarshal([]byte(plan), &root))
		if rel := seqScan(root[0]["Plan"]); rel != "" {
			t.Errorf("sequential scan of %s in\n%s\nplan: %s", rel, sql, plan)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d distinct queries checked", checked)
	}
	t.Logf("%d board queries use indexes", checked)
}

// seqScan returns the table a plan node (or any node under it) reads sequentially,
// among the big ones.
func seqScan(node any) string {
	m, ok := node.(map[string]any)
	if !ok {
		return ""
	}
	if m["Node Type"] == "Seq Scan" && (m["Relation Name"] == "conversations" || m["Relation Name"] == "messages") {
		return m["Relation Name"].(string)
	}
	plans, _ := m["Plans"].([]any)
	for _, p := range plans {
		if rel := seqScan(p); rel != "" {
			return rel
		}
	}
	return ""
}

// TestBoardLoadsCardsInOneQuery: a column page shows contacts, channels, teams,
// assignees and labels without a query per card.
func TestBoardLoadsCardsInOneQuery(t *testing.T) {
	t.Parallel()
	s := seedBoard(t, 300, 120, 600)
	svc, rec := recordingService(s.app.DB.Gorm)
	v := viewerOf(t, s.app, s.admin)
	cards, next, err := svc.ListColumn(context.Background(), v, models.StatusNew, inbox.BoardFilter{}, "", 30)
	testutil.Must(t, err)
	if len(cards) != 30 || next == "" {
		t.Fatalf("%d cards, next %q", len(cards), next)
	}
	labelled := 0
	for _, c := range cards {
		if c.ContactName == "" || c.ChannelName == "" || c.Phone == "" {
			t.Errorf("card %d misses contact or channel: %+v", c.ID, c)
		}
		if c.AssigneeID != nil && c.AssigneeName == "" || c.TeamID != nil && c.TeamName == "" {
			t.Errorf("card %d misses assignee or team: %+v", c.ID, c)
		}
		labelled += len(c.Labels)
	}
	if labelled == 0 {
		t.Error("no labels loaded")
	}
	// One statement for the cards, one for the workspace's directory (the names of its
	// numbers, teams, people and labels, which a running server keeps while only
	// conversations change): none per card.
	if sqls := rec.take(); len(sqls) != 2 {
		t.Errorf("a page of 30 cards took %d queries:\n%s", len(sqls), strings.Join(sqls, "\n"))
	}
}

// TestBoardCountsMatchColumns: for every role and filter, a column's count is the
// number of cards paging through it yields.
func TestBoardCountsMatchColumns(t *testing.T) {
	t.Parallel()
	s := seedBoard(t, 400, 150, 1_500)
	ctx := context.Background()
	svc := s.app.Server.Inbox
	for _, u := range []models.User{s.admin, s.sup, s.agent} {
		v := viewerOf(t, s.app, u)
		for _, f := range []inbox.BoardFilter{{}, {View: inbox.ViewMine}, {View: inbox.ViewUnassigned}, {TeamID: &s.teams[1].ID}, {Q: "factura"},
			{ClosedSince: time.Now().Add(-400 * 24 * time.Hour)}} {
			counts, err := svc.Counts(ctx, v, f)
			testutil.Must(t, err)
			for _, st := range inbox.BoardStatuses {
				seen := map[int64]bool{}
				cursor := ""
				var last inbox.Card
				for {
					cards, next, err := svc.ListColumn(ctx, v, st, f, cursor, 7)
					testutil.Must(t, err)
					for _, c := range cards {
						if seen[c.ID] {
							t.Fatalf("%s %+v: card %d twice", u.Email, f, c.ID)
						}
						if last.ID != 0 && c.LastMessageAt.After(last.LastMessageAt) {
							t.Fatalf("%s %s: card %d out of order", u.Email, st, c.ID)
						}
						if c.Status != st {
							t.Fatalf("card %d in %s is %s", c.ID, st, c.Status)
						}
						if !inbox.CanSee(v, s.ws.ID, c.TeamID, c.AssigneeID) {
							t.Fatalf("%s sees card %d they may not", u.Email, c.ID)
						}
						seen[c.ID] = true
						last = c
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if len(seen) != counts[st] {
					t.Errorf("%s %s %+v: count %d, cards %d", u.Email, st, f, counts[st], len(seen))
				}
			}
		}
	}
	// The agent's board holds only their own and their team's unassigned cards.
	v := viewerOf(t, s.app, s.agent)
	counts, err := svc.Counts(ctx, v, inbox.BoardFilter{})
	testutil.Must(t, err)
	var want int
	testutil.Must(t, s.app.DB.Gorm.Raw(`SELECT count(*) FROM conversations WHERE workspace_id = ? AND status = 'new' AND last_message_at IS NOT NULL
		AND (assignee_id = ? OR (assignee_id IS NULL AND (team_id = ? OR team_id IS NULL)))`, s.ws.ID, s.agent.ID, s.teams[0].ID).Scan(&want).Error)
	if counts["new"] != want || want == 0 {
		t.Errorf("agent's Nuevos: %d, want %d", counts["new"], want)
	}
}

// Card.Equal tells apart two cards that differ in any one field (a field added later
// too: the board would otherwise keep showing a card's old markup).
func TestCardEqualSeesEveryField(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	base := inbox.Card{Labels: []inbox.CardLabel{{ID: 1, Name: "VIP", Color: "#111"}}}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		a, b := base, base
		a.Labels, b.Labels = slices.Clone(base.Labels), slices.Clone(base.Labels)
		fb := reflect.ValueOf(&b).Elem().Field(i)
		switch v := fb.Addr().Interface().(type) {
		case *int64:
			*v = 7
		case *int:
			*v = 7
		case *bool:
			*v = true
		case *string:
			*v = "x"
		case *time.Time:
			*v = now
		case **time.Time:
			*v = &now
		case **int64:
			n := int64(7)
			*v = &n
		case *[]inbox.CardLabel:
			*v = []inbox.CardLabel{{ID: 1, Name: "VIP", Color: "#222"}}
		case **inbox.CardLead:
			*v = &inbox.CardLead{ID: 3, Stage: "Propuesta"}
		default:
			t.Fatalf("field %s (%s): teach this test to change it", f.Name, f.Type)
		}
		if a.Equal(b) || b.Equal(a) {
			t.Errorf("cards differing in %s are Equal", f.Name)
		}
		if !b.Equal(b) {
			t.Errorf("a card differing in %s is not Equal to itself", f.Name)
		}
	}
	// Same values through other pointers are the same card.
	t1, t2 := now, now.In(time.FixedZone("Lima", -5*3600))
	team1, team2 := int64(4), int64(4)
	if !(inbox.Card{WaitingSince: &t1, TeamID: &team1}).Equal(inbox.Card{WaitingSince: &t2, TeamID: &team2}) {
		t.Error("equal values behind other pointers are not Equal")
	}
}
