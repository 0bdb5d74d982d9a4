package inbox

import (
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/sla"
	"github.com/atiende/atiende/models"
)

// The live SLA clocks, kept by run() when events happen (metrics.md, "SLA"): a cycle
// that opens starts the first-response and resolution clocks; the first agent reply
// ends the first-response clock; a customer message on a pending card after a reply
// starts a next-response wait (later ones before the reply do not restart it), ended
// by the next agent reply; pending pauses the resolution clock and leaving pending
// resumes it; a transfer to another team recomputes everything from the cycle's start
// under that team's calendar and policy; the close stops every clock. The due and
// warning times are stored on the conversation, so the "sla" job finds what came due
// with one indexed query (sla_next_check_at).

// slaPlan is what a command writes of the clocks besides the conversation row.
type slaPlan struct {
	cycleSets []string
	cycleArgs []any
	// pendingSince is the pending span a new cycle starts in (reopened into Pendientes).
	pendingSince *time.Time
}

func (p *slaPlan) set(sql string, args ...any) {
	p.cycleSets = append(p.cycleSets, sql)
	p.cycleArgs = append(p.cycleArgs, args...)
}

// cycleClock is a cycle's clock state as stored.
type cycleClock struct {
	OpenedAt               time.Time
	FirstReplyAt           *time.Time
	PendingSince           *time.Time
	PendingSeconds         float64
	PendingBusinessSeconds float64
	NextWaitSince          *time.Time
}

// InvalidateSLA makes the engine read teams' SLA policies again (a policy, a team's
// policy or a calendar changed). Other processes see the change within sla.TTL.
func (s *Service) InvalidateSLA() { s.slaPolicies.Invalidate() }

// planSLA applies cmd's outcome o to the SLA fields of the locked conversation c (read
// in state st) and returns what the cycle row must record.
func (s *Service) planSLA(tx *gorm.DB, c *models.Conversation, st State, o Outcome, cmd Command) (slaPlan, error) {
	var pl slaPlan
	at := cmd.At
	if o.CloseCycle || o.has(EvClose) {
		setDeadlines(c, nil, sla.Deadlines{}, 0)
		if c.CycleID != nil && st.CycleOpen {
			pl.set("pending_seconds = pending_seconds + COALESCE(EXTRACT(EPOCH FROM (?::timestamptz - pending_since)), 0)", at)
			pl.set("pending_since = NULL")
			pl.set("next_wait_since = NULL")
		}
		return pl, nil
	}
	if o.OpenCycle != "" {
		p, err := s.slaPolicies.ForTeam(tx, o.State.Team)
		if err != nil {
			return pl, err
		}
		cy := sla.Cycle{Start: at}
		if o.State.Status == models.StatusPending {
			cy.PendingSince, pl.pendingSince = &at, &at
		}
		setDeadlines(c, p, deadlinesOf(p, cy), 0)
		return pl, nil
	}
	if !st.CycleOpen || c.CycleID == nil {
		return pl, nil
	}
	wasPending, nowPending := st.Status == models.StatusPending, o.State.Status == models.StatusPending
	teamChanged := !sameID(st.Team, o.State.Team)
	reply := cmd.Kind == CmdReply
	customer := cmd.Kind == CmdInbound && cmd.Counts
	resume := wasPending && !nowPending

	if !teamChanged && !resume {
		// Clocks only stop here: no policy or cycle needs reading.
		if !reply && !(nowPending && !wasPending) {
			return pl, nil
		}
		d := storedDeadlines(c)
		bits := c.SLANotified
		if reply {
			d.FirstResponse, d.NextResponse = sla.Target{}, sla.Target{}
			bits &^= sla.FirstBits | sla.NextBits
			pl.set("next_wait_since = NULL")
		}
		if nowPending && !wasPending {
			d.Resolution = sla.Target{}
			pl.set("pending_since = COALESCE(pending_since, ?)", at)
		}
		state := c.SLAState
		if state != sla.StateNone {
			state = sla.State(d, bits)
		}
		storeDeadlines(c, d, bits, state)
		return pl, nil
	}

	// The clocks move: recompute them from the cycle's start.
	var cy cycleClock
	if err := tx.Raw(`SELECT opened_at, first_reply_at, pending_since, pending_seconds, pending_business_seconds, next_wait_since
		FROM cycles WHERE id = ?`, *c.CycleID).Scan(&cy).Error; err != nil {
		return pl, err
	}
	p, err := s.slaPolicies.ForTeam(tx, o.State.Team)
	if err != nil {
		return pl, err
	}
	bits := c.SLANotified
	if resume && cy.PendingSince != nil {
		// The pending span ends: its time, on the wall and on the team's calendar, is
		// taken out of the resolution clock.
		wall := at.Sub(*cy.PendingSince).Seconds()
		biz := wall
		if old, err := s.slaPolicies.ForTeam(tx, st.Team); err != nil {
			return pl, err
		} else if old != nil && old.Calendar != nil {
			biz = old.Calendar.Business(*cy.PendingSince, at).Seconds()
		}
		cy.PendingSeconds += max(wall, 0)
		cy.PendingBusinessSeconds += biz
		cy.PendingSince = nil
		pl.set("pending_seconds = ?", cy.PendingSeconds)
		pl.set("pending_business_seconds = ?", cy.PendingBusinessSeconds)
		pl.set("pending_since = NULL")
	}
	if nowPending && !wasPending && cy.PendingSince == nil {
		cy.PendingSince = &at
		pl.set("pending_since = ?", at)
	}
	if customer && wasPending && cy.FirstReplyAt != nil && cy.NextWaitSince == nil {
		// A customer message on a pending card after a reply starts a next-response wait.
		cy.NextWaitSince = &at
		bits &^= sla.NextBits
		pl.set("next_wait_since = ?", at)
	}
	if teamChanged && p != nil && p.Calendar != nil {
		// Business pending time under the new team's calendar, from the cycle's status events.
		var evs []struct {
			At                   time.Time
			FromStatus, ToStatus string
		}
		if err := tx.Raw(`SELECT at, from_status, to_status FROM conversation_events
			WHERE cycle_id = ? AND kind = ? AND (from_status = 'pending' OR to_status = 'pending') ORDER BY at, id`,
			*c.CycleID, EvStatus).Scan(&evs).Error; err != nil {
			return pl, err
		}
		var spans []sla.Span
		var from *time.Time
		for _, e := range evs {
			switch {
			case e.ToStatus == models.StatusPending && from == nil:
				t := e.At
				from = &t
			case e.FromStatus == models.StatusPending && from != nil:
				spans = append(spans, sla.Span{From: *from, To: e.At})
				from = nil
			}
		}
		cy.PendingBusinessSeconds = 0
		for _, sp := range spans {
			cy.PendingBusinessSeconds += p.Calendar.Business(sp.From, sp.To).Seconds()
		}
		pl.set("pending_business_seconds = ?", cy.PendingBusinessSeconds)
	} else if teamChanged {
		// No calendar: business time is wall time.
		cy.PendingBusinessSeconds = cy.PendingSeconds
		pl.set("pending_business_seconds = ?", cy.PendingBusinessSeconds)
	}
	var d sla.Deadlines
	if p != nil {
		paused := cy.PendingSeconds
		if p.Business() {
			paused = cy.PendingBusinessSeconds
		}
		d = p.Deadlines(sla.Cycle{Start: cy.OpenedAt, FirstReply: cy.FirstReplyAt, PendingSince: cy.PendingSince,
			WaitSince: cy.NextWaitSince, Paused: time.Duration(paused * float64(time.Second))})
	}
	if teamChanged {
		// What was announced and still holds under the new policy is not announced
		// again; the rest is left to the job (the new team's supervisors hear of it).
		keep := sla.Passed(d, at)
		if !d.Resolution.Running() {
			keep |= bits & sla.ResBits // paused: its time never goes back
		}
		bits &= keep
	}
	setDeadlines(c, p, d, bits)
	return pl, nil
}

