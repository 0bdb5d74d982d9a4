package reports

import (
	"context"
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
// up to date first, then the stored figures are read once and aggregated in Go (fast.go) and the running clocks
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
	return s.aggregate(ctx, q, sc)
}

// aggregate reads the figures of the scope (already refreshed) and aggregates them in
// one pass (fast.go).
func (s *Service) aggregate(ctx context.Context, q Query, sc Scope) (Report, error) {
	r, _, err := s.periods(ctx, q, sc, nil, Query{})
	return r, err
}

func teamKey(id *int64) int64 {
	if id == nil {
		return -1
	}
	return *id
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

// calendars are the business calendars of the teams that have one (one query).
func (s *Service) calendars(ctx context.Context, teams []models.Team) (map[int64]*calendar.Calendar, error) {
	out := map[int64]*calendar.Calendar{}
	var ids []int64
	for _, t := range teams {
		if t.CalendarID != nil {
			ids = append(ids, *t.CalendarID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var ms []models.Calendar
	if err := s.DB.WithContext(ctx).Where("id IN ?", ids).Find(&ms).Error; err != nil {
		return nil, err
	}
	byID := map[int64]models.Calendar{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	for _, t := range teams {
		if t.CalendarID == nil {
			continue
		}
		m, ok := byID[*t.CalendarID]
		if !ok || m.WorkspaceID != t.WorkspaceID {
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
