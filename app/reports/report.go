// Package reports computes the figures of metrics.md — per cycle, then aggregated —
// from what the conversation engine recorded: cycles, status events and messages. One
// definition serves `atiende report`, the API and (later) the reports page.
package reports

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/models"
)

// Service computes reports.
type Service struct {
	DB    *gorm.DB
	Clock clock.Clock
}

// New returns a Service.
func New(db *gorm.DB, c clock.Clock) *Service { return &Service{DB: db, Clock: c} }

// Query is what a report covers: the cycles that belong to the days From..To
// (inclusive, in the workspace's time zone), optionally one team's.
type Query struct {
	WorkspaceID int64
	From, To    string // YYYY-MM-DD
	Team        string // a team's name ("" for all)
	// TeamIDs, when not nil, limits the report to those teams (a supervisor's); cycles
	// without a team are left out too.
	TeamIDs []int64
}

// Cycle is one cycle's figures.
type Cycle struct {
	ID             int64
	ConversationID int64
	Contact        string
	TeamID         *int64
	Team           string
	AssigneeID     *int64
	Assignee       string // email of the assignee at the close (or now)
	OpenedAt       time.Time
	FirstReplyAt   *time.Time
	ClosedAt       *time.Time
	FirstReplierID *int64

	FirstResponse, FirstResponseBusiness *float64 // seconds
	NextResponses, NextResponsesBusiness []float64
	Resolution, ResolutionBusiness       *float64
	Replies                              map[int64]int // agent -> public replies in the cycle
	Transferred                          bool
	FCR                                  bool
	Converted                            bool
	Breaches                             []string // SLA targets missed (none until SLA policies exist)
}

// Report is the metrics.md JSON.
type Report struct {
	From     string     `json:"from"`
	To       string     `json:"to"`
	Timezone string     `json:"timezone"`
	Overall  Figures    `json:"overall"`
	Teams    []TeamRow  `json:"teams"`
	Agents   []AgentRow `json:"agents"`
	Cycles   []Cycle    `json:"-"`
}

// Figures are the aggregates of a set of cycles.
type Figures struct {
	Conversations  int      `json:"conversations"`
	Closed         int      `json:"closed"`
	Unanswered     int      `json:"unanswered"`
	FirstResponse  Stat     `json:"first_response"`
	NextResponse   Stat     `json:"next_response"`
	Resolution     Stat     `json:"resolution"`
	FCRRate        *float64 `json:"fcr_rate"`
	ConversionRate *float64 `json:"conversion_rate"`
	SLA            SLA      `json:"sla"`
}

// Stat is count, average, median and p90 of durations in seconds, wall and business.
type Stat struct {
	Count    int      `json:"count"`
	Avg      *float64 `json:"avg_seconds"`
	Median   *float64 `json:"median_seconds"`
	P90      *float64 `json:"p90_seconds"`
	Business Spread   `json:"business"`
}

// Spread is average, median and p90.
type Spread struct {
	Avg    *float64 `json:"avg_seconds"`
	Median *float64 `json:"median_seconds"`
	P90    *float64 `json:"p90_seconds"`
}

// SLA is how many cycles were evaluated against their team's policy and met it.
type SLA struct {
	Evaluated int      `json:"evaluated"`
	Hit       int      `json:"hit"`
	HitRate   *float64 `json:"hit_rate"`
}

// TeamRow is a team's figures.
type TeamRow struct {
	Team string `json:"team"`
	Figures
}

// AgentRow is an agent's figures.
type AgentRow struct {
	Agent          string `json:"agent"`
	Replies        int    `json:"replies"`
	FirstResponses int    `json:"first_responses"`
	FirstResponse  Stat   `json:"first_response"`
	Closed         int    `json:"closed"`
}

// ErrBadRange: from/to are not dates, or from is after to.
var ErrBadRange = apperr.Validation{"from": "Las fechas van como AAAA-MM-DD y «desde» no puede ser posterior a «hasta»"}

// FCRWindow is how soon a new cycle undoes first-contact resolution.
const FCRWindow = 24 * time.Hour

