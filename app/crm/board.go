package crm

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/models"
)

// ColumnSize is how many cards a board column shows per page ("Cargar más").
const ColumnSize = 25

// Filter narrows the lead board and list.
type Filter struct {
	PipelineID int64
	// OwnerID: 0 any owner; -1 leads without owner.
	OwnerID int64
	// CloseFrom and CloseTo bound the expected close date (inclusive); zero: open.
	CloseFrom, CloseTo time.Time
	// StageID narrows the list to one stage (0: all).
	StageID int64
}

// where is the filter's SQL over leads l, with visibility.
func (f Filter) where(v accounts.Viewer) (string, []any) {
	cond, args := VisibleLeads(v, "l")
	rest, more := f.filters()
	return cond + rest, append(args, more...)
}

// filters is the filter's SQL without visibility (" AND …").
func (f Filter) filters() (string, []any) {
	var args []any
	var b strings.Builder
	if f.PipelineID != 0 {
		b.WriteString(" AND l.pipeline_id = ?")
		args = append(args, f.PipelineID)
	}
	if f.StageID != 0 {
		b.WriteString(" AND l.stage_id = ?")
		args = append(args, f.StageID)
	}
	switch {
	case f.OwnerID > 0:
		b.WriteString(" AND l.owner_id = ?")
		args = append(args, f.OwnerID)
	case f.OwnerID < 0:
		b.WriteString(" AND l.owner_id IS NULL")
	}
	if !f.CloseFrom.IsZero() {
		b.WriteString(" AND l.expected_close >= ?")
		args = append(args, f.CloseFrom.Format(time.DateOnly))
	}
	if !f.CloseTo.IsZero() {
		b.WriteString(" AND l.expected_close <= ?")
		args = append(args, f.CloseTo.Format(time.DateOnly))
	}
	return b.String(), args
}

// Money is an amount in one currency.
type Money struct {
	Currency string
	Value    float64
}

// Sum is a column's total in one currency: the plain sum and the sum weighted by the
// stage's probability.
type Sum struct {
	Currency string
	Value    float64
	Weighted float64
}

// Card is one lead on the board.
type Card struct {
	ID             int64
	Title          string
	Value          float64
	Currency       string
	ContactName    string
	OwnerID        *int64
	OwnerName      string
	ExpectedClose  *time.Time
	StageChangedAt time.Time
	ConversationID *int64
	DaysInStage    int
	Rotting        bool
	LostReason     string
}

// Column is one stage of the board.
type Column struct {
	Stage models.Stage
	Count int
	Sums  []Sum
	Cards []Card
	// Next is the cursor of the next page ("" when there is none).
	Next string
}

// Board is a pipeline's kanban.
type Board struct {
	Pipelines []models.Pipeline
	Pipeline  models.Pipeline
	Columns   []Column
	Total     int
}

// Board loads the lead board of one pipeline (the default when f.PipelineID is 0) in
// three queries: pipelines, per-stage totals, and the first page of every column.
func (s *Service) Board(ctx context.Context, v accounts.Viewer, f Filter) (Board, error) {
	var b Board
	ps, err := s.Pipelines(ctx, v.Workspace.ID)
	if err != nil {
		return b, err
	}
	b.Pipelines = ps
	b.Pipeline = ps[0]
	for _, p := range ps {
		if p.ID == f.PipelineID {
			b.Pipeline = p
		}
	}
	f.PipelineID = b.Pipeline.ID
	f.StageID = 0
	key := fmt.Sprintf("leads|%s|p%d|o%d|%s|%s", scopeKey(v), f.PipelineID, f.OwnerID, f.CloseFrom.Format(time.DateOnly), f.CloseTo.Format(time.DateOnly))
	cols, err := live.Get(ctx, s.cache, v.Workspace.ID, key, func(ctx context.Context) (boardColumns, error) {
		return s.columns(ctx, v, f, b.Pipeline)
	})
	if err != nil {
		return b, err
	}
	b.Columns, b.Total = cols.Columns, cols.Total
	return b, nil
}

type boardColumns struct {
	Columns []Column
	Total   int
}

// scopeKey names what v may see of leads (cache keys).
func scopeKey(v accounts.Viewer) string {
	if v.User.Role == models.RoleAdmin {
		return "admin"
	}
	teams := slices.Clone(v.TeamIDs)
	slices.Sort(teams)
	return fmt.Sprintf("%s/u%d/t%v", v.User.Role, v.User.ID, teams)
}

// candidateCols are what the board needs of a lead to total and rank it.
const candidateCols = "id, stage_id, currency, value, stage_changed_at, pipeline_id, owner_id, expected_close"

