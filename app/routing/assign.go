package routing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// candidate is an agent of a team who may get a chat.
type candidate struct {
	ID                 int64
	Name               string
	MaxConcurrent      int
	ScheduleCalendarID *int64
	RoutedAt           *time.Time
	Load               int
	Last               bool // handled this contact's previous cycle
	Locked             bool // pickSQL locked their row
	Claimed            bool // and claimed their turn
}

// choice is the agent chosen (nil: the team's queue) and why, as the activity says it.
type choice struct {
	agent *int64
	name  string
	why   string
}

// pick chooses an agent of team t for conversation c and locks that agent's row, so no
// other transaction can give them a chat until this one commits: the capacity counted
// after the lock is exact. prefer goes first when eligible; exclude is never chosen.
//
// The common case is one round trip (see pickSQL): the eligible agents in the
// strategy's order, the first one no other assignment holds locked, and its turn
// claimed when it can take the chat. When another assignment holds every one of them
// (a burst), the next free one is locked and claimed one statement at a time, and
// after a few tries the burst waits its turn.
func (s *Service) pick(tx *gorm.DB, t team, c *models.Conversation, prefer, exclude *int64, cycle int64) (choice, error) {
	queue := choice{why: "Sin agentes disponibles: espera en la cola de " + t.Name}
	if t.RoutingMode == models.RoutingManual && prefer == nil {
		return choice{why: t.Name + " asigna a mano: espera en su cola"}, nil
	}
	now := s.Clock.Now()
	q := pickQuery{team: t.ID, ws: c.WorkspaceID, conv: c.ID, cycle: cycle, sticky: t.Sticky,
		leastBusy: t.RoutingMode == models.RoutingLeastBusy, now: now}
	if prefer != nil {
		q.prefer = *prefer
		if t.RoutingMode == models.RoutingManual {
			q.onlyPrefer = *prefer
		}
	}
	if exclude != nil {
		q.exclude = *exclude
	}
	order, err := q.run(tx)
	if err != nil {
		return queue, err
	}
	if len(order) == 0 {
		return queue, nil
	}
	if order.lockedIndex() < 0 && order.scheduled() {
		// Some agents work by a schedule: nothing was locked until the calendars say
		// who is inside theirs now.
		closed, err := closedSchedules(tx, order, now)
		if err != nil {
			return queue, err
		}
		q.schedulesKnown, q.closed = true, closed
		if order, err = q.run(tx); err != nil {
			return queue, err
		}
		if len(order) == 0 {
			return queue, nil
		}
	}
	reason := func(k candidate) string {
		switch {
		case t.Sticky && k.Last:
			return fmt.Sprintf("Vuelve con %s, que la atendió antes", k.Name)
		case t.RoutingMode == models.RoutingLeastBusy:
			return fmt.Sprintf("Asignada a %s (el menos ocupado: %d %s)", k.Name, k.Load, plural(k.Load, "conversación", "conversaciones"))
		}
		return fmt.Sprintf("Asignada a %s (turno rotativo)", k.Name)
	}
	if i := order.lockedIndex(); i >= 0 {
		k := order[i]
		if k.Claimed {
			id := k.ID
			return choice{agent: &id, name: k.Name, why: reason(k)}, nil
		}
		// Counted again once locked (routing_can_take), they could not take it: at
		// capacity or gone offline since the snapshot.
		order = append(order[:i:i], order[i+1:]...)
	}
	byID := map[int64]candidate{}
	for _, k := range order {
		byID[k.ID] = k
	}
	for len(order) > 0 {
		ids := make([]string, len(order))
		for i, k := range order {
			ids[i] = strconv.FormatInt(k.ID, 10)
		}
		list := "{" + strings.Join(ids, ",") + "}"
		// The first candidate in order whose row no other assignment holds, locked,
		// counted again and its turn claimed in one statement.
		var got int64
		ok := false
		for try := 0; ; try++ {
			var row struct {
				ID      int64
				Claimed bool
			}
			if err := tx.Raw(`WITH got AS (
					SELECT id FROM users WHERE id = ANY(?::bigint[]) ORDER BY array_position(?::bigint[], id) LIMIT 1
					FOR NO KEY UPDATE SKIP LOCKED
				), claimed AS (
					UPDATE users u SET routed_at = ? FROM got WHERE u.id = got.id AND routing_can_take(got.id, ?) RETURNING u.id
				)
				SELECT got.id, EXISTS (SELECT FROM claimed) AS claimed FROM got`, list, list, now, c.WorkspaceID).Find(&row).Error; err != nil {
				return queue, err
			}
			got, ok = row.ID, row.Claimed
			if got != 0 || try == 3 {
				break
			}
			// All of them are being given chats right now (a burst): their transactions
			// commit within milliseconds.
			time.Sleep(time.Duration(1+rand.IntN(2*(try+1))) * time.Millisecond)
		}
		if got == 0 {
			// Still all held: wait for one of them (at random, so waiters spread out).
			got = order[rand.IntN(len(order))].ID
			if err := tx.Exec(`SELECT 1 FROM users WHERE id = ? FOR NO KEY UPDATE`, got).Error; err != nil {
				return queue, err
			}
			var err error
			if ok, err = claim(tx, got, c.WorkspaceID, now); err != nil {
				return queue, err
			}
		}
		if ok {
			id := got
			return choice{agent: &id, name: byID[got].Name, why: reason(byID[got])}, nil
		}
		for i, k := range order {
			if k.ID == got {
				order = append(order[:i], order[i+1:]...)
				break
			}
		}
	}
	return queue, nil
}