// Run computes the report for q as of now.
func (s *Service) Run(ctx context.Context, q Query) (Report, error) {
	db := s.DB.WithContext(ctx)
	var ws models.Workspace
	if err := db.First(&ws, q.WorkspaceID).Error; err != nil {
		return Report{}, err
	}
	loc := ws.Location()
	from, err1 := time.ParseInLocation("2006-01-02", q.From, loc)
	to, err2 := time.ParseInLocation("2006-01-02", q.To, loc)
	if err1 != nil || err2 != nil || to.Before(from) {
		return Report{}, ErrBadRange
	}
	end := to.AddDate(0, 0, 1)
	now := s.Clock.Now()
	r := Report{From: q.From, To: q.To, Timezone: ws.Timezone}

	var teams []models.Team
	if err := db.Where("workspace_id = ?", ws.ID).Order("lower(name), id").Find(&teams).Error; err != nil {
		return r, err
	}
	teamName := map[int64]string{}
	for _, t := range teams {
		teamName[t.ID] = t.Name
	}
	var only []int64
	if q.Team != "" {
		var found *models.Team
		for i := range teams {
			if strings.EqualFold(teams[i].Name, strings.TrimSpace(q.Team)) {
				found = &teams[i]
			}
		}
		if found == nil {
			return r, apperr.Validation{"team": fmt.Sprintf("No hay un equipo llamado %q", q.Team)}
		}
		only = []int64{found.ID}
	}
	if q.TeamIDs != nil {
		if only == nil {
			only = q.TeamIDs
		} else if !contains(q.TeamIDs, only[0]) {
			only = []int64{0} // a team outside the caller's: nothing
		}
	}
	cals, err := s.calendars(ctx, teams)
	if err != nil {
		return r, err
	}

	cycles, err := s.loadCycles(ctx, ws.ID, from, end, now, only, teamName)
	if err != nil {
		return r, err
	}
	if err := s.figures(ctx, ws.ID, cycles, cals, now); err != nil {
		return r, err
	}
	r.Cycles = cycles

	r.Overall = aggregate(cycles)
	for _, t := range teams {
		if only != nil && !contains(only, t.ID) {
			continue
		}
		var mine []Cycle
		for _, c := range cycles {
			if c.TeamID != nil && *c.TeamID == t.ID {
				mine = append(mine, c)
			}
		}
		r.Teams = append(r.Teams, TeamRow{Team: t.Name, Figures: aggregate(mine)})
	}
	if r.Teams == nil {
		r.Teams = []TeamRow{}
	}
	r.Agents, err = s.agents(ctx, ws.ID, cycles)
	return r, err
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

func (s *Service) loadCycles(ctx context.Context, wsID int64, from, end, now time.Time, only []int64, teamName map[int64]string) ([]Cycle, error) {
	var rows []struct {
		ID             int64
		ConversationID int64
		OpenedAt       time.Time
		ClosedAt       *time.Time
		TeamID         *int64
		AssigneeID     *int64
		FirstReplyAt   *time.Time
		FirstReplyUser *int64
		Transferred    bool
		WaID           string
		Phone          string
		Assignee       *string
	}
	q := `SELECT y.id, y.conversation_id, y.opened_at, y.closed_at,
			CASE WHEN y.closed_at IS NULL THEN c.team_id ELSE y.team_id END AS team_id,
			CASE WHEN y.closed_at IS NULL THEN c.assignee_id ELSE y.assignee_id END AS assignee_id,
			y.first_reply_at, y.first_reply_user_id AS first_reply_user, y.transferred, k.wa_id, k.phone,
			(SELECT u.email FROM users u WHERE u.id = CASE WHEN y.closed_at IS NULL THEN c.assignee_id ELSE y.assignee_id END) AS assignee
		FROM cycles y JOIN conversations c ON c.id = y.conversation_id JOIN contacts k ON k.id = c.contact_id
		WHERE y.workspace_id = ? AND y.opened_at >= ? AND y.opened_at < ?`
	args := []any{wsID, from, end}
	if only != nil {
		q += ` AND (CASE WHEN y.closed_at IS NULL THEN c.team_id ELSE y.team_id END) IN ?`
		args = append(args, only)
	}
	q += ` ORDER BY y.opened_at, y.id`
	if err := s.DB.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Cycle, len(rows))
	for i, r := range rows {
		c := Cycle{ID: r.ID, ConversationID: r.ConversationID, OpenedAt: r.OpenedAt, ClosedAt: r.ClosedAt, TeamID: r.TeamID,
			AssigneeID: r.AssigneeID, FirstReplyAt: r.FirstReplyAt, FirstReplierID: r.FirstReplyUser, Transferred: r.Transferred,
			Contact: r.Phone, Replies: map[int64]int{}}
		if c.Contact == "" {
			c.Contact = r.WaID
		}
		if r.TeamID != nil {
			c.Team = teamName[*r.TeamID]
		}
		if r.Assignee != nil {
			c.Assignee = *r.Assignee
		}
		out[i] = c
	}
	return out, nil
}

