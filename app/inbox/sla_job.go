package inbox

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atiende/atiende/app/live"
	"github.com/atiende/atiende/app/sla"
	"github.com/atiende/atiende/models"
)

// SLA alert events (conversation_events.kind, actor_kind "sla"); the note names the
// target and its length in seconds ("first_response 3600", sla.Note).
const (
	EvSLAWarning = "sla_warning"
	EvSLABreach  = "sla_breach"
)

// SLABatch is how many conversations one transaction of the SLA job handles.
const SLABatch = 5000

// SLAWorkers is how many transactions of the SLA job run at once, each on its own
// connection: they take disjoint batches (SKIP LOCKED), as two overlapping runs do.
const SLAWorkers = 2

// SLAToast is what the assignee and the team's supervisors are told, live, by an
// "sla" event (live.Event.Text as JSON): the board refreshes the card for everyone who
// sees it, and the people in Users also get the toast.
type SLAToast struct {
	Users  []int64 `json:"users"`
	Text   string  `json:"text"`
	Breach bool    `json:"breach"`
}

// CheckSLA marks the warnings and breaches that came by now: for each open
// conversation whose next SLA threshold has passed it records the alert events (an
// activity line each), updates the card's SLA state, and announces it live with a
// toast to the assignee and the team's supervisors. Each threshold is announced once
// (conversations.sla_notified); conversations locked by a command are left for the
// next run (SKIP LOCKED). It returns how many alerts it wrote.
//
// SLAWorkers transactions work at once, each until it finds less than a full batch:
// what one has locked the others skip, and a conversation it leaves unlocked with its
// threshold still due (its commit came first) is no longer due for the others.
func CheckSLA(ctx context.Context, pool *pgxpool.Pool, now time.Time) (int, error) {
	var (
		mu       sync.Mutex
		total    int
		firstErr error
		wg       sync.WaitGroup
	)
	for range SLAWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, rows, err := checkSLABatch(ctx, pool, now)
				mu.Lock()
				total += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				stop := firstErr != nil
				mu.Unlock()
				if stop || rows < SLABatch {
					return
				}
			}
		}()
	}
	wg.Wait()
	return total, firstErr
}

type slaRow struct {
	id, ws, channel     int64
	cycle, team, agent  *int64
	status, state       string
	fDue, fWarn         *time.Time
	nDue, nWarn         *time.Time
	rDue, rWarn         *time.Time
	bits                int16
	fSecs, nSecs, rSecs *int
	contact             string
}