// claim gives agent id (locked by the caller) the turn if they are still eligible:
// counted again in a new statement, which sees every assignment committed before the
// lock was granted.
func claim(tx *gorm.DB, id, wsID int64, now time.Time) (bool, error) {
	var row struct{ ID int64 }
	err := tx.Raw(`UPDATE users SET routed_at = ? WHERE id = ? AND routing_can_take(id, ?) RETURNING id`, now, id, wsID).Find(&row).Error
	return row.ID != 0, err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pickQuery is one run of pickSQL.
type pickQuery struct {
	team, ws, conv, cycle       int64
	prefer, onlyPrefer, exclude int64 // 0: none
	sticky, leastBusy           bool
	schedulesKnown              bool
	closed                      []int64 // schedule calendars closed now (with schedulesKnown)
	now                         time.Time
}

// pickSQL reads the team's eligible agents (active, online, under their capacity,
// inside their schedule) in the order they get chats — the preferred agent, then the
// one who handled the contact's previous cycle, on this number or another of the
// workspace's (sticky teams), then by the strategy:
// least recently routed (round-robin), or fewest open chats then least recently
// routed (least busy) — and locks the first one whose row no other transaction holds.
// Their turn is claimed in the same statement when they can take the chat: when their
// row is as the statement's snapshot saw it (same xmin: no assignment committed to them
// since, so the chats counted in the snapshot are all they have), or else when counted
// again by routing_can_take, whose own snapshot sees everything committed before the
// lock.
// Without schedulesKnown, nobody is locked when an eligible agent has a schedule (the
// caller checks the calendars).
const pickSQL = `WITH cand AS MATERIALIZED (
		SELECT u.id, u.name, u.max_concurrent, u.schedule_calendar_id, u.routed_at, u.xmin AS snap_xmin,
			-- Counted up to the capacity only: an agent at it is not eligible, however far.
			(SELECT count(*) FROM (SELECT FROM conversations x WHERE x.workspace_id = u.workspace_id AND x.assignee_id = u.id
				AND x.status IN ('new', 'active') LIMIT u.max_concurrent) x) AS load,
			COALESCE(u.id = (SELECT y.assignee_id FROM conversations yc CROSS JOIN LATERAL (
					SELECT y.assignee_id, y.opened_at, y.id FROM cycles y
					WHERE y.conversation_id = yc.id AND y.id <> ? AND y.assignee_id IS NOT NULL
					ORDER BY y.opened_at DESC, y.id DESC LIMIT 1) y
				WHERE yc.contact_id = (SELECT contact_id FROM conversations WHERE id = ?)
				ORDER BY y.opened_at DESC, y.id DESC LIMIT 1), false) AS last
		FROM team_members m JOIN users u ON u.id = m.user_id
		WHERE m.team_id = ? AND u.workspace_id = ? AND u.active AND u.presence = 'online'
	), ok AS MATERIALIZED (
		SELECT cand.*, row_number() OVER (ORDER BY id = ? DESC, (? AND last) DESC, CASE WHEN ? THEN load END, routed_at NULLS FIRST, id) AS rank
		FROM cand
		WHERE load < max_concurrent AND id <> ? AND (? = 0 OR id = ?)
			AND (schedule_calendar_id IS NULL OR NOT schedule_calendar_id = ANY(?::bigint[]))
	), got AS (
		SELECT u.id, u.xmin AS lock_xmin FROM users u JOIN ok ON ok.id = u.id
		WHERE ? OR NOT EXISTS (SELECT 1 FROM ok WHERE ok.schedule_calendar_id IS NOT NULL)
		ORDER BY ok.rank LIMIT 1
		FOR NO KEY UPDATE OF u SKIP LOCKED
	), claimed AS (
		UPDATE users u SET routed_at = ? FROM got, ok WHERE u.id = got.id AND ok.id = got.id
			AND CASE WHEN got.lock_xmin = ok.snap_xmin THEN true ELSE routing_can_take(got.id, ?) END
		RETURNING u.id
	)
	SELECT ok.id, ok.name, ok.max_concurrent, ok.schedule_calendar_id, ok.routed_at, ok.load, ok.last,
		got.id IS NOT NULL AS locked, claimed.id IS NOT NULL AS claimed
	FROM ok LEFT JOIN got ON got.id = ok.id LEFT JOIN claimed ON claimed.id = ok.id
	ORDER BY ok.rank`

type candidates []candidate

func (q pickQuery) run(tx *gorm.DB) (candidates, error) {
	closed := make([]string, len(q.closed))
	for i, id := range q.closed {
		closed[i] = strconv.FormatInt(id, 10)
	}
	var rows candidates
	err := tx.Raw(pickSQL, q.cycle, q.conv, q.team, q.ws,
		q.prefer, q.sticky, q.leastBusy, q.exclude, q.onlyPrefer, q.onlyPrefer, "{"+strings.Join(closed, ",")+"}",
		q.schedulesKnown, q.now, q.ws).Find(&rows).Error
	return rows, err
}

// lockedIndex is the position of the agent the statement locked (-1: none).
func (cs candidates) lockedIndex() int {
	for i, k := range cs {
		if k.Locked {
			return i
		}
	}
	return -1
}

func (cs candidates) scheduled() bool {
	for _, k := range cs {
		if k.ScheduleCalendarID != nil {
			return true
		}
	}
	return false
}

// closedSchedules are the schedule calendars of cs that are closed at now.
func closedSchedules(tx *gorm.DB, cs candidates, now time.Time) ([]int64, error) {
	var calIDs []int64
	for _, k := range cs {
		if k.ScheduleCalendarID != nil {
			calIDs = append(calIDs, *k.ScheduleCalendarID)
		}
	}
	var cals []models.Calendar
	if err := tx.Where("id IN ?", calIDs).Find(&cals).Error; err != nil {
		return nil, err
	}
	open := map[int64]bool{}
	for _, m := range cals {
		if cal, err := calendar.FromModel(m); err == nil {
			open[m.ID] = cal.IsOpen(now)
		}
	}
	var closed []int64
	for _, id := range calIDs {
		if !open[id] {
			closed = append(closed, id)
		}
	}
	return closed, nil
}

// assignQueued gives conversation c (locked, waiting in its team's queue) an agent by
// the team's strategy. It reports whether an agent was found; with note it records a
// decision even when none was (a transfer to the team).
func (s *Service) assignQueued(tx *gorm.DB, c *models.Conversation, prefix string, exclude *int64, recordQueue bool) (bool, error) {
	if c.TeamID == nil || c.AssigneeID != nil || c.Status != models.StatusNew {
		return false, nil
	}
	t, err := loadTeam(tx, c.WorkspaceID, *c.TeamID)
	if err != nil || t.ID == 0 || t.RoutingMode == models.RoutingManual {
		return false, err // a manual team's queue is worked by hand: nothing to decide
	}
	var cycle int64
	if c.CycleID != nil {
		cycle = *c.CycleID
	}
	pick, err := s.pick(tx, t, c, nil, exclude, cycle)
	if err != nil {
		return false, err
	}
	a := inbox.As(inbox.ActorRouting, models.Workspace{ID: c.WorkspaceID})
	if pick.agent == nil {
		if !recordQueue {
			return false, nil
		}
		_, err = s.Inbox.Apply(tx, c, inbox.Command{Kind: inbox.CmdRoute, At: s.Clock.Now(), Actor: a, Note: prefix + pick.why})
		return false, err
	}
	_, err = s.Inbox.Apply(tx, c, inbox.Command{Kind: inbox.CmdAssign, At: s.Clock.Now(), Actor: a, Agent: pick.agent, Note: prefix + pick.why})
	return err == nil, err
}

// AfterCommit is the inbox's AfterCommit hook: conversations sent to a team with
// nobody named are assigned by its strategy; agents who came online or freed capacity
// get the oldest chats waiting in their teams' queues.
func (s *Service) AfterCommit(ctx context.Context, wsID int64, freed, queued []int64) {
	for _, id := range queued {
		err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
			c, ok, err := inbox.LockForRouting(tx, wsID, id, false)
			if err != nil || !ok {
				return err
			}
			_, err = s.assignQueued(tx, &c, "", nil, true)
			return err
		})
		if err != nil {
			s.Logger.Error("routing: assigning a transferred conversation", "conversation", id, "err", err)
		}
	}
	if len(freed) == 0 {
		return
	}
	var teams []int64
	if err := s.ctxDB(ctx).Raw(`SELECT DISTINCT m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id
		WHERE m.user_id IN ? AND m.workspace_id = ? AND t.routing_mode <> 'manual'`, freed, wsID).Scan(&teams).Error; err != nil {
		s.Logger.Error("routing: teams of freed agents", "err", err)
		return
	}
	for _, t := range teams {
		if _, err := s.DrainTeam(ctx, wsID, t, 0); err != nil {
			s.Logger.Error("routing: draining a queue", "team", t, "err", err)
		}
	}
}

