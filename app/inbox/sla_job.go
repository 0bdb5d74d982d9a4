package inbox

import (
	"context"
	"encoding/json"
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
func CheckSLA(ctx context.Context, pool *pgxpool.Pool, now time.Time) (int, error) {
	total := 0
	for {
		n, rows, err := checkSLABatch(ctx, pool, now)
		total += n
		if err != nil || rows < SLABatch {
			return total, err
		}
	}
}

type slaRow struct {
	id, ws, channel     int64
	cycle, team, agent  *int64
	status, state       string
	fDue, fWarn         *time.Time
	nDue, nWarn         *time.Time
	rDue, rWarn         *time.Time
	bits                int
	fSecs, nSecs, rSecs *int
	contact             string
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
	q, err := tx.Query(ctx, `
		SELECT c.id, c.workspace_id, c.channel_id, c.cycle_id, c.team_id, c.assignee_id, c.status, c.sla_state,
			c.first_response_due_at, c.first_response_warn_at, c.next_response_due_at, c.next_response_warn_at,
			c.resolution_due_at, c.resolution_warn_at, c.sla_notified,
			p.first_response_seconds, p.next_response_seconds, p.resolution_seconds,
			COALESCE(NULLIF(k.name, ''), NULLIF(k.profile_name, ''), NULLIF(k.phone, ''), k.username, '')
		FROM conversations c
		JOIN contacts k ON k.id = c.contact_id
		LEFT JOIN teams t ON t.id = c.team_id
		LEFT JOIN sla_policies p ON p.id = t.sla_policy_id
		WHERE c.sla_next_check_at <= $1
		ORDER BY c.sla_next_check_at
		LIMIT $2
		FOR UPDATE OF c SKIP LOCKED`, now, SLABatch)
	if err != nil {
		return 0, 0, err
	}
	var rows []slaRow
	teams := map[int64]bool{}
	for q.Next() {
		var r slaRow
		var bits int16
		if err := q.Scan(&r.id, &r.ws, &r.channel, &r.cycle, &r.team, &r.agent, &r.status, &r.state, &r.fDue, &r.fWarn,
			&r.nDue, &r.nWarn, &r.rDue, &r.rWarn, &bits, &r.fSecs, &r.nSecs, &r.rSecs, &r.contact); err != nil {
			q.Close()
			return 0, 0, err
		}
		r.bits = int(bits)
		rows = append(rows, r)
		if r.team != nil {
			teams[*r.team] = true
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return 0, 0, err
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	// The supervisors of the teams concerned, in one query.
	supervisors := map[int64][]int64{}
	if len(teams) > 0 {
		ids := make([]int64, 0, len(teams))
		for id := range teams {
			ids = append(ids, id)
		}
		sq, err := tx.Query(ctx, `SELECT tm.team_id, u.id FROM team_members tm JOIN users u ON u.id = tm.user_id
			WHERE tm.team_id = ANY($1) AND u.role = 'supervisor' AND u.active ORDER BY u.id`, ids)
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

	var (
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
	)
	target := func(r slaRow, t string) time.Duration {
		s := map[string]*int{"first_response": r.fSecs, "next_response": r.nSecs, "resolution": r.rSecs}[t]
		if s == nil {
			return 0
		}
		return time.Duration(*s) * time.Second
	}
	for _, r := range rows {
		if r.status == models.StatusClosed {
			// Closed by a path that left its clocks (a merge): nothing runs any more.
			uID, uBits, uState, uNext = append(uID, r.id), append(uBits, 0), append(uState, sla.StateNone), append(uNext, nil)
			continue
		}
		d := storedDeadlines(&models.Conversation{FirstResponseDueAt: r.fDue, FirstResponseWarnAt: r.fWarn,
			NextResponseDueAt: r.nDue, NextResponseWarnAt: r.nWarn, ResolutionDueAt: r.rDue, ResolutionWarnAt: r.rWarn})
		found, bits := sla.Check(d, r.bits, now)
		state := r.state
		if state != sla.StateNone {
			state = sla.State(d, bits)
		}
		uID, uBits, uState, uNext = append(uID, r.id), append(uBits, int32(bits)), append(uState, state), append(uNext, sla.NextCheck(d, bits))
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
			note := sla.Note(a.Target, target(r, a.Target))
			eWS, eConv, eCycle, eChan = append(eWS, r.ws), append(eConv, r.id), append(eCycle, r.cycle), append(eChan, r.channel)
			eKind, eAt, eNote = append(eKind, kind), append(eAt, a.At), append(eNote, note)
			text = sla.AlertText(a.Breach, note)
			if !a.Breach {
				due := map[string]time.Time{"first_response": d.FirstResponse.Due, "next_response": d.NextResponse.Due,
					"resolution": d.Resolution.Due}[a.Target]
				text += ": quedan " + sla.Duration(due.Sub(now))
			}
		}
		alerts += len(found)
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
		if r.contact != "" {
			text = r.contact + " · " + text
		}
		toast, err := json.Marshal(SLAToast{Users: users, Text: text, Breach: breach})
		if err != nil {
			return 0, 0, err
		}
		p, err := live.Payload(live.Event{Kind: "sla", WorkspaceID: r.ws, ConversationID: r.id, Status: r.status,
			TeamID: r.team, AssigneeID: r.agent, PrevTeamID: r.team, PrevAssigneeID: r.agent, Text: string(toast)})
		if err != nil {
			return 0, 0, err
		}
		notes = append(notes, p)
	}
	// One statement: the conversations' new state, the events (their ids drawn first, so
	// the activity lines point at them without joining back), the activity lines, and the
	// live notifications (sent by PostgreSQL at commit).
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
		uID, uBits, uState, uNext, eWS, eConv, eCycle, eChan, eKind, eAt, eNote, ActorSLA, live.Channel, notes)
	if err != nil {
		return 0, 0, err
	}
	return alerts, len(rows), tx.Commit(ctx)
}