// candidates is a small set of leads (candidateCols) that holds everything v may see
// under f, when there is one cheaper to start from than the whole pipeline: an
// agent's or a supervisor's leads (owned, their teams', from conversations they see),
// or one owner's. "" when the board is best read column by column.
func candidates(v accounts.Viewer, f Filter) (string, []any) {
	ws := v.Workspace.ID
	if v.User.Role == models.RoleAdmin {
		if f.OwnerID > 0 {
			return `SELECT ` + candidateCols + ` FROM leads WHERE workspace_id = ? AND owner_id = ?`, []any{ws, f.OwnerID}
		}
		return "", nil
	}
	conv, convArgs := inbox.Visible(v, "vc")
	q := `SELECT ` + candidateCols + ` FROM leads WHERE workspace_id = ? AND owner_id = ?
		UNION SELECT ` + prefixed("lc", candidateCols) + ` FROM conversations vc JOIN leads lc ON lc.conversation_id = vc.id WHERE ` + conv
	args := append([]any{ws, v.User.ID}, convArgs...)
	if v.User.Role == models.RoleSupervisor && len(v.TeamIDs) > 0 {
		q += ` UNION SELECT ` + candidateCols + ` FROM leads WHERE workspace_id = ? AND owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id IN ?)`
		args = append(args, ws, v.TeamIDs)
	}
	return q, args
}

func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + "." + c
	}
	return strings.Join(parts, ", ")
}

// columns loads a pipeline's columns: per-stage totals, and every column's first page.
func (s *Service) columns(ctx context.Context, v accounts.Viewer, f Filter, p models.Pipeline) (boardColumns, error) {
	var b boardColumns
	cond, args := f.where(v)
	cardsQ := `SELECT x.* FROM stages s CROSS JOIN LATERAL (` + cardSQL + ` WHERE l.stage_id = s.id AND ` + cond + `
		ORDER BY l.stage_changed_at DESC, l.id DESC LIMIT ?) x WHERE s.pipeline_id = ?`
	cardsArgs := append(append([]any{}, args...), ColumnSize+1, p.ID)
	from := "leads l"
	if cand, candArgs := candidates(v, f); cand != "" {
		// Start from the viewer's own leads: total them, rank them per stage, keep
		// each column's first page.
		rest, restArgs := f.filters()
		from = "(" + cand + ") l"
		cond = "true" + rest
		args = append(append([]any{}, candArgs...), restArgs...)
		cardsQ = `WITH top AS (SELECT id FROM (SELECT l.id, row_number() OVER (PARTITION BY l.stage_id ORDER BY l.stage_changed_at DESC, l.id DESC) AS rn
			FROM ` + from + ` WHERE ` + cond + `) t WHERE t.rn <= ?)
			` + cardSQL + ` WHERE l.id IN (SELECT id FROM top) ORDER BY l.stage_changed_at DESC, l.id DESC`
		cardsArgs = append(append([]any{}, args...), ColumnSize+1)
	}
	// Weighted sums are the stage's probability times the sum: one aggregate over the
	// leads alone, no join.
	var totals []struct {
		StageID  int64
		Currency string
		N        int
		Value    float64
	}
	if err := s.ctxDB(ctx).Raw(`SELECT l.stage_id, l.currency, count(*) AS n, COALESCE(sum(l.value), 0)::float8 AS value
		FROM `+from+` WHERE `+cond+` GROUP BY l.stage_id, l.currency`, args...).Scan(&totals).Error; err != nil {
		return b, err
	}
	cols := map[int64]*Column{}
	for _, st := range p.Stages {
		b.Columns = append(b.Columns, Column{Stage: st})
	}
	for i := range b.Columns {
		cols[b.Columns[i].Stage.ID] = &b.Columns[i]
	}
	for _, t := range totals {
		c := cols[t.StageID]
		if c == nil {
			continue
		}
		c.Count += t.N
		b.Total += t.N
		w := math.Round(t.Value*float64(c.Stage.Probability)) / 100
		c.Sums = append(c.Sums, Sum{Currency: t.Currency, Value: t.Value, Weighted: w})
	}
	for _, c := range b.Columns {
		sort.Slice(c.Sums, func(i, j int) bool { return c.Sums[i].Value > c.Sums[j].Value })
	}
	var rows []cardRow
	if err := s.ctxDB(ctx).Raw(cardsQ, cardsArgs...).Scan(&rows).Error; err != nil {
		return b, err
	}
	now := s.Clock.Now()
	for _, r := range rows {
		c := cols[r.StageID]
		if c == nil {
			continue
		}
		if len(c.Cards) == ColumnSize {
			last := c.Cards[len(c.Cards)-1]
			c.Next = encodeCursor(last.StageChangedAt, last.ID)
			continue
		}
		c.Cards = append(c.Cards, r.card(c.Stage, now))
	}
	return b, nil
}