// drainBatch is how many queued chats one transaction assigns.
const drainBatch = 25

// DrainTeam assigns the oldest conversations waiting in the team's queue while an
// eligible agent is found (at most limit; 0 = all). Chats another transaction holds
// are skipped. It returns how many it assigned.
func (s *Service) DrainTeam(ctx context.Context, wsID, teamID int64, limit int) (int, error) {
	total := 0
	for limit == 0 || total < limit {
		assigned, stop := 0, false
		err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
			var skip []int64
			for i := 0; i < drainBatch; i++ {
				var c models.Conversation
				q := `SELECT c.*, (SELECT y.first_reply_at IS NOT NULL FROM cycles y WHERE y.id = c.cycle_id) AS cycle_replied
					FROM conversations c
					WHERE c.team_id = ? AND c.status = 'new' AND c.assignee_id IS NULL AND c.workspace_id = ? AND c.cycle_id IS NOT NULL`
				args := []any{teamID, wsID}
				if len(skip) > 0 {
					q += ` AND c.id NOT IN ?`
					args = append(args, skip)
				}
				q += ` ORDER BY c.waiting_since NULLS LAST, c.id LIMIT 1 FOR UPDATE OF c SKIP LOCKED`
				if err := tx.Raw(q, args...).Find(&c).Error; err != nil {
					return err
				}
				if c.ID == 0 {
					stop = true
					return nil
				}
				ok, err := s.assignQueued(tx, &c, "De la cola: ", nil, false)
				if err != nil {
					return err
				}
				if !ok {
					stop = true // nobody eligible: the rest waits too
					return nil
				}
				assigned++
				if limit != 0 && total+assigned >= limit {
					stop = true
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += assigned
		if stop || assigned == 0 {
			return total, nil
		}
	}
	return total, nil
}

// DrainAll drains every queue of every team that routes automatically (the
// "routing.drain" job, a safety net for the events that drain at once).
func (s *Service) DrainAll(ctx context.Context) (int, error) {
	var rows []struct{ WorkspaceID, TeamID int64 }
	if err := s.ctxDB(ctx).Raw(`SELECT DISTINCT c.workspace_id, c.team_id FROM conversations c JOIN teams t ON t.id = c.team_id
		WHERE c.status = 'new' AND c.assignee_id IS NULL AND c.team_id IS NOT NULL AND t.routing_mode <> 'manual'`).Scan(&rows).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		k, err := s.DrainTeam(ctx, r.WorkspaceID, r.TeamID, 0)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Reassign takes chats back from agents who are offline or deactivated for longer than
// their team's grace period, or who left a waiting customer unanswered past the team's
// limit (business time of its calendar), and assigns them again by strategy (the
// "routing.reassign" job). It returns how many chats went back to a queue.
func (s *Service) Reassign(ctx context.Context, now time.Time) (int, error) {
	type row struct {
		ID          int64
		WorkspaceID int64
		AssigneeID  int64
		Name        string
		Active      bool
		TeamID      int64
	}
	var gone []row
	if err := s.ctxDB(ctx).Raw(`SELECT c.id, c.workspace_id, c.assignee_id, u.name, u.active, c.team_id
		FROM conversations c JOIN users u ON u.id = c.assignee_id JOIN teams t ON t.id = c.team_id
		WHERE c.status IN ('new', 'active') AND t.routing_mode <> 'manual'
			AND ((NOT u.active AND u.updated_at <= ?::timestamptz - make_interval(secs => t.offline_grace_seconds))
				OR (u.active AND u.presence = 'offline' AND COALESCE(u.last_seen_at, u.updated_at) <= ?::timestamptz - make_interval(secs => t.offline_grace_seconds)))
		ORDER BY c.waiting_since NULLS LAST, c.id`, now, now).Scan(&gone).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, g := range gone {
		why := g.Name + " se desconectó: vuelve a la cola"
		if !g.Active {
			why = g.Name + " ya no está activo: vuelve a la cola"
		}
		ok, err := s.takeBack(ctx, g.WorkspaceID, g.ID, g.AssigneeID, why)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	// Unanswered: the customer waits on the agent past the team's limit. The wall clock
	// filters (business time never exceeds it); the calendar decides.
	var silent []struct {
		ID          int64
		WorkspaceID int64
		AssigneeID  int64
		Name        string
		Active      bool
		TeamID      int64
		Limit       int
		WaitFrom    time.Time
		AssignedAt  *time.Time
	}
	if err := s.ctxDB(ctx).Raw(`SELECT c.id, c.workspace_id, c.assignee_id, u.name, u.active, c.team_id, t.unanswered_limit_seconds AS "limit",
			c.waiting_since AS wait_from,
			(SELECT max(e.at) FROM conversation_events e WHERE e.conversation_id = c.id AND e.kind IN ('assign', 'route', 'transfer')
				AND e.to_user_id = c.assignee_id) AS assigned_at
		FROM conversations c JOIN users u ON u.id = c.assignee_id JOIN teams t ON t.id = c.team_id
		WHERE c.status IN ('new', 'active') AND t.routing_mode <> 'manual' AND t.unanswered_limit_seconds IS NOT NULL
			AND c.waiting_since IS NOT NULL AND c.waiting_since <= ?::timestamptz - make_interval(secs => t.unanswered_limit_seconds)`, now).Scan(&silent).Error; err != nil {
		return n, err
	}
	cals := map[int64]*calendar.Calendar{}
	for _, r := range silent {
		from := r.WaitFrom
		if r.AssignedAt != nil && r.AssignedAt.After(from) {
			from = *r.AssignedAt
		}
		cal, seen := cals[r.TeamID]
		if !seen {
			t, err := loadTeam(s.ctxDB(ctx), r.WorkspaceID, r.TeamID)
			if err != nil {
				return n, err
			}
			cal, _ = t.calendar()
			cals[r.TeamID] = cal
		}
		waited := now.Sub(from)
		if cal != nil {
			waited = cal.Business(from, now)
		}
		if waited < time.Duration(r.Limit)*time.Second {
			continue
		}
		why := fmt.Sprintf("%s no respondió en %s: vuelve a la cola", r.Name, minutes(r.Limit))
		ok, err := s.takeBack(ctx, r.WorkspaceID, r.ID, r.AssigneeID, why)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func minutes(secs int) string {
	if secs%60 == 0 {
		m := secs / 60
		return fmt.Sprintf("%d %s", m, plural(m, "minuto", "minutos"))
	}
	return fmt.Sprintf("%d segundos", secs)
}

// takeBack sends conversation id back to its team's queue if agent still has it in
// Nuevos or En atención, and assigns it again by strategy, to someone else.
func (s *Service) takeBack(ctx context.Context, wsID, id, agent int64, why string) (bool, error) {
	done := false
	err := s.ctxDB(ctx).Transaction(func(tx *gorm.DB) error {
		c, ok, err := inbox.LockForRouting(tx, wsID, id, true)
		if err != nil || !ok {
			return err
		}
		if c.AssigneeID == nil || *c.AssigneeID != agent || (c.Status != models.StatusNew && c.Status != models.StatusActive) || c.CycleID == nil {
			return nil // it moved meanwhile
		}
		a := inbox.As(inbox.ActorRouting, models.Workspace{ID: wsID})
		if _, err := s.Inbox.Apply(tx, &c, inbox.Command{Kind: inbox.CmdRoute, At: s.Clock.Now(), Actor: a, Note: why}); err != nil {
			return err
		}
		done = true
		_, err = s.assignQueued(tx, &c, "", &agent, false)
		return err
	})
	return done, err
}