// figures computes each cycle's figures from its messages and status events.
func (s *Service) figures(ctx context.Context, wsID int64, cycles []Cycle, cals map[int64]*calendar.Calendar, now time.Time) error {
	if len(cycles) == 0 {
		return nil
	}
	ids := make([]int64, len(cycles))
	byID := map[int64]*Cycle{}
	for i := range cycles {
		ids[i] = cycles[i].ID
		byID[cycles[i].ID] = &cycles[i]
	}
	db := s.DB.WithContext(ctx)
	// Agent replies: public outbound messages written by a user (no notes, activity
	// lines or automatic messages).
	var replies []struct {
		CycleID      int64
		SenderUserID int64
		CreatedAt    time.Time
	}
	if err := db.Raw(`SELECT cycle_id, sender_user_id, created_at FROM messages
		WHERE workspace_id = ? AND cycle_id IN ? AND direction = 'out' AND sender_type = 'agent' AND NOT private AND NOT automatic
			AND kind NOT IN ('note', 'activity') AND sender_user_id IS NOT NULL
		ORDER BY created_at, id`, wsID, ids).Scan(&replies).Error; err != nil {
		return err
	}
	replyTimes := map[int64][]time.Time{}
	for _, m := range replies {
		c := byID[m.CycleID]
		c.Replies[m.SenderUserID]++
		replyTimes[m.CycleID] = append(replyTimes[m.CycleID], m.CreatedAt)
	}
	// Waits: the customer messages that moved a pending card (the status event by the
	// customer) after the cycle's first agent reply.
	var moves []struct {
		CycleID int64
		At      time.Time
	}
	if err := db.Raw(`SELECT cycle_id, at FROM conversation_events
		WHERE workspace_id = ? AND cycle_id IN ? AND kind = 'status' AND from_status = 'pending'
			AND (actor_kind = 'contact' OR (actor_kind = '' AND actor_id IS NULL))
		ORDER BY at, id`, wsID, ids).Scan(&moves).Error; err != nil {
		return err
	}
	waits := map[int64][]time.Time{}
	for _, mv := range moves {
		if c := byID[mv.CycleID]; c.FirstReplyAt != nil && !mv.At.Before(*c.FirstReplyAt) {
			waits[mv.CycleID] = append(waits[mv.CycleID], mv.At)
		}
	}
	// The next cycle of each conversation, for first-contact resolution.
	var nexts []struct {
		ID     int64
		NextAt *time.Time
	}
	if err := db.Raw(`SELECT y.id, (SELECT min(n.opened_at) FROM cycles n WHERE n.conversation_id = y.conversation_id
			AND (n.opened_at, n.id) > (y.opened_at, y.id)) AS next_at
		FROM cycles y WHERE y.id IN ?`, ids).Scan(&nexts).Error; err != nil {
		return err
	}
	nextAt := map[int64]*time.Time{}
	for _, n := range nexts {
		nextAt[n.ID] = n.NextAt
	}
	converted, err := s.conversions(ctx, wsID, ids, now)
	if err != nil {
		return err
	}
	for i := range cycles {
		c := &cycles[i]
		business := func(a, b time.Time) float64 {
			if c.TeamID != nil && cals[*c.TeamID] != nil {
				return cals[*c.TeamID].Business(a, b).Seconds()
			}
			return b.Sub(a).Seconds()
		}
		if c.FirstReplyAt != nil {
			w, b := c.FirstReplyAt.Sub(c.OpenedAt).Seconds(), business(c.OpenedAt, *c.FirstReplyAt)
			c.FirstResponse, c.FirstResponseBusiness = &w, &b
		}
		// Each wait ends at the next agent reply; one still open at the close (or now) is left out.
		rt := replyTimes[c.ID]
		for _, start := range waits[c.ID] {
			j := sort.Search(len(rt), func(j int) bool { return !rt[j].Before(start) })
			if j == len(rt) || (c.ClosedAt != nil && rt[j].After(*c.ClosedAt)) {
				continue
			}
			c.NextResponses = append(c.NextResponses, rt[j].Sub(start).Seconds())
			c.NextResponsesBusiness = append(c.NextResponsesBusiness, business(start, rt[j]))
		}
		if c.ClosedAt != nil {
			w, b := c.ClosedAt.Sub(c.OpenedAt).Seconds(), business(c.OpenedAt, *c.ClosedAt)
			c.Resolution, c.ResolutionBusiness = &w, &b
			// Resolved on first contact: one agent answered, no transfer, and the
			// conversation did not come back within 24 hours (as known now).
			if len(c.Replies) == 1 && !c.Transferred {
				n := nextAt[c.ID]
				c.FCR = n == nil || n.Sub(*c.ClosedAt) > FCRWindow
			}
		}
		c.Converted = converted[c.ID]
	}
	return nil
}

