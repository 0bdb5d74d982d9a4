package reports

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// The storage behind every report (README "Reports"):
//
//   - cycle_figures holds one row per cycle with every figure of metrics.md that does not
//     depend on "now", and the running clocks of an open cycle as instants;
//   - report_dirty is the queue of cycles whose row is out of date, filled by triggers on
//     cycles, messages, conversation_events and leads in the writer's own transaction;
//   - report_daily holds per-day counts per team, channel and assignee (the volume chart).
//
// Refresh recomputes the queued cycles — the cron job does it every minute for all of
// them, a report does it first for the queued cycles of its own range — so the cost of a
// run follows the changes, never the history. A report then reads each cycle's packed
// figures once (an index-only scan, migration 00021) and aggregates them in Go (fast.go),
// reusing that read while the workspace's figures version is unchanged, and compares the
// clocks of open cycles with now.

// entry is a queued cycle and the version of the change that queued it.
type entry struct {
	CycleID int64
	Seq     int64
}

// figureRow is a cycle_figures row.
type figureRow struct {
	CycleID, WorkspaceID, ConversationID, ContactID int64
	ChannelID                                       *int64
	Day                                             time.Time
	OpenedAt                                        time.Time
	ClosedAt                                        *time.Time
	TeamID, AssigneeID                              *int64
	FirstReplyAt                                    *time.Time
	FirstReplierID                                  *int64
	FirstResponseS, FirstResponseBS                 *float64
	ResolutionS, ResolutionBS                       *float64
	NextS, NextBS                                   []float64
	ReplyUsers                                      []int64
	ReplyCounts                                     []int32
	Replies                                         int32
	Transferred, FCR, Converted                     bool
	LeadID                                          *int64
	SLAFirstS, SLAFirstBS                           *float64
	SLANextS, SLANextBS                             *float64
	SLAResolutionS, SLAResolutionBS                 *float64
	OpenWaitSince                                   *time.Time
	PendingS, PendingBS                             float64
	PendingSince, WaitingSince                      *time.Time
	WindowLost, Settled                             bool
	Seq                                             int64
}

// RefreshBatch is how many queued cycles one pass of the job recomputes.
const RefreshBatch = 2000

// Rollup is the cron job: it recomputes the figures of every queued cycle (in batches)
// and the daily rollups of their days, then settles the cycles closed more than 24 h ago.
// It returns how many cycles it recomputed.
func (s *Service) Rollup(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var es []entry
		rows, err := s.Pool.Query(ctx, `SELECT cycle_id, seq FROM report_dirty ORDER BY seq LIMIT $1`, RefreshBatch)
		if err != nil {
			return total, err
		}
		es, err = pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
		if err != nil {
			return total, err
		}
		if len(es) == 0 {
			break
		}
		if err := s.refresh(ctx, es, now); err != nil {
			return total, err
		}
		total += len(es)
		if len(es) < RefreshBatch {
			break
		}
	}
	_, err := s.Settle(ctx, now)
	return total, err
}

