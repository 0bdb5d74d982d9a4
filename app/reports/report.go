// Package reports computes the figures of metrics.md — per cycle, then aggregated —
// from what the conversation engine recorded: cycles, status events and messages. One
// definition serves `atiende report`, the API and (later) the reports page.
package reports

import (
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/clock"
)

// Service computes reports.
type Service struct {
	DB    *gorm.DB
	Pool  *pgxpool.Pool // the figures tables (arrays, batches)
	Clock clock.Clock

	cache summaryCache // the latest reads' summaries (fast.go)
}

// New returns a Service.
func New(db *gorm.DB, pool *pgxpool.Pool, c clock.Clock) *Service {
	return &Service{DB: db, Pool: pool, Clock: c}
}

// Query is what a report covers: the cycles that belong to the days From..To
// (inclusive, in the workspace's time zone), optionally one team's.
type Query struct {
	WorkspaceID int64
	From, To    string // YYYY-MM-DD
	Team        string // a team's name ("" for all)
	// TeamIDs, when not nil, limits the report to those teams (a supervisor's); cycles
	// without a team are left out too.
	TeamIDs []int64
	// Agent (an email) keeps the cycles assigned to that agent at the close (or now);
	// ChannelID the cycles of that channel's conversations.
	Agent     string
	ChannelID int64
	// WithCycles fills Report.Cycles (the CSV).
	WithCycles bool
	// Clock, when set, computes the median and p90 of that clock only (the page shows
	// wall or business time, not both); the other clock's are null.
	Clock string
}

// Clocks of Query.Clock.
const (
	ClockWall     = "wall"
	ClockBusiness = "business"
)

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
	Breaches                             []string // SLA targets missed: first_response, next_response, resolution
	WindowLost                           bool     // the 24-hour window closed with the customer waiting for a reply
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
	// WindowLost counts the cycles in which WhatsApp's 24-hour window closed with the
	// customer waiting for an agent reply (the page's "ventana perdida"; not in the JSON
	// of metrics.md).
	WindowLost int `json:"-"`
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