// ColumnPage is the next page of one stage's cards after cursor.
func (s *Service) ColumnPage(ctx context.Context, v accounts.Viewer, f Filter, stageID int64, cursor string) (Column, error) {
	var col Column
	if err := s.ctxDB(ctx).Where("workspace_id = ? AND id = ?", v.Workspace.ID, stageID).Take(&col.Stage).Error; err != nil {
		return col, apperr.NotFound{Msg: "Esa etapa ya no existe."}
	}
	f.PipelineID, f.StageID = col.Stage.PipelineID, stageID
	cond, args := f.where(v)
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return col, err
		}
		cond += " AND (l.stage_changed_at, l.id) < (?, ?)"
		args = append(args, at, id)
	}
	var rows []cardRow
	if err := s.ctxDB(ctx).Raw(cardSQL+" WHERE "+cond+" ORDER BY l.stage_changed_at DESC, l.id DESC LIMIT ?", append(args, ColumnSize+1)...).Scan(&rows).Error; err != nil {
		return col, err
	}
	now := s.Clock.Now()
	for i, r := range rows {
		if i == ColumnSize {
			last := col.Cards[len(col.Cards)-1]
			col.Next = encodeCursor(last.StageChangedAt, last.ID)
			break
		}
		col.Cards = append(col.Cards, r.card(col.Stage, now))
	}
	return col, nil
}

const cardSQL = `SELECT l.id, l.stage_id, l.title, l.value::float8 AS value, l.currency, l.owner_id, l.expected_close, l.stage_changed_at,
	l.conversation_id, l.lost_reason, k.name AS contact_name, k.profile_name, k.phone, k.wa_id, COALESCE(u.name, '') AS owner_name
	FROM leads l JOIN contacts k ON k.id = l.contact_id LEFT JOIN users u ON u.id = l.owner_id`

type cardRow struct {
	ID             int64
	StageID        int64
	Title          string
	Value          float64
	Currency       string
	OwnerID        *int64
	ExpectedClose  *time.Time
	StageChangedAt time.Time
	ConversationID *int64
	LostReason     string
	ContactName    string
	ProfileName    string
	Phone          string
	WaID           string `gorm:"column:wa_id"`
	OwnerName      string
}

func (r cardRow) card(st models.Stage, now time.Time) Card {
	return Card{ID: r.ID, Title: r.Title, Value: r.Value, Currency: r.Currency, OwnerID: r.OwnerID, OwnerName: r.OwnerName,
		ContactName:   models.Contact{Name: r.ContactName, ProfileName: r.ProfileName, Phone: r.Phone, WaID: r.WaID}.DisplayName(),
		ExpectedClose: r.ExpectedClose, StageChangedAt: r.StageChangedAt, ConversationID: r.ConversationID, LostReason: r.LostReason,
		DaysInStage: DaysInStage(r.StageChangedAt, now), Rotting: IsRotting(st.Kind, st.RotDays, r.StageChangedAt, now)}
}

var errBadCursor = apperr.Invalid("El enlace para cargar más no es válido. Vuelve a cargar la página.")

func encodeCursor(at time.Time, id int64) string { return inbox.EncodeKeyset(at, id) }

func decodeCursor(s string) (time.Time, int64, error) {
	at, id, ok := inbox.DecodeKeyset(s)
	if !ok {
		return time.Time{}, 0, errBadCursor
	}
	return at, id, nil
}

// ListSize is a page of the list view and the API.
const ListSize = 50

// ListPage is one page of leads, newest first.
type ListPage struct {
	Leads []LeadView
	Next  string
}

// List returns leads matching f, newest first, after cursor; limit ≤ 0 means ListSize.
func (s *Service) List(ctx context.Context, v accounts.Viewer, f Filter, cursor string, limit int) (ListPage, error) {
	var page ListPage
	if limit <= 0 || limit > 500 {
		limit = ListSize
	}
	cond, args := f.where(v)
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return page, err
		}
		cond += " AND (l.created_at, l.id) < (?, ?)"
		args = append(args, at, id)
	}
	var rows []LeadView
	if err := s.ctxDB(ctx).Raw(leadViewSelect+" WHERE "+cond+" ORDER BY l.created_at DESC, l.id DESC LIMIT ?", append(args, limit+1)...).Scan(&rows).Error; err != nil {
		return page, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.Next = encodeCursor(last.CreatedAt, last.ID)
	}
	for i := range rows {
		rows[i].fill()
	}
	page.Leads = rows
	return page, nil
}

// Each calls fn for every lead matching f, newest first, in pages (the CSV export).
func (s *Service) Each(ctx context.Context, v accounts.Viewer, f Filter, fn func(LeadView) error) error {
	cursor := ""
	for {
		page, err := s.List(ctx, v, f, cursor, 500)
		if err != nil {
			return err
		}
		for _, l := range page.Leads {
			if err := fn(l); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}
