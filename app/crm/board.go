package crm

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
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
	var b strings.Builder
	b.WriteString(cond)
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
	cond, args := f.where(v)
	var totals []struct {
		StageID  int64
		Currency string
		N        int
		Value    float64
		Weighted float64
	}
	if err := s.ctxDB(ctx).Raw(`SELECT l.stage_id, l.currency, count(*) AS n, COALESCE(sum(l.value), 0)::float8 AS value,
		COALESCE(sum(l.value * s.probability / 100.0), 0)::float8 AS weighted
		FROM leads l JOIN stages s ON s.id = l.stage_id WHERE `+cond+` GROUP BY l.stage_id, l.currency`, args...).Scan(&totals).Error; err != nil {
		return b, err
	}
	cols := map[int64]*Column{}
	for _, st := range b.Pipeline.Stages {
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
		c.Sums = append(c.Sums, Sum{Currency: t.Currency, Value: t.Value, Weighted: t.Weighted})
	}
	for _, c := range b.Columns {
		sort.Slice(c.Sums, func(i, j int) bool { return c.Sums[i].Value > c.Sums[j].Value })
	}
	var rows []cardRow
	if err := s.ctxDB(ctx).Raw(`SELECT x.* FROM stages s CROSS JOIN LATERAL (`+cardSQL+` WHERE l.stage_id = s.id AND `+cond+`
		ORDER BY l.stage_changed_at DESC, l.id DESC LIMIT ?) x WHERE s.pipeline_id = ?`,
		append(args, ColumnSize+1, b.Pipeline.ID)...).Scan(&rows).Error; err != nil {
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

func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", at.UnixMicro(), id))
}

func decodeCursor(s string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, 0, errBadCursor
	}
	at, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, errBadCursor
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return time.Time{}, 0, errBadCursor
	}
	return time.UnixMicro(us).UTC(), n, nil
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
