package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// Scope is a parsed Query: the workspace, its time zone, the instants [From, End) and
// the teams the report is limited to (nil: all, cycles without a team included).
type Scope struct {
	Workspace models.Workspace
	Loc       *time.Location
	From, End time.Time
	Teams     []models.Team // every team of the workspace, by name
	Only      []int64
	AgentID   int64 // -1: an agent that does not exist (nothing matches)
	ChannelID int64
	Now       time.Time
}

// Resolve checks q and turns it into a Scope.
func (s *Service) Resolve(ctx context.Context, q Query) (Scope, error) {
	db := s.DB.WithContext(ctx)
	var sc Scope
	if err := db.First(&sc.Workspace, q.WorkspaceID).Error; err != nil {
		return sc, err
	}
	sc.Loc = sc.Workspace.Location()
	from, err1 := time.ParseInLocation("2006-01-02", q.From, sc.Loc)
	to, err2 := time.ParseInLocation("2006-01-02", q.To, sc.Loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return sc, ErrBadRange
	}
	sc.From, sc.End, sc.Now = from, to.AddDate(0, 0, 1), s.Clock.Now()
	if err := db.Where("workspace_id = ?", sc.Workspace.ID).Order("lower(name), id").Find(&sc.Teams).Error; err != nil {
		return sc, err
	}
	if q.Team != "" {
		var found *models.Team
		for i := range sc.Teams {
			if strings.EqualFold(sc.Teams[i].Name, strings.TrimSpace(q.Team)) {
				found = &sc.Teams[i]
			}
		}
		if found == nil {
			return sc, apperr.Validation{"team": fmt.Sprintf("No hay un equipo llamado %q", q.Team)}
		}
		sc.Only = []int64{found.ID}
	}
	if q.TeamIDs != nil {
		if sc.Only == nil {
			sc.Only = append([]int64{}, q.TeamIDs...)
		} else if !contains(q.TeamIDs, sc.Only[0]) {
			sc.Only = []int64{0} // a team outside the caller's: nothing
		}
	}
	if a := strings.TrimSpace(q.Agent); a != "" {
		var u models.User
		if err := db.Where("workspace_id = ? AND lower(email) = lower(?)", sc.Workspace.ID, a).Limit(1).Find(&u).Error; err != nil {
			return sc, err
		}
		if u.ID == 0 {
			return sc, apperr.Validation{"agent": fmt.Sprintf("No hay un agente con el correo %q", a)}
		}
		sc.AgentID = u.ID
	}
	sc.ChannelID = q.ChannelID
	return sc, nil
}

// where is the SQL condition on cycle_figures f for the scope, with its arguments
// starting at $1.
func (sc Scope) where() (string, []any) {
	conds := []string{"f.workspace_id = $1", "f.opened_at >= $2", "f.opened_at < $3"}
	args := []any{sc.Workspace.ID, sc.From, sc.End}
	if sc.Only != nil {
		args = append(args, sc.Only)
		conds = append(conds, fmt.Sprintf("f.team_id = ANY($%d)", len(args)))
	}
	if sc.AgentID != 0 {
		args = append(args, sc.AgentID)
		conds = append(conds, fmt.Sprintf("f.assignee_id = $%d", len(args)))
	}
	if sc.ChannelID != 0 {
		args = append(args, sc.ChannelID)
		conds = append(conds, fmt.Sprintf("f.channel_id = $%d", len(args)))
	}
	return strings.Join(conds, " AND "), args
}

// Run computes the report for q as of now: the queued cycles of the range are brought
// up to date first, then the stored figures are aggregated in SQL and the running clocks
// of open cycles are compared with now. The page, the CLI, the API and the CSV all come
// through here.
func (s *Service) Run(ctx context.Context, q Query) (Report, error) {
	sc, err := s.Resolve(ctx, q)
	if err != nil {
		return Report{}, err
	}
	if err := s.refreshRange(ctx, sc.Workspace.ID, sc.From, sc.End, sc.Now); err != nil {
		return Report{}, err
	}
	return s.aggregate(ctx, q, sc, false)
}

