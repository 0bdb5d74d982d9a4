package reports

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// Day is one day of the volume chart.
type Day struct {
	Day           time.Time // midnight UTC of the local date
	Conversations int
	Unanswered    int
	Closed        int
}

// StageTime is how long the scope's leads stayed in one pipeline stage.
type StageTime struct {
	Pipeline, Stage string
	Leads           int     // leads that spent time in the stage
	AvgDays         float64 // average time in the stage, days
	MaxDays         float64
}

// Opportunity is a conversation that became a lead, with the lead as it is now.
type Opportunity struct {
	ConversationID int64
	CycleID        int64
	OpenedAt       time.Time
	Contact        string
	Team           string
	LeadID         int64
	Title          string
	Stage          string
	StageKind      string
	Value          float64
	Currency       string
}

// Page is everything the /reports page shows for a query.
type Page struct {
	Report, Previous Report
	PrevFrom, PrevTo string
	Days             []Day
	Stages           []StageTime
	Opportunities    []Opportunity
	OpportunityCount int
}

// Page computes the report page: the report of the range and of the previous period of
// the same length (the comparison), the daily volume from the rollups, the time leads
// spent per stage and the conversations that became opportunities.
func (s *Service) Page(ctx context.Context, q Query) (Page, error) {
	var p Page
	sc, err := s.Resolve(ctx, q)
	if err != nil {
		return p, err
	}
	days := int(sc.End.Sub(sc.From).Hours()/24 + 0.5)
	prevFrom := sc.From.AddDate(0, 0, -days)
	pq := q
	pq.From, pq.To = prevFrom.Format("2006-01-02"), sc.From.AddDate(0, 0, -1).Format("2006-01-02")
	pq.WithCycles = false
	p.PrevFrom, p.PrevTo = pq.From, pq.To
	psc := sc
	psc.From, psc.End = prevFrom, sc.From
	// One refresh for both periods, then the reads in parallel.
	if err := s.refreshRange(ctx, sc.Workspace.ID, prevFrom, sc.End, sc.Now); err != nil {
		return p, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { p.Report, p.Previous, err = s.periods(gctx, q, sc, &psc, pq); return })
	g.Go(func() (err error) { p.Days, err = s.days(gctx, sc); return })
	g.Go(func() (err error) { p.Stages, err = s.stageTimes(gctx, sc); return })
	g.Go(func() (err error) { p.Opportunities, p.OpportunityCount, err = s.opportunities(gctx, sc, 50); return })
	return p, g.Wait()
}

// days reads the daily rollups of the scope, one entry per day of the range.
func (s *Service) days(ctx context.Context, sc Scope) ([]Day, error) {
	from := time.Date(sc.From.Year(), sc.From.Month(), sc.From.Day(), 0, 0, 0, 0, time.UTC)
	last := sc.End.AddDate(0, 0, -1)
	to := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)
	conds := "r.workspace_id = $1 AND r.day BETWEEN $2 AND $3"
	args := []any{sc.Workspace.ID, from, to}
	if sc.Only != nil {
		args = append(args, sc.Only)
		conds += " AND r.team_id = ANY($4)"
	}
	if sc.AgentID != 0 {
		args = append(args, sc.AgentID)
		conds += " AND r.assignee_id = $" + itoa(len(args))
	}
	if sc.ChannelID != 0 {
		args = append(args, sc.ChannelID)
		conds += " AND r.channel_id = $" + itoa(len(args))
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.day, sum(r.conversations)::int, sum(r.unanswered)::int, sum(r.closed)::int
		FROM report_daily r WHERE `+conds+` GROUP BY r.day`, args...)
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Day])
	if err != nil {
		return nil, err
	}
	by := map[time.Time]Day{}
	for _, d := range got {
		by[d.Day.UTC()] = d
	}
	var out []Day
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		x := by[d]
		x.Day = d
		out = append(out, x)
	}
	return out, nil
}

// stageTimes: for the leads born in the scope's cycles, the time spent in each open
// stage (from entering it to leaving it, or to now for the stage a lead is in).
func (s *Service) stageTimes(ctx context.Context, sc Scope) ([]StageTime, error) {
	where, args := sc.where()
	args = append(args, sc.Now)
	rows, err := s.Pool.Query(ctx, `WITH l AS (SELECT DISTINCT f.lead_id AS id FROM cycle_figures f WHERE `+where+` AND f.lead_id IS NOT NULL),
		e AS (SELECT e.lead_id, e.to_stage_id AS stage_id, e.at,
				COALESCE(lead(e.at) OVER (PARTITION BY e.lead_id ORDER BY e.at, e.id), ld.closed_at, $`+itoa(len(args))+`) AS left_at
			FROM lead_events e JOIN l ON l.id = e.lead_id JOIN leads ld ON ld.id = e.lead_id
			WHERE e.kind IN ('created', 'stage') AND e.to_stage_id IS NOT NULL)
		SELECT p.name, st.name, count(DISTINCT e.lead_id)::int,
			(avg(extract(epoch FROM (e.left_at - e.at))) / 86400)::float8, (max(extract(epoch FROM (e.left_at - e.at))) / 86400)::float8
		FROM e JOIN stages st ON st.id = e.stage_id JOIN pipelines p ON p.id = st.pipeline_id
		WHERE st.kind = 'open' AND e.left_at >= e.at
		GROUP BY p.position, p.id, p.name, st.position, st.id, st.name ORDER BY p.position, p.id, st.position, st.id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[StageTime])
}

// opportunities are the scope's cycles that became leads (newest first, at most limit)
// and how many there are.
func (s *Service) opportunities(ctx context.Context, sc Scope, limit int) ([]Opportunity, int, error) {
	where, args := sc.where()
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM cycle_figures f WHERE `+where+` AND f.lead_id IS NOT NULL`, args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	args = append(args, limit)
	rows, err := s.Pool.Query(ctx, `SELECT f.conversation_id, f.cycle_id, f.opened_at,
			COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), NULLIF(k.phone, ''), k.wa_id), COALESCE(t.name, ''), l.id, l.title, st.name, st.kind,
			l.value::float8, l.currency
		FROM cycle_figures f JOIN leads l ON l.id = f.lead_id JOIN stages st ON st.id = l.stage_id JOIN contacts k ON k.id = f.contact_id
			LEFT JOIN teams t ON t.id = f.team_id
		WHERE `+where+` AND f.lead_id IS NOT NULL ORDER BY f.opened_at DESC, f.cycle_id DESC LIMIT $`+itoa(len(args)), args...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Opportunity])
	return out, n, err
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