// Settle marks the cycles closed more than 24 hours before now as final: nothing can
// change their first-contact resolution any more.
func (s *Service) Settle(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE cycle_figures SET settled = true
		WHERE NOT settled AND closed_at IS NOT NULL AND closed_at <= $1`, now.Add(-FCRWindow))
	return tag.RowsAffected(), err
}

// refreshRange recomputes the queued cycles of one workspace that open in [from, end):
// what a report does before it reads, so it never depends on whether the job has run.
func (s *Service) refreshRange(ctx context.Context, wsID int64, from, end, now time.Time) error {
	rows, err := s.Pool.Query(ctx, `SELECT d.cycle_id, d.seq FROM report_dirty d JOIN cycles y ON y.id = d.cycle_id
		WHERE d.workspace_id = $1 AND y.opened_at >= $2 AND y.opened_at < $3`, wsID, from, end)
	if err != nil {
		return err
	}
	es, err := pgx.CollectRows(rows, pgx.RowToStructByPos[entry])
	if err != nil || len(es) == 0 {
		return err
	}
	for len(es) > 0 {
		n := min(len(es), RefreshBatch)
		if err := s.refresh(ctx, es[:n], now); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}

// refresh recomputes the figures of the given cycles from their messages and status
// events, writes them (a row never goes back to an older change), drops the queue
// entries that are still the ones computed, and rebuilds the daily rollups of their days.
func (s *Service) refresh(ctx context.Context, es []entry, now time.Time) error {
	ids := make([]int64, len(es))
	seqs := make([]int64, len(es))
	seqOf := map[int64]int64{}
	for i, e := range es {
		ids[i], seqs[i], seqOf[e.CycleID] = e.CycleID, e.Seq, e.Seq
	}
	type base struct {
		ID, WorkspaceID, ConversationID, ContactID int64
		ChannelID                                  *int64
		OpenedAt                                   time.Time
		ClosedAt                                   *time.Time
		TeamID, AssigneeID                         *int64
		FirstReplyAt                               *time.Time
		FirstReplierID                             *int64
		Transferred                                bool
		Timezone                                   string
		NextAt                                     *time.Time
		LeadID                                     *int64
	}
	// One round trip: the cycles, their messages and status events, and the calendars of
	// their workspaces' teams.
	b := &pgx.Batch{}
	var bases []base
	var msgs []cycleMsg
	var mvs []statusMove
	type teamCal struct {
		TeamID int64
		models.Calendar
	}
	var tcs []teamCal
	b.Queue(`SELECT y.id, y.workspace_id, y.conversation_id, c.contact_id, c.channel_id, y.opened_at, y.closed_at,
			CASE WHEN y.closed_at IS NULL THEN c.team_id ELSE y.team_id END,
			CASE WHEN y.closed_at IS NULL THEN c.assignee_id ELSE y.assignee_id END,
			y.first_reply_at, y.first_reply_user_id, y.transferred, w.timezone,
			(SELECT min(n.opened_at) FROM cycles n WHERE n.conversation_id = y.conversation_id AND (n.opened_at, n.id) > (y.opened_at, y.id)),
			(SELECT l.id FROM leads l WHERE l.workspace_id = y.workspace_id AND l.contact_id = c.contact_id
				AND l.created_at >= y.opened_at AND l.created_at <= COALESCE(y.closed_at, 'infinity') ORDER BY l.created_at, l.id LIMIT 1)
		FROM cycles y JOIN conversations c ON c.id = y.conversation_id JOIN workspaces w ON w.id = y.workspace_id
		WHERE y.id = ANY($1)`, ids).Query(func(rows pgx.Rows) (err error) {
		bases, err = pgx.CollectRows(rows, pgx.RowToStructByPos[base])
		return
	})
	// Agent replies (metrics.md: public outbound messages written by a user) and customer messages.
	b.Queue(`SELECT cycle_id, direction = 'in', sender_user_id, created_at FROM messages
		WHERE cycle_id = ANY($1) AND (direction = 'in' OR (direction = 'out' AND sender_type = 'agent' AND NOT private AND NOT automatic
			AND kind NOT IN ('note', 'activity') AND sender_user_id IS NOT NULL))
		ORDER BY created_at, id`, ids).Query(func(rows pgx.Rows) (err error) {
		msgs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[cycleMsg])
		return
	})
	b.Queue(`SELECT cycle_id, at, from_status, to_status, (actor_kind = 'contact' OR (actor_kind = '' AND actor_id IS NULL))
		FROM conversation_events WHERE cycle_id = ANY($1) AND kind = 'status' ORDER BY at, id`, ids).Query(func(rows pgx.Rows) (err error) {
		mvs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[statusMove])
		return
	})
	b.Queue(`SELECT t.id, k.id, k.workspace_id, k.name, k.timezone, k.hours, k.holidays, k.created_at, k.updated_at
		FROM teams t JOIN calendars k ON k.id = t.calendar_id AND k.workspace_id = t.workspace_id
		WHERE t.workspace_id IN (SELECT DISTINCT workspace_id FROM cycles WHERE id = ANY($1))`, ids).Query(func(rows pgx.Rows) (err error) {
		tcs, err = pgx.CollectRows(rows, pgx.RowToStructByPos[teamCal])
		return
	})
	if err := s.Pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	byCycle := map[int64][]cycleMsg{}
	for _, m := range msgs {
		byCycle[m.CycleID] = append(byCycle[m.CycleID], m)
	}
	movesOf := map[int64][]statusMove{}
	for _, m := range mvs {
		movesOf[m.CycleID] = append(movesOf[m.CycleID], m)
	}
	cals := map[int64]*calendar.Calendar{}
	for _, tc := range tcs {
		c, err := calendar.FromModel(tc.Calendar)
		if err != nil {
			return err
		}
		cals[tc.TeamID] = &c
	}
	locs := map[string]*time.Location{}
	out := make([]figureRow, 0, len(bases))
	for _, b := range bases {
		loc := locs[b.Timezone]
		if loc == nil {
			loc = models.Workspace{Timezone: b.Timezone}.Location()
			locs[b.Timezone] = loc
		}
		var cal *calendar.Calendar
		if b.TeamID != nil {
			cal = cals[*b.TeamID]
		}
		r := compute(cycleInput{ID: b.ID, OpenedAt: b.OpenedAt, ClosedAt: b.ClosedAt, FirstReplyAt: b.FirstReplyAt,
			Transferred: b.Transferred, NextAt: b.NextAt}, byCycle[b.ID], movesOf[b.ID], cal)
		r.CycleID, r.WorkspaceID, r.ConversationID, r.ContactID, r.ChannelID = b.ID, b.WorkspaceID, b.ConversationID, b.ContactID, b.ChannelID
		d := b.OpenedAt.In(loc)
		r.Day = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		r.TeamID, r.AssigneeID, r.FirstReplierID = b.TeamID, b.AssigneeID, b.FirstReplierID
		r.LeadID, r.Converted = b.LeadID, b.LeadID != nil
		r.Settled = b.ClosedAt != nil && !b.ClosedAt.Add(FCRWindow).After(now)
		r.Seq = seqOf[b.ID]
		out = append(out, r)
	}
	return s.write(ctx, out, ids, seqs)
}

// cycleInput is what compute needs from the cycles row.
type cycleInput struct {
	ID           int64
	OpenedAt     time.Time
	ClosedAt     *time.Time
	FirstReplyAt *time.Time
	Transferred  bool
	NextAt       *time.Time // the conversation's next cycle
}

// cycleMsg is a customer message (In) or an agent reply of a cycle.
type cycleMsg struct {
	CycleID   int64
	In        bool
	UserID    *int64
	CreatedAt time.Time
}

// statusMove is a status event of a cycle; FromCustomer: a customer message moved it.
type statusMove struct {
	CycleID      int64
	At           time.Time
	From, To     string
	FromCustomer bool
}

// compute is metrics.md for one cycle: its messages (customer messages and agent
// replies, in order), its status events (in order) and its team's calendar (nil: every
// second is business time).
func compute(c cycleInput, msgs []cycleMsg, moves []statusMove, cal *calendar.Calendar) figureRow {
	business := func(a, b time.Time) float64 {
		if cal != nil {
			return cal.Business(a, b).Seconds()
		}
		return b.Sub(a).Seconds()
	}
	f := func(x float64) *float64 { return &x }
	r := figureRow{OpenedAt: c.OpenedAt, ClosedAt: c.ClosedAt, FirstReplyAt: c.FirstReplyAt, Transferred: c.Transferred,
		NextS: []float64{}, NextBS: []float64{}, ReplyUsers: []int64{}, ReplyCounts: []int32{}}
	counts := map[int64]int32{}
	var replyTimes []time.Time
	var waiting *time.Time
	for _, m := range msgs {
		if m.In {
			t := m.CreatedAt
			waiting = &t // the 24-hour window runs from the latest customer message
			continue
		}
		counts[*m.UserID]++
		r.Replies++
		replyTimes = append(replyTimes, m.CreatedAt)
		if waiting != nil && m.CreatedAt.Sub(*waiting) > 24*time.Hour {
			r.WindowLost = true
		}
		waiting = nil
	}
	if c.ClosedAt != nil && waiting != nil && c.ClosedAt.Sub(*waiting) > 24*time.Hour {
		r.WindowLost = true
	}
	if c.ClosedAt == nil {
		r.WaitingSince = waiting
	}
	users := make([]int64, 0, len(counts))
	for u := range counts {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	for _, u := range users {
		r.ReplyUsers, r.ReplyCounts = append(r.ReplyUsers, u), append(r.ReplyCounts, counts[u])
	}

	if c.FirstReplyAt != nil {
		r.FirstResponseS, r.FirstResponseBS = f(c.FirstReplyAt.Sub(c.OpenedAt).Seconds()), f(business(c.OpenedAt, *c.FirstReplyAt))
		r.SLAFirstS, r.SLAFirstBS = r.FirstResponseS, r.FirstResponseBS
	} else if c.ClosedAt != nil {
		r.SLAFirstS, r.SLAFirstBS = f(c.ClosedAt.Sub(c.OpenedAt).Seconds()), f(business(c.OpenedAt, *c.ClosedAt))
	}

	// Next responses: each customer message that moved a pending card after the first
	// reply starts a wait, ended by the next agent reply.
	longest := func(w, b float64) {
		if r.SLANextS == nil || w > *r.SLANextS {
			r.SLANextS = f(w)
		}
		if r.SLANextBS == nil || b > *r.SLANextBS {
			r.SLANextBS = f(b)
		}
	}
	var inPending *time.Time
	for _, v := range moves {
		// Pending spans (taken out of the resolution SLA).
		if v.From == models.StatusPending && inPending != nil {
			r.PendingS += v.At.Sub(*inPending).Seconds()
			r.PendingBS += business(*inPending, v.At)
			inPending = nil
		}
		if v.To == models.StatusPending && inPending == nil {
			t := v.At
			inPending = &t
		}
		if v.From != models.StatusPending || !v.FromCustomer || c.FirstReplyAt == nil || v.At.Before(*c.FirstReplyAt) {
			continue
		}
		start := v.At
		j := sort.Search(len(replyTimes), func(j int) bool { return !replyTimes[j].Before(start) })
		switch {
		case j < len(replyTimes) && (c.ClosedAt == nil || !replyTimes[j].After(*c.ClosedAt)):
			w, b := replyTimes[j].Sub(start).Seconds(), business(start, replyTimes[j])
			r.NextS, r.NextBS = append(r.NextS, w), append(r.NextBS, b)
			longest(w, b)
		case c.ClosedAt != nil:
			// Still open at the close: not a next response, but the SLA measures it to the close.
			longest(c.ClosedAt.Sub(start).Seconds(), business(start, *c.ClosedAt))
		default:
			if r.OpenWaitSince == nil {
				r.OpenWaitSince = &start
			}
		}
	}
	if c.ClosedAt != nil {
		if inPending != nil { // closed while pending without an event leaving it: the span ends at the close
			r.PendingS += c.ClosedAt.Sub(*inPending).Seconds()
			r.PendingBS += business(*inPending, *c.ClosedAt)
			inPending = nil
		}
		w, b := c.ClosedAt.Sub(c.OpenedAt).Seconds(), business(c.OpenedAt, *c.ClosedAt)
		r.ResolutionS, r.ResolutionBS = f(w), f(b)
		r.SLAResolutionS, r.SLAResolutionBS = f(w-r.PendingS), f(b-r.PendingBS)
		if len(counts) == 1 && !c.Transferred {
			r.FCR = c.NextAt == nil || c.NextAt.Sub(*c.ClosedAt) > FCRWindow
		}
	}
	r.PendingSince = inPending
	return r
}

// figureColumns are the columns of cycle_figures refresh writes, cycle_id first.
var figureColumns = []string{"cycle_id", "workspace_id", "conversation_id", "contact_id", "channel_id", "day", "opened_at", "closed_at",
	"team_id", "assignee_id", "first_reply_at", "first_replier_id", "first_response_s", "first_response_bs", "resolution_s", "resolution_bs",
	"next_s", "next_bs", "reply_users", "reply_counts", "replies", "transferred", "fcr", "converted", "lead_id",
	"sla_first_s", "sla_first_bs", "sla_next_s", "sla_next_bs", "sla_resolution_s", "sla_resolution_bs",
	"open_wait_since", "pending_s", "pending_bs", "pending_since", "waiting_since", "window_lost", "settled", "seq"}

// write upserts the rows, drops the queue entries they answer and rebuilds the daily
// rollups of the days they belong to.
func (s *Service) write(ctx context.Context, rs []figureRow, ids, seqs []int64) error {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	type wsDay struct {
		ws  int64
		day time.Time
	}
	days := map[wsDay]bool{}
	rowsIn := make([][]any, len(rs))
	for i, r := range rs {
		days[wsDay{r.WorkspaceID, r.Day}] = true
		rowsIn[i] = []any{r.CycleID, r.WorkspaceID, r.ConversationID, r.ContactID, r.ChannelID, r.Day, r.OpenedAt, r.ClosedAt,
			r.TeamID, r.AssigneeID, r.FirstReplyAt, r.FirstReplierID, r.FirstResponseS, r.FirstResponseBS, r.ResolutionS, r.ResolutionBS,
			r.NextS, r.NextBS, r.ReplyUsers, r.ReplyCounts, r.Replies, r.Transferred, r.FCR, r.Converted, r.LeadID,
			r.SLAFirstS, r.SLAFirstBS, r.SLANextS, r.SLANextBS, r.SLAResolutionS, r.SLAResolutionBS,
			r.OpenWaitSince, r.PendingS, r.PendingBS, r.PendingSince, r.WaitingSince, r.WindowLost, r.Settled, r.Seq}
	}
	if len(rs) > 0 {
		// COPY into a scratch table, then one upsert: a row never goes back to an older change.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS cycle_figures_in (LIKE cycle_figures INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cycle_figures_in"}, figureColumns, pgx.CopyFromRows(rowsIn)); err != nil {
			return err
		}
		set := make([]string, 0, len(figureColumns))
		for _, c := range figureColumns[1:] {
			set = append(set, c+" = EXCLUDED."+c)
		}
		cols := strings.Join(figureColumns, ", ")
		if _, err := tx.Exec(ctx, `INSERT INTO cycle_figures (`+cols+`, computed_at) SELECT `+cols+`, now() FROM cycle_figures_in
			ON CONFLICT (cycle_id) DO UPDATE SET `+strings.Join(set, ", ")+`, computed_at = now()
			WHERE cycle_figures.seq <= EXCLUDED.seq`); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM report_dirty d USING unnest($1::bigint[], $2::bigint[]) AS x(id, seq) WHERE d.cycle_id = x.id AND d.seq = x.seq`, ids, seqs); err != nil {
		return err
	}
	if len(days) > 0 {
		var wss []int64
		var ds []time.Time
		for k := range days {
			wss, ds = append(wss, k.ws), append(ds, k.day)
		}
		// One rebuilder of a workspace's days at a time (the job and a report may overlap).
		for _, ws := range uniq(wss) {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('report_daily'), $1::int)`, ws); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM report_daily r USING unnest($1::bigint[], $2::date[]) AS x(ws, day)
			WHERE r.workspace_id = x.ws AND r.day = x.day`, wss, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_daily (workspace_id, day, team_id, channel_id, assignee_id, conversations, closed,
				unanswered, converted, fcr, first_responses, first_response_sum, first_response_bsum)
			SELECT f.workspace_id, f.day, COALESCE(f.team_id, 0), COALESCE(f.channel_id, 0), COALESCE(f.assignee_id, 0), count(*),
				count(f.closed_at), count(*) FILTER (WHERE f.replies = 0), count(*) FILTER (WHERE f.converted),
				count(*) FILTER (WHERE f.fcr), count(f.first_response_s), COALESCE(sum(f.first_response_s), 0), COALESCE(sum(f.first_response_bs), 0)
			FROM cycle_figures f JOIN unnest($1::bigint[], $2::date[]) AS x(ws, day) ON f.workspace_id = x.ws AND f.day = x.day
			GROUP BY 1, 2, 3, 4, 5`, wss, ds); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

func uniq(v []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, x := range v {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