func deadlinesOf(p *sla.Policy, cy sla.Cycle) sla.Deadlines {
	if p == nil {
		return sla.Deadlines{}
	}
	return p.Deadlines(cy)
}

// setDeadlines stores d on c under policy p (nil: no policy, every SLA field cleared).
func setDeadlines(c *models.Conversation, p *sla.Policy, d sla.Deadlines, bits int) {
	if p == nil {
		storeDeadlines(c, sla.Deadlines{}, 0, sla.StateNone)
		return
	}
	storeDeadlines(c, d, bits, sla.State(d, bits))
}

func storeDeadlines(c *models.Conversation, d sla.Deadlines, bits int, state string) {
	c.FirstResponseDueAt, c.FirstResponseWarnAt = timePtr(d.FirstResponse.Due), timePtr(d.FirstResponse.Warn)
	c.NextResponseDueAt, c.NextResponseWarnAt = timePtr(d.NextResponse.Due), timePtr(d.NextResponse.Warn)
	c.ResolutionDueAt, c.ResolutionWarnAt = timePtr(d.Resolution.Due), timePtr(d.Resolution.Warn)
	c.SLANotified, c.SLAState = bits, state
	c.SLANextCheckAt = sla.NextCheck(d, bits)
}

// storedDeadlines reads the clocks stored on c.
func storedDeadlines(c *models.Conversation) sla.Deadlines {
	t := func(due, warn *time.Time) sla.Target {
		if due == nil {
			return sla.Target{}
		}
		tg := sla.Target{Due: *due, Warn: *due}
		if warn != nil {
			tg.Warn = *warn
		}
		return tg
	}
	return sla.Deadlines{FirstResponse: t(c.FirstResponseDueAt, c.FirstResponseWarnAt),
		NextResponse: t(c.NextResponseDueAt, c.NextResponseWarnAt), Resolution: t(c.ResolutionDueAt, c.ResolutionWarnAt)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
