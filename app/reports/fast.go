package reports

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// The aggregation of a report is done here in one pass over the scope's cycle_figures
// rows, read once (binary) for the period and, on the page, for the previous period of
// the comparison too: counts, sums, and the medians and p90s by selection rather than
// one sort per figure. The figures are exactly those of metrics.md (percentile_cont's
// linear interpolation, averages rounded to milliseconds).

// group accumulates the figures of a set of cycles.
type group struct {
	n, closed, unanswered, fcr, converted, evaluated, hit, windowLost int
	frW, frB, rsW, rsB, nxW, nxB                                      []float64
}

func (g *group) figures(clock string) *Figures {
	return &Figures{Conversations: g.n, Closed: g.closed, Unanswered: g.unanswered,
		FirstResponse: statOf(g.frW, g.frB, clock), NextResponse: statOf(g.nxW, g.nxB, clock), Resolution: statOf(g.rsW, g.rsB, clock),
		FCRRate: rate(g.fcr, g.n), ConversionRate: rate(g.converted, g.n),
		SLA: SLA{Evaluated: g.evaluated, Hit: g.hit}, WindowLost: g.windowLost}
}

// accum is a period being aggregated; detail: teams, agents and next responses too.
type accum struct {
	detail  bool
	overall group
	teams   map[int64]*group // by team (cycles without a team are in the overall only)
	firstW  map[int64][]float64
	firstB  map[int64][]float64
	replies map[int64]int
	closed  map[int64]int
}

func newAccum(detail bool) *accum {
	return &accum{detail: detail, teams: map[int64]*group{}, firstW: map[int64][]float64{}, firstB: map[int64][]float64{},
		replies: map[int64]int{}, closed: map[int64]int{}}
}

// statOf is stat with only the percentiles of the query's clock (all when clock is "").
func statOf(wall, business []float64, clock string) Stat {
	s := Stat{Count: len(wall), Avg: avg(wall), Business: Spread{Avg: avg(business)}}
	if clock != ClockBusiness {
		s.Median, s.P90 = percentiles(wall)
	}
	if clock != ClockWall {
		s.Business.Median, s.Business.P90 = percentiles(business)
	}
	return s
}

// percentiles are percentile_cont(0.5) and percentile_cont(0.9) of v (reordered in place),
// found by selection: the same order statistics a sort would give.
func percentiles(v []float64) (*float64, *float64) {
	if len(v) == 0 {
		return nil, nil
	}
	at := func(p float64) *float64 {
		pos := p * float64(len(v)-1)
		lo, hi := math.Floor(pos), math.Ceil(pos)
		a := selectKth(v, int(lo))
		b := a
		if int(hi) != int(lo) {
			// The next order statistic is the smallest of what lies above lo.
			b = v[int(hi)]
			for _, x := range v[int(hi):] {
				if x < b {
					b = x
				}
			}
		}
		r := round(a + (pos-lo)*(b-a))
		return &r
	}
	m := at(0.5)
	return m, at(0.9)
}