// conversions reports the cycles during which a lead was created for their contact
// (between the opening message and the close, or now). Without a leads table (the
// CRM not installed) nothing is converted.
func (s *Service) conversions(ctx context.Context, wsID int64, ids []int64, now time.Time) (map[int64]bool, error) {
	out := map[int64]bool{}
	var has bool
	if err := s.DB.WithContext(ctx).Raw(`SELECT to_regclass('leads') IS NOT NULL`).Row().Scan(&has); err != nil || !has {
		return out, err
	}
	var hit []int64
	err := s.DB.WithContext(ctx).Raw(`SELECT y.id FROM cycles y JOIN conversations c ON c.id = y.conversation_id
		WHERE y.id IN ? AND EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = ? AND l.contact_id = c.contact_id
			AND l.created_at >= y.opened_at AND l.created_at <= COALESCE(y.closed_at, ?))`, ids, wsID, now).Scan(&hit).Error
	for _, id := range hit {
		out[id] = true
	}
	return out, err
}

func aggregate(cycles []Cycle) Figures {
	f := Figures{Conversations: len(cycles)}
	var fr, frb, nr, nrb, rs, rsb []float64
	fcr, conv := 0, 0
	for _, c := range cycles {
		if c.ClosedAt != nil {
			f.Closed++
		}
		if len(c.Replies) == 0 {
			f.Unanswered++
		}
		if c.FirstResponse != nil {
			fr, frb = append(fr, *c.FirstResponse), append(frb, *c.FirstResponseBusiness)
		}
		nr, nrb = append(nr, c.NextResponses...), append(nrb, c.NextResponsesBusiness...)
		if c.Resolution != nil {
			rs, rsb = append(rs, *c.Resolution), append(rsb, *c.ResolutionBusiness)
		}
		if c.FCR {
			fcr++
		}
		if c.Converted {
			conv++
		}
	}
	f.FirstResponse, f.NextResponse, f.Resolution = stat(fr, frb), stat(nr, nrb), stat(rs, rsb)
	f.FCRRate, f.ConversionRate = rate(fcr, f.Conversations), rate(conv, f.Conversations)
	return f
}

func rate(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := float64(n) / float64(of)
	return &r
}

func stat(wall, business []float64) Stat {
	s := Stat{Count: len(wall)}
	s.Avg, s.Median, s.P90 = avg(wall), percentile(wall, 0.5), percentile(wall, 0.9)
	s.Business = Spread{Avg: avg(business), Median: percentile(business, 0.5), P90: percentile(business, 0.9)}
	return s
}

func avg(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	t := 0.0
	for _, x := range v {
		t += x
	}
	a := round(t / float64(len(v)))
	return &a
}

// percentile is PostgreSQL's percentile_cont: linear interpolation between the two
// nearest ranks.
func percentile(v []float64, p float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := p * float64(len(s)-1)
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	r := s[int(lo)] + (pos-lo)*(s[int(hi)]-s[int(lo)])
	r = round(r)
	return &r
}

// round keeps three decimals: milliseconds, more than any clock here measures.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

func (s *Service) agents(ctx context.Context, wsID int64, cycles []Cycle) ([]AgentRow, error) {
	var users []models.User
	if err := s.DB.WithContext(ctx).Where("workspace_id = ?", wsID).Order("lower(email), id").Find(&users).Error; err != nil {
		return nil, err
	}
	out := []AgentRow{}
	for _, u := range users {
		row := AgentRow{Agent: u.Email}
		var fr, frb []float64
		for _, c := range cycles {
			row.Replies += c.Replies[u.ID]
			if c.FirstReplierID != nil && *c.FirstReplierID == u.ID {
				row.FirstResponses++
				fr, frb = append(fr, *c.FirstResponse), append(frb, *c.FirstResponseBusiness)
			}
			if c.ClosedAt != nil && c.AssigneeID != nil && *c.AssigneeID == u.ID {
				row.Closed++
			}
		}
		row.FirstResponse = stat(fr, frb)
		if row.Replies == 0 && row.FirstResponses == 0 && row.Closed == 0 && (!u.Active || u.Role == models.RoleAdmin) {
			continue // an admin or a former user with nothing in this period
		}
		out = append(out, row)
	}
	return out, nil
}