// aggregate reads the figures of the scope (already refreshed). overallOnly skips the
// teams, the agents and the next responses (the page's comparison period needs only
// the overall tiles); every figure it does compute comes from the same expressions.
func (s *Service) aggregate(ctx context.Context, q Query, sc Scope, overallOnly bool) (Report, error) {
	r := Report{From: q.From, To: q.To, Timezone: sc.Workspace.Timezone}
	where, args := sc.where()
	var main, next, firsts, replies, closed []byte
	// The page shows one clock at a time: the other's percentiles (the costly sorts) are
	// left out; what is computed is computed the same way.
	pc := func(col string) string {
		if (q.Clock == ClockWall && strings.HasSuffix(col, "bs")) || (q.Clock == ClockBusiness && strings.HasSuffix(col, "_s")) ||
			(q.Clock == ClockBusiness && col == "n.w") || (q.Clock == ClockWall && col == "n.b") {
			return "NULL::float8[]"
		}
		return "percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY " + col + ")"
	}
	sets, gk := "GROUPING SETS ((), (team_id))", "GROUPING(team_id) AS g, team_id AS k"
	if overallOnly {
		sets, gk = "()", "1 AS g, NULL::bigint AS k"
	}
	// Sorting for the percentiles in memory, not on disk.
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return r, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return r, err
	}
	extra := `,
			(SELECT json_agg(x) FROM (SELECT GROUPING(team_id) AS g, team_id AS k, count(n.w) AS fr_n, avg(n.w) AS fr_avg,
				` + pc("n.w") + ` AS fr_p,
				avg(n.b) AS fr_bavg, ` + pc("n.b") + ` AS fr_bp
				FROM f, unnest(f.next_s, f.next_bs) AS n(w, b) GROUP BY GROUPING SETS ((), (team_id))) x),
			(SELECT json_agg(x) FROM (SELECT first_replier_id AS k, count(first_response_s) AS fr_n, avg(first_response_s) AS fr_avg,
				` + pc("first_response_s") + ` AS fr_p,
				avg(first_response_bs) AS fr_bavg, ` + pc("first_response_bs") + ` AS fr_bp
				FROM f WHERE first_replier_id IS NOT NULL AND first_response_s IS NOT NULL GROUP BY 1) x),
			(SELECT json_agg(x) FROM (SELECT r.u AS k, sum(r.c) AS n FROM f, unnest(f.reply_users, f.reply_counts) AS r(u, c) GROUP BY 1) x),
			(SELECT json_agg(x) FROM (SELECT assignee_id AS k, count(*) AS n FROM f WHERE closed_at IS NOT NULL AND assignee_id IS NOT NULL GROUP BY 1) x)`
	if overallOnly {
		extra = `, NULL::json, NULL::json, NULL::json, NULL::json`
	}
	err = tx.QueryRow(ctx, `WITH f AS MATERIALIZED (
			SELECT f.team_id, f.closed_at, f.replies, f.first_response_s, f.first_response_bs, f.resolution_s, f.resolution_bs,
				f.next_s, f.next_bs, f.fcr, f.converted, f.window_lost, f.first_replier_id, f.assignee_id, f.reply_users, f.reply_counts,
				p.id IS NOT NULL AS has_policy,
				(COALESCE(CASE WHEN p.business_hours THEN f.sla_first_bs ELSE f.sla_first_s END > p.first_response_seconds, false)
				 OR COALESCE(CASE WHEN p.business_hours THEN f.sla_next_bs ELSE f.sla_next_s END > p.next_response_seconds, false)
				 OR COALESCE(CASE WHEN p.business_hours THEN f.sla_resolution_bs ELSE f.sla_resolution_s END > p.resolution_seconds, false)) AS breached
			FROM cycle_figures f LEFT JOIN teams t ON t.id = f.team_id LEFT JOIN sla_policies p ON p.id = t.sla_policy_id
			WHERE `+where+`)
		SELECT
			(SELECT json_agg(x) FROM (SELECT `+gk+`, count(*) AS n, count(closed_at) AS closed,
				count(*) FILTER (WHERE replies = 0) AS unanswered,
				count(first_response_s) AS fr_n, avg(first_response_s) AS fr_avg,
				`+pc("first_response_s")+` AS fr_p,
				avg(first_response_bs) AS fr_bavg, `+pc("first_response_bs")+` AS fr_bp,
				count(resolution_s) AS rs_n, avg(resolution_s) AS rs_avg,
				`+pc("resolution_s")+` AS rs_p,
				avg(resolution_bs) AS rs_bavg, `+pc("resolution_bs")+` AS rs_bp,
				count(*) FILTER (WHERE fcr) AS fcr, count(*) FILTER (WHERE converted) AS converted,
				count(*) FILTER (WHERE closed_at IS NOT NULL AND has_policy) AS evaluated,
				count(*) FILTER (WHERE closed_at IS NOT NULL AND has_policy AND NOT breached) AS hit,
				count(*) FILTER (WHERE closed_at IS NOT NULL AND window_lost) AS window_lost
				FROM f GROUP BY `+sets+`) x)`+extra,
		args...).Scan(&main, &next, &firsts, &replies, &closed)
	if err != nil {
		return r, err
	}
	var groups, nexts, firstRows, replyRows, closedRows []aggRow
	for _, p := range []struct {
		b []byte
		v *[]aggRow
	}{{main, &groups}, {next, &nexts}, {firsts, &firstRows}, {replies, &replyRows}, {closed, &closedRows}} {
		if len(p.b) > 0 && string(p.b) != "null" {
			if err := json.Unmarshal(p.b, p.v); err != nil {
				return r, err
			}
		}
	}
	figs := map[int64]*Figures{}      // by team (0: the overall)
	pick := func(g aggRow) *Figures { // the overall row is GROUPING = 1
		key := int64(-1)
		if g.G == 1 {
			key = 0
		} else if g.K != nil {
			key = *g.K
		}
		if figs[key] == nil {
			figs[key] = &Figures{FirstResponse: stat(nil, nil), NextResponse: stat(nil, nil), Resolution: stat(nil, nil)}
		}
		return figs[key]
	}
	pick(aggRow{G: 1})
	for _, g := range groups {
		f := pick(g)
		f.Conversations, f.Closed, f.Unanswered = g.N, g.Closed, g.Unanswered
		f.FirstResponse = g.stat(g.FrN, g.FrAvg, g.FrP, g.FrBAvg, g.FrBP)
		f.Resolution = g.stat(g.RsN, g.RsAvg, g.RsP, g.RsBAvg, g.RsBP)
		f.FCRRate, f.ConversionRate = rate(g.FCR, g.N), rate(g.Converted, g.N)
		f.SLA.Evaluated, f.SLA.Hit, f.WindowLost = g.Evaluated, g.Hit, g.WindowLost
	}
	for _, g := range nexts {
		pick(g).NextResponse = g.stat(g.FrN, g.FrAvg, g.FrP, g.FrBAvg, g.FrBP)
	}

	// Open cycles: their running clocks against now.
	policies, cals, err := s.teamRules(ctx, sc.Teams)
	if err != nil {
		return r, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT f.team_id, f.opened_at, f.closed_at, f.sla_first_s, f.sla_first_bs, f.sla_next_s, f.sla_next_bs,
			f.sla_resolution_s, f.sla_resolution_bs, f.open_wait_since, f.pending_s, f.pending_bs, f.pending_since, f.waiting_since, f.window_lost
		FROM cycle_figures f WHERE `+where+` AND f.closed_at IS NULL`, args...)
	if err != nil {
		return r, err
	}
	open, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openRow])
	if err != nil {
		return r, err
	}
	for _, o := range open {
		var p *models.SLAPolicy
		var cal *calendar.Calendar
		if o.TeamID != nil {
			p, cal = policies[*o.TeamID], cals[*o.TeamID]
		}
		breached := p != nil && len(o.clocks.breaches(p, cal, sc.Now)) > 0
		lost := o.clocks.windowLost(sc.Now)
		for _, key := range []int64{0, teamKey(o.TeamID)} {
			if f := figs[key]; f != nil && (key == 0 || o.TeamID != nil) {
				if breached {
					f.SLA.Evaluated++
				}
				if lost {
					f.WindowLost++
				}
			}
		}
	}
	finish := func(f *Figures) Figures {
		f.SLA.HitRate = rate(f.SLA.Hit, f.SLA.Evaluated)
		return *f
	}
	r.Overall = finish(figs[0])
	r.Teams = []TeamRow{}
	for _, t := range sc.Teams {
		if sc.Only != nil && !contains(sc.Only, t.ID) {
			continue
		}
		f := figs[t.ID]
		if f == nil {
			f = &Figures{FirstResponse: stat(nil, nil), NextResponse: stat(nil, nil), Resolution: stat(nil, nil)}
		}
		r.Teams = append(r.Teams, TeamRow{Team: t.Name, Figures: finish(f)})
	}

	// Agents.
	var users []models.User
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", sc.Workspace.ID).Order("lower(email), id").Find(&users).Error; err != nil {
		return r, err
	}
	byUser := func(rows []aggRow) map[int64]aggRow {
		m := map[int64]aggRow{}
		for _, x := range rows {
			if x.K != nil {
				m[*x.K] = x
			}
		}
		return m
	}
	fm, rm, cm := byUser(firstRows), byUser(replyRows), byUser(closedRows)
	r.Agents = []AgentRow{}
	for _, u := range users {
		fr := fm[u.ID]
		row := AgentRow{Agent: u.Email, Replies: rm[u.ID].N, FirstResponses: fr.FrN, Closed: cm[u.ID].N,
			FirstResponse: fr.stat(fr.FrN, fr.FrAvg, fr.FrP, fr.FrBAvg, fr.FrBP)}
		if row.Replies == 0 && row.FirstResponses == 0 && row.Closed == 0 && (!u.Active || u.Role == models.RoleAdmin) {
			continue // an admin or a former user with nothing in this period
		}
		r.Agents = append(r.Agents, row)
	}
	if q.WithCycles {
		r.Cycles, err = s.cycles(ctx, sc, policies, cals)
	}
	return r, err
}

func teamKey(id *int64) int64 {
	if id == nil {
		return -1
	}
	return *id
}

// aggRow is one group of the aggregate query.
type aggRow struct {
	G          int        `json:"g"`
	K          *int64     `json:"k"`
	N          int        `json:"n"`
	Closed     int        `json:"closed"`
	Unanswered int        `json:"unanswered"`
	FrN        int        `json:"fr_n"`
	FrAvg      *float64   `json:"fr_avg"`
	FrP        []*float64 `json:"fr_p"`
	FrBAvg     *float64   `json:"fr_bavg"`
	FrBP       []*float64 `json:"fr_bp"`
	RsN        int        `json:"rs_n"`
	RsAvg      *float64   `json:"rs_avg"`
	RsP        []*float64 `json:"rs_p"`
	RsBAvg     *float64   `json:"rs_bavg"`
	RsBP       []*float64 `json:"rs_bp"`
	FCR        int        `json:"fcr"`
	Converted  int        `json:"converted"`
	Evaluated  int        `json:"evaluated"`
	Hit        int        `json:"hit"`
	WindowLost int        `json:"window_lost"`
}

func (aggRow) stat(n int, a *float64, p []*float64, ba *float64, bp []*float64) Stat {
	r := func(x *float64) *float64 {
		if x == nil {
			return nil
		}
		v := round(*x)
		return &v
	}
	at := func(p []*float64, i int) *float64 {
		if len(p) <= i {
			return nil
		}
		return r(p[i])
	}
	return Stat{Count: n, Avg: r(a), Median: at(p, 0), P90: at(p, 1),
		Business: Spread{Avg: r(ba), Median: at(bp, 0), P90: at(bp, 1)}}
}

// clocks are the SLA measures and running clocks of a cycle (cycle_figures).
type clocks struct {
	OpenedAt                        time.Time
	ClosedAt                        *time.Time
	SLAFirstS, SLAFirstBS           *float64
	SLANextS, SLANextBS             *float64
	SLAResolutionS, SLAResolutionBS *float64
	OpenWaitSince                   *time.Time
	PendingS, PendingBS             float64
	PendingSince, WaitingSince      *time.Time
	WindowLost                      bool
}

type openRow struct {
	TeamID *int64
	clocks
}

// breaches are the targets of p the cycle missed as of now (metrics.md "SLA"): a clock
// still running (no reply yet, a wait not answered, an open cycle's resolution) is
// measured to now.
func (k clocks) breaches(p *models.SLAPolicy, cal *calendar.Calendar, now time.Time) []string {
	if p == nil {
		return nil
	}
	measure := func(a, b time.Time) float64 {
		if !b.After(a) {
			return 0
		}
		if p.BusinessHours && cal != nil {
			return cal.Business(a, b).Seconds()
		}
		return b.Sub(a).Seconds()
	}
	pick := func(w, b *float64) *float64 {
		if p.BusinessHours {
			return b
		}
		return w
	}
	var out []string
	over := func(v float64, target *int) bool { return target != nil && v > float64(*target) }
	if p.FirstResponseSeconds != nil {
		v := pick(k.SLAFirstS, k.SLAFirstBS)
		var x float64
		if v != nil {
			x = *v
		} else {
			x = measure(k.OpenedAt, now)
		}
		if over(x, p.FirstResponseSeconds) {
			out = append(out, "first_response")
		}
	}
	if p.NextResponseSeconds != nil {
		x := 0.0
		if v := pick(k.SLANextS, k.SLANextBS); v != nil {
			x = *v
		}
		if k.ClosedAt == nil && k.OpenWaitSince != nil {
			x = max(x, measure(*k.OpenWaitSince, now))
		}
		if over(x, p.NextResponseSeconds) {
			out = append(out, "next_response")
		}
	}
	if p.ResolutionSeconds != nil {
		var x float64
		if v := pick(k.SLAResolutionS, k.SLAResolutionBS); v != nil && k.ClosedAt != nil {
			x = *v
		} else {
			x = measure(k.OpenedAt, now)
			if p.BusinessHours {
				x -= k.PendingBS
			} else {
				x -= k.PendingS
			}
			if k.PendingSince != nil {
				x -= measure(*k.PendingSince, now)
			}
		}
		if over(x, p.ResolutionSeconds) {
			out = append(out, "resolution")
		}
	}
	return out
}

// windowLost: the 24-hour window closed with the customer waiting (as of now while open).
func (k clocks) windowLost(now time.Time) bool {
	if k.WindowLost {
		return true
	}
	return k.ClosedAt == nil && k.WaitingSince != nil && now.Sub(*k.WaitingSince) > 24*time.Hour
}

// teamRules are each team's SLA policy and business calendar.
func (s *Service) teamRules(ctx context.Context, teams []models.Team) (map[int64]*models.SLAPolicy, map[int64]*calendar.Calendar, error) {
	cals, err := s.calendars(ctx, teams)
	if err != nil {
		return nil, nil, err
	}
	pols := map[int64]*models.SLAPolicy{}
	var ids []int64
	for _, t := range teams {
		if t.SLAPolicyID != nil {
			ids = append(ids, *t.SLAPolicyID)
		}
	}
	if len(ids) == 0 {
		return pols, cals, nil
	}
	var ps []models.SLAPolicy
	if err := s.DB.WithContext(ctx).Where("id IN ?", ids).Find(&ps).Error; err != nil {
		return nil, nil, err
	}
	byID := map[int64]*models.SLAPolicy{}
	for i := range ps {
		byID[ps[i].ID] = &ps[i]
	}
	for _, t := range teams {
		if t.SLAPolicyID != nil && byID[*t.SLAPolicyID] != nil {
			pols[t.ID] = byID[*t.SLAPolicyID]
		}
	}
	return pols, cals, nil
}

// cycles are the scope's cycles one by one (the CSV), oldest first.
func (s *Service) cycles(ctx context.Context, sc Scope, pols map[int64]*models.SLAPolicy, cals map[int64]*calendar.Calendar) ([]Cycle, error) {
	where, args := sc.where()
	type row struct {
		ID, ConversationID     int64
		Contact                string
		TeamID, AssigneeID     *int64
		Team, Assignee         *string
		FirstReplyAt           *time.Time
		FirstReplierID         *int64
		FR, FRB, RS, RSB       *float64
		NextS, NextBS          []float64
		ReplyUsers             []int64
		ReplyCounts            []int32
		Transferred, FCR, Conv bool
		clocks
	}
	rows, err := s.Pool.Query(ctx, `SELECT f.cycle_id, f.conversation_id, COALESCE(NULLIF(k.phone, ''), k.wa_id), f.team_id, f.assignee_id,
			t.name, u.email, f.first_reply_at, f.first_replier_id, f.first_response_s, f.first_response_bs, f.resolution_s, f.resolution_bs,
			f.next_s, f.next_bs, f.reply_users, f.reply_counts, f.transferred, f.fcr, f.converted,
			f.opened_at, f.closed_at, f.sla_first_s, f.sla_first_bs, f.sla_next_s, f.sla_next_bs,
			f.sla_resolution_s, f.sla_resolution_bs, f.open_wait_since, f.pending_s, f.pending_bs, f.pending_since, f.waiting_since, f.window_lost
		FROM cycle_figures f JOIN contacts k ON k.id = f.contact_id LEFT JOIN teams t ON t.id = f.team_id LEFT JOIN users u ON u.id = f.assignee_id
		WHERE `+where+` ORDER BY f.opened_at, f.cycle_id`, args...)
	if err != nil {
		return nil, err
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, err
	}
	out := make([]Cycle, len(rs))
	for i, x := range rs {
		c := Cycle{ID: x.ID, ConversationID: x.ConversationID, Contact: x.Contact, TeamID: x.TeamID, AssigneeID: x.AssigneeID,
			OpenedAt: x.OpenedAt, FirstReplyAt: x.FirstReplyAt, ClosedAt: x.ClosedAt, FirstReplierID: x.FirstReplierID,
			FirstResponse: x.FR, FirstResponseBusiness: x.FRB, Resolution: x.RS, ResolutionBusiness: x.RSB,
			NextResponses: x.NextS, NextResponsesBusiness: x.NextBS, Replies: map[int64]int{},
			Transferred: x.Transferred, FCR: x.FCR, Converted: x.Conv, WindowLost: x.clocks.windowLost(sc.Now)}
		if x.Team != nil {
			c.Team = *x.Team
		}
		if x.Assignee != nil {
			c.Assignee = *x.Assignee
		}
		for j, u := range x.ReplyUsers {
			c.Replies[u] = int(x.ReplyCounts[j])
		}
		if x.TeamID != nil {
			c.Breaches = x.clocks.breaches(pols[*x.TeamID], cals[*x.TeamID], sc.Now)
		}
		out[i] = c
	}
	return out, nil
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (s *Service) calendars(ctx context.Context, teams []models.Team) (map[int64]*calendar.Calendar, error) {
	out := map[int64]*calendar.Calendar{}
	for _, t := range teams {
		if t.CalendarID == nil {
			continue
		}
		var m models.Calendar
		if err := s.DB.WithContext(ctx).Where("id = ? AND workspace_id = ?", *t.CalendarID, t.WorkspaceID).Limit(1).Find(&m).Error; err != nil {
			return nil, err
		}
		if m.ID == 0 {
			continue
		}
		c, err := calendar.FromModel(m)
		if err != nil {
			return nil, err
		}
		out[t.ID] = &c
	}
	return out, nil
}