// selectKth reorders v so that v[k] is the k-th smallest, with nothing larger before it
// and nothing smaller after it, and returns it.
func selectKth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as pivot.
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// periods computes the report of sc and, when prev is not nil, the overall figures of
// the previous period prev (same filters, ending where sc starts) from one read.
//
// What the read yields does not depend on now: it is cached under the workspace's
// figures version (report_versions, bumped by every change to cycle_figures) and the
// teams' SLA policies, so a report seen again before anything changed skips the read.
// The running clocks of open cycles are compared with now on every run.
func (s *Service) periods(ctx context.Context, q Query, sc Scope, prev *Scope, pq Query) (Report, Report, error) {
	r := Report{From: q.From, To: q.To, Timezone: sc.Workspace.Timezone}
	pr := Report{From: pq.From, To: pq.To, Timezone: sc.Workspace.Timezone}
	read := sc
	if prev != nil {
		read.From = prev.From
	}
	policies, cals, err := s.teamRules(ctx, sc.Teams)
	if err != nil {
		return r, pr, err
	}
	// The version first, then the rows (read committed): what is cached under a version
	// is at least as new as that version, and nobody reads that version once a newer
	// change has committed.
	var est, estPrev int
	var version int64
	if err := s.Pool.QueryRow(ctx, `SELECT COALESCE((SELECT sum(conversations) FROM report_daily WHERE workspace_id = $1 AND day BETWEEN $2 AND $3), 0),
			COALESCE((SELECT sum(conversations) FROM report_daily WHERE workspace_id = $1 AND day BETWEEN $4 AND $5), 0),
			COALESCE((SELECT version FROM report_versions WHERE workspace_id = $1), 0)`,
		sc.Workspace.ID, sc.From.AddDate(0, 0, -1), sc.End, read.From.AddDate(0, 0, -1), sc.From).Scan(&est, &estPrev, &version); err != nil {
		return r, pr, err
	}
	key := summaryKey(version, q, sc, prev, pq, policies)
	cur, old := s.cache.get(key)
	missed := cur == nil
	// The periods' rows (unless cached), on one connection each, and the open cycles and
	// the users, all at once.
	g, gctx := errgroup.WithContext(ctx)
	if missed {
		g.Go(func() error {
			a, err := s.read(gctx, sc, true, est, len(sc.Teams), policies)
			if err == nil {
				cur = a.summarize(q.Clock)
			}
			return err
		})
		if prev != nil {
			g.Go(func() error {
				a, err := s.read(gctx, *prev, false, estPrev, len(sc.Teams), policies)
				if err == nil {
					old = a.summarize(pq.Clock)
				}
				return err
			})
		}
	}
	// Open cycles: their running clocks against now.
	var open []openRow
	g.Go(func() error {
		where, args := read.where()
		orows, err := s.Pool.Query(gctx, `SELECT f.team_id, f.opened_at, f.closed_at, f.sla_first_s, f.sla_first_bs, f.sla_next_s, f.sla_next_bs,
				f.sla_resolution_s, f.sla_resolution_bs, f.open_wait_since, f.pending_s, f.pending_bs, f.pending_since, f.waiting_since, f.window_lost
			FROM cycle_figures f WHERE `+where+` AND f.closed_at IS NULL`, args...)
		if err != nil {
			return err
		}
		open, err = pgx.CollectRows(orows, pgx.RowToStructByPos[openRow])
		return err
	})
	var us []models.User
	g.Go(func() error {
		return s.DB.WithContext(gctx).Where("workspace_id = ?", sc.Workspace.ID).Order("lower(email), id").Find(&us).Error
	})
	if err := g.Wait(); err != nil {
		return r, pr, err
	}
	if missed {
		s.cache.put(key, cur, old)
	}
	curOpen, oldOpen := open[:0:0], open[:0:0]
	for _, o := range open {
		if o.OpenedAt.Before(sc.From) {
			oldOpen = append(oldOpen, o)
		} else {
			curOpen = append(curOpen, o)
		}
	}
	cur.finish(&r, sc, curOpen, policies, cals, us)
	if prev != nil {
		old.finish(&pr, sc, oldOpen, policies, cals, us)
	}
	if q.WithCycles {
		r.Cycles, err = s.cycles(ctx, sc, policies, cals)
	}
	return r, pr, err
}