// target is the length of target t of the row's policy (0: none).
func (r *slaRow) target(t string) time.Duration {
	var s *int
	switch t {
	case "first_response":
		s = r.fSecs
	case "next_response":
		s = r.nSecs
	case "resolution":
		s = r.rSecs
	}
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

// due is when target t of d is due.
func due(d sla.Deadlines, t string) time.Time {
	switch t {
	case "first_response":
		return d.FirstResponse.Due
	case "next_response":
		return d.NextResponse.Due
	}
	return d.Resolution.Due
}

// slaWrite is what a batch writes: the conversations' new state, the alert events
// (with an activity line each) and the live notifications.
type slaWrite struct {
	uID    []int64
	uBits  []int32
	uState []string
	uNext  []*time.Time
	eWS    []int64
	eConv  []int64
	eCycle []*int64
	eChan  []int64
	eKind  []string
	eAt    []time.Time
	eNote  []string
	notes  []string
}

func checkSLABatch(ctx context.Context, pool *pgxpool.Pool, now time.Time) (alerts, n int, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// What a crash loses here is announced again by the next run: no need to wait for the disk.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return 0, 0, err
	}
	// The batch is locked first, in the order of the index; only its rows are joined.
	q, err := tx.Query(ctx, `
		WITH c AS (
			SELECT id, workspace_id, channel_id, cycle_id, team_id, assignee_id, contact_id, status, sla_state,
				first_response_due_at, first_response_warn_at, next_response_due_at, next_response_warn_at,
				resolution_due_at, resolution_warn_at, sla_notified
			FROM conversations
			WHERE sla_next_check_at <= $1
			ORDER BY sla_next_check_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		SELECT c.id, c.workspace_id, c.channel_id, c.cycle_id, c.team_id, c.assignee_id, c.status, c.sla_state,
			c.first_response_due_at, c.first_response_warn_at, c.next_response_due_at, c.next_response_warn_at,
			c.resolution_due_at, c.resolution_warn_at, c.sla_notified,
			p.first_response_seconds, p.next_response_seconds, p.resolution_seconds,
			COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), NULLIF(k.phone, ''), k.username, '')
		FROM c
		JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN teams t ON t.id = c.team_id
		LEFT JOIN sla_policies p ON p.id = t.sla_policy_id`, now, SLABatch)
	if err != nil {
		return 0, 0, err
	}
	rows := make([]slaRow, 0, 256)
	var teams []int64
	for q.Next() {
		rows = append(rows, slaRow{})
		r := &rows[len(rows)-1]
		if err := q.Scan(&r.id, &r.ws, &r.channel, &r.cycle, &r.team, &r.agent, &r.status, &r.state, &r.fDue, &r.fWarn,
			&r.nDue, &r.nWarn, &r.rDue, &r.rWarn, &r.bits, &r.fSecs, &r.nSecs, &r.rSecs, &r.contact); err != nil {
			q.Close()
			return 0, 0, err
		}
		if r.team != nil && !slices.Contains(teams, *r.team) {
			teams = append(teams, *r.team)
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return 0, 0, err
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	// The supervisors of the teams concerned, in one query; the toast's recipients (the
	// assignee, then the team's supervisors) are worked out once per team and assignee.
	supervisors := map[int64][]int64{}
	if len(teams) > 0 {
		sq, err := tx.Query(ctx, `SELECT tm.team_id, u.id FROM team_members tm JOIN users u ON u.id = tm.user_id
			WHERE tm.team_id = ANY($1) AND u.role = 'supervisor' AND u.active ORDER BY u.id`, teams)
		if err != nil {
			return 0, 0, err
		}
		for sq.Next() {
			var team, user int64
			if err := sq.Scan(&team, &user); err != nil {
				sq.Close()
				return 0, 0, err
			}
			supervisors[team] = append(supervisors[team], user)
		}
		sq.Close()
		if err := sq.Err(); err != nil {
			return 0, 0, err
		}
	}
	type audience struct{ team, agent int64 }
	recipients := map[audience][]int64{}
	usersOf := func(r *slaRow) []int64 {
		var k audience
		if r.team != nil {
			k.team = *r.team
		}
		if r.agent != nil {
			k.agent = *r.agent
		}
		if users, ok := recipients[k]; ok {
			return users
		}
		var users []int64
		if r.agent != nil {
			users = append(users, *r.agent)
		}
		if r.team != nil {
			for _, u := range supervisors[*r.team] {
				if r.agent == nil || u != *r.agent {
					users = append(users, u)
				}
			}
		}
		recipients[k] = users
		return users
	}

	w := slaWrite{uID: make([]int64, 0, len(rows)), uBits: make([]int32, 0, len(rows)), uState: make([]string, 0, len(rows)),
		uNext: make([]*time.Time, 0, len(rows))}
	for i := range rows {
		r := &rows[i]
		if r.status == models.StatusClosed {
			// Closed by a path that left its clocks (a merge): nothing runs any more.
			w.uID, w.uBits, w.uState, w.uNext = append(w.uID, r.id), append(w.uBits, 0), append(w.uState, sla.StateNone), append(w.uNext, nil)
			continue
		}
		d := storedDeadlines(&models.Conversation{FirstResponseDueAt: r.fDue, FirstResponseWarnAt: r.fWarn,
			NextResponseDueAt: r.nDue, NextResponseWarnAt: r.nWarn, ResolutionDueAt: r.rDue, ResolutionWarnAt: r.rWarn})
		found, bits := sla.Check(d, int(r.bits), now)
		state := r.state
		if state != sla.StateNone {
			state = sla.State(d, bits)
		}
		w.uID, w.uBits, w.uState, w.uNext = append(w.uID, r.id), append(w.uBits, int32(bits)), append(w.uState, state), append(w.uNext, sla.NextCheck(d, bits))
		if len(found) == 0 {
			continue
		}
		var text string
		breach := false
		for _, a := range found {
			kind := EvSLAWarning
			if a.Breach {
				kind, breach = EvSLABreach, true
			}
			note := sla.Note(a.Target, r.target(a.Target))
			w.eWS, w.eConv, w.eCycle, w.eChan = append(w.eWS, r.ws), append(w.eConv, r.id), append(w.eCycle, r.cycle), append(w.eChan, r.channel)
			w.eKind, w.eAt, w.eNote = append(w.eKind, kind), append(w.eAt, a.At), append(w.eNote, note)
			text = sla.AlertText(a.Breach, note)
			if !a.Breach {
				text += ": quedan " + sla.Duration(due(d, a.Target).Sub(now))
			}
		}
		alerts += len(found)
		if r.contact != "" {
			text = r.contact + " · " + text
		}
		toast, err := json.Marshal(SLAToast{Users: usersOf(r), Text: text, Breach: breach})
		if err != nil {
			return 0, 0, err
		}
		p, err := live.Payload(live.Event{Kind: "sla", WorkspaceID: r.ws, ConversationID: r.id, Status: r.status,
			TeamID: r.team, AssigneeID: r.agent, PrevTeamID: r.team, PrevAssigneeID: r.agent, Text: string(toast), PrevStatus: r.status,
			ClosedSame: r.status != models.StatusClosed})
		if err != nil {
			return 0, 0, err
		}
		w.notes = append(w.notes, p)
	}
	// One statement: the conversations' new state, the events (their ids drawn first, so
	// the activity lines point at them without joining back), the activity lines, and the
	// live notifications (sent by PostgreSQL at commit). Its plan does not depend on the
	// arrays: the generic one is kept on the connection, where a custom plan would be
	// made again for every batch with the arrays as constants.
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		return 0, 0, err
	}
	_, err = tx.Exec(ctx, `
		WITH x AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[]) AS x(id, bits, state, next_check)),
		u AS (UPDATE conversations c SET sla_notified = x.bits, sla_state = x.state, sla_next_check_at = x.next_check
			FROM x WHERE c.id = x.id),
		e AS MATERIALIZED (SELECT nextval('conversation_events_id_seq') AS id, e.*
			FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::timestamptz[], $11::text[])
			AS e(ws, conv, cycle, channel, kind, at, note)),
		ev AS (INSERT INTO conversation_events (id, workspace_id, conversation_id, cycle_id, kind, at, actor_kind, note)
			SELECT id, ws, conv, cycle, kind, at, $12, note FROM e),
		act AS (INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, private,
				sender_type, event_id, created_at)
			SELECT ws, conv, cycle, channel, 'out', 'activity', '', true, 'system', id, at FROM e)
		SELECT count(pg_notify($13, p)) FROM unnest($14::text[]) p`,
		w.uID, w.uBits, w.uState, w.uNext, w.eWS, w.eConv, w.eCycle, w.eChan, w.eKind, w.eAt, w.eNote, ActorSLA, live.Channel, w.notes)
	if err != nil {
		return 0, 0, err
	}
	return alerts, len(rows), tx.Commit(ctx)
}