// read aggregates the rows of one period's scope (with the teams' and agents' detail
// when detail) in one pass.
func (s *Service) read(ctx context.Context, sc Scope, detail bool, est, teams int, policies map[int64]*models.SLAPolicy) (*accum, error) {
	a := newAccum(detail)
	// Room for the values up front (the daily rollups tell about how many cycles): growing
	// the lists as they fill was a fifth of the page's time.
	est = min(est, 2_000_000)
	reserve := func(g *group, n int) {
		g.frW, g.frB, g.rsW, g.rsB = make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	}
	reserveNext := func(g *group, n int) { g.nxW, g.nxB = make([]float64, 0, n), make([]float64, 0, n) }
	perTeam := est/max(1, teams) + 64
	reserve(&a.overall, est+64)
	if detail {
		reserveNext(&a.overall, est+64)
	}
	// One column a cycle (cycle_figures.packed, migration 00021): the transfer and the
	// per-column work of the server were most of the cost. Whether a cycle meets its
	// team's policy is judged here, from the stored clocks and the policies read above.
	// Without the detail, what comes before the arrays is enough.
	col := "f.packed"
	if !detail {
		col = "substring(f.packed FROM 1 FOR 116)"
	}
	// From cycle_figures_read_idx alone, and the few cycles too long for it from the table.
	where, args := sc.where()
	rows, err := s.Pool.Query(ctx, `SELECT `+col+` FROM cycle_figures f WHERE `+where+` AND octet_length(f.packed) <= 2000
		UNION ALL SELECT `+col+` FROM cycle_figures f WHERE `+where+` AND octet_length(f.packed) > 2000`, args...)
	if err != nil {
		return nil, err
	}
	for _, fd := range rows.FieldDescriptions() {
		if fd.Format != pgx.BinaryFormatCode {
			rows.Close()
			return nil, fmt.Errorf("reports: column %s not in binary format", fd.Name)
		}
	}
	var fw, fb, rw, rb *float64
	var nw, nb []float64
	var users []int64
	var counts []int64
	var c packed
	for rows.Next() {
		v := rows.RawValues()
		c.reset(v[0])
		c.take(8) // opened_at: the query chose the period
		team, replier, assignee, bits := c.i8(), c.i8(), c.i8(), c.i4()
		hasTeam := bits&32 != 0
		closed, unanswered := bits&1 != 0, bits&2 != 0
		fcr, conv, lost := bits&4 != 0, bits&8 != 0, bits&16 != 0
		var f [10]float64
		for i := range f {
			f[i] = c.f8()
		}
		at := func(i int, buf *float64) *float64 {
			if bits&(256<<i) == 0 {
				return nil
			}
			if buf == nil {
				buf = new(float64)
			}
			*buf = f[i]
			return buf
		}
		fw, fb, rw, rb = at(0, fw), at(1, fb), at(2, rw), at(3, rb)
		// The policy of the cycle's team (metrics.md "SLA"): evaluated when closed (the
		// open ones are judged against now later), a hit without a breach.
		var p *models.SLAPolicy
		if hasTeam {
			p = policies[team]
		}
		breached := false
		if p != nil && closed {
			over := func(i int, target *int) bool {
				if p.BusinessHours {
					i++
				}
				return target != nil && bits&(256<<i) != 0 && f[i] > float64(*target)
			}
			breached = over(4, p.FirstResponseSeconds) || over(6, p.NextResponseSeconds) || over(8, p.ResolutionSeconds)
		}
		add := func(g *group) {
			g.n++
			if closed {
				g.closed++
				if p != nil {
					g.evaluated++
					if !breached {
						g.hit++
					}
				}
				if lost {
					g.windowLost++
				}
			}
			if unanswered {
				g.unanswered++
			}
			if fcr {
				g.fcr++
			}
			if conv {
				g.converted++
			}
			if fw != nil {
				g.frW = append(g.frW, *fw)
			}
			if fb != nil {
				g.frB = append(g.frB, *fb)
			}
			if rw != nil {
				g.rsW = append(g.rsW, *rw)
			}
			if rb != nil {
				g.rsB = append(g.rsB, *rb)
			}
		}
		add(&a.overall)
		if !a.detail {
			continue
		}
		var tg *group
		if hasTeam {
			tg = a.teams[team]
			if tg == nil {
				tg = &group{}
				reserve(tg, perTeam)
				reserveNext(tg, perTeam)
				a.teams[team] = tg
			}
			add(tg)
		}
		nw, nb, users, counts = c.floats(nw[:0]), c.floats(nb[:0]), c.ints(users[:0], 8), c.ints(counts[:0], 4)
		if c.err != nil {
			rows.Close()
			return nil, c.err
		}
		a.overall.nxW, a.overall.nxB = append(a.overall.nxW, nw...), append(a.overall.nxB, nb...)
		if tg != nil {
			tg.nxW, tg.nxB = append(tg.nxW, nw...), append(tg.nxB, nb...)
		}
		if bits&64 != 0 && fw != nil {
			a.firstW[replier] = append(a.firstW[replier], *fw)
			if fb != nil {
				a.firstB[replier] = append(a.firstB[replier], *fb)
			}
		}
		if bits&128 != 0 && closed {
			a.closed[assignee]++
		}
		for i, u := range users {
			if i < len(counts) {
				a.replies[u] += int(counts[i])
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, c.err
	}
	return a, nil
}

// summary is what one read yields for a period: the figures of the overall (key 0) and
// of each team, and each agent's, before the open cycles are judged against now. It is
// shared through the cache: never changed once made.
type summary struct {
	figs   map[int64]Figures
	agents map[int64]agentSum
}

type agentSum struct {
	replies, closed int
	first           Stat
}

// summarize computes the figures of the accumulated groups (the percentiles of clock).
func (a *accum) summarize(clock string) *summary {
	sm := &summary{figs: map[int64]Figures{0: *a.overall.figures(clock)}, agents: map[int64]agentSum{}}
	for id, g := range a.teams {
		sm.figs[id] = *g.figures(clock)
	}
	users := map[int64]bool{}
	for u := range a.firstW {
		users[u] = true
	}
	for u := range a.replies {
		users[u] = true
	}
	for u := range a.closed {
		users[u] = true
	}
	for u := range users {
		sm.agents[u] = agentSum{replies: a.replies[u], closed: a.closed[u], first: statOf(a.firstW[u], a.firstB[u], clock)}
	}
	return sm
}

// finish turns a period's summary into the report's overall, team and agent rows, with
// the open cycles judged as of now.
func (sm *summary) finish(r *Report, sc Scope, open []openRow, policies map[int64]*models.SLAPolicy,
	cals map[int64]*calendar.Calendar, users []models.User) {
	figs := make(map[int64]*Figures, len(sm.figs))
	for id, f := range sm.figs {
		f := f
		figs[id] = &f
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
	done := func(f *Figures) Figures {
		f.SLA.HitRate = rate(f.SLA.Hit, f.SLA.Evaluated)
		return *f
	}
	r.Overall = done(figs[0])
	r.Teams = []TeamRow{}
	for _, t := range sc.Teams {
		if sc.Only != nil && !contains(sc.Only, t.ID) {
			continue
		}
		f := figs[t.ID]
		if f == nil {
			f = &Figures{FirstResponse: stat(nil, nil), NextResponse: stat(nil, nil), Resolution: stat(nil, nil)}
		}
		r.Teams = append(r.Teams, TeamRow{Team: t.Name, Figures: done(f)})
	}
	r.Agents = []AgentRow{}
	for _, u := range users {
		a, ok := sm.agents[u.ID]
		if !ok {
			a.first = statOf(nil, nil, "")
		}
		row := AgentRow{Agent: u.Email, Replies: a.replies, FirstResponses: a.first.Count, Closed: a.closed, FirstResponse: a.first}
		if row.Replies == 0 && row.FirstResponses == 0 && row.Closed == 0 && (!u.Active || u.Role == models.RoleAdmin) {
			continue // an admin or a former user with nothing in this period
		}
		r.Agents = append(r.Agents, row)
	}
}

// pgEpochMicros is 2000-01-01 UTC in Unix microseconds (PostgreSQL's timestamp epoch).
const pgEpochMicros = 946684800000000

// packed decodes a cycle_figures.packed value (migration 00021) field by field.
type packed struct {
	b   []byte
	err error
}

func (c *packed) reset(b []byte) { c.b = b }

func (c *packed) take(n int) []byte {
	if len(c.b) < n {
		if c.err == nil {
			c.err = fmt.Errorf("reports: short packed figures")
		}
		c.b = nil
		return make([]byte, n)
	}
	x := c.b[:n]
	c.b = c.b[n:]
	return x
}

func (c *packed) i8() int64   { return int64(binary.BigEndian.Uint64(c.take(8))) }
func (c *packed) i4() int64   { return int64(int32(binary.BigEndian.Uint32(c.take(4)))) }
func (c *packed) f8() float64 { return math.Float64frombits(binary.BigEndian.Uint64(c.take(8))) }

// array is a report_pack_* value: a count and that many elements of size bytes, or -1
// and the array as array_send writes it. It calls fn with each element.
func (c *packed) array(size int, fn func([]byte)) {
	n := c.i4()
	if n >= 0 {
		for i := int64(0); i < n; i++ {
			fn(c.take(size))
		}
		return
	}
	ndim := c.i4()
	c.take(8) // flags, element type
	if ndim == 0 {
		return
	}
	if ndim != 1 {
		if c.err == nil {
			c.err = fmt.Errorf("reports: unexpected packed array")
		}
		return
	}
	n = c.i4()
	c.take(4) // lower bound
	for i := int64(0); i < n; i++ {
		if l := c.i4(); l >= 0 {
			fn(c.take(int(l)))
		}
	}
}

func (c *packed) floats(out []float64) []float64 {
	c.array(8, func(e []byte) { out = append(out, math.Float64frombits(binary.BigEndian.Uint64(e))) })
	return out
}

func (c *packed) ints(out []int64, size int) []int64 {
	c.array(size, func(e []byte) {
		x, _ := dInt(e)
		out = append(out, x)
	})
	return out
}

// Binary decoding of the columns read above (PostgreSQL's wire format).

func dInt(b []byte) (int64, bool) {
	switch len(b) {
	case 8:
		return int64(binary.BigEndian.Uint64(b)), true
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b))), true
	}
	return 0, false
}
