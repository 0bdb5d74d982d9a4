// Package sla is the one definition of live SLA deadlines (metrics.md, "SLA"): given a
// team's policy and calendar and what a cycle has done so far — its start, its first
// agent reply, its pending time, the next-response wait that is open — it says when
// each running target is due and when its warning comes. The engine calls it when
// events happen (app/inbox), the "sla" job marks what came due, and reports evaluate
// the same targets from the cycle rows.
//
// Clocks: a policy measures on the wall clock, or with BusinessHours on the team's
// calendar (business time, DST-correct, app/calendar); a policy with BusinessHours
// whose team has no calendar measures on the wall clock (a team without a calendar
// counts every second as business time). The first-response clock runs from the
// cycle's start to the first agent reply; a next-response clock from the customer
// message that started the wait to the next agent reply; the resolution clock from
// the start to the close with the time spent pending taken out (paused while pending).
package sla

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/models"
)

// Policy is a team's SLA policy with the team's calendar. A zero target is no target.
type Policy struct {
	ID            int64
	Name          string
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	BusinessHours bool
	// WarningPercent is the share of each target at which it warns (1–99; 0 reads as 80).
	WarningPercent int
	// Calendar is the team's business calendar (nil: none).
	Calendar *calendar.Calendar
}

// FromModel builds a policy from its row and the team's calendar (nil when the team has none).
func FromModel(p models.SLAPolicy, cal *calendar.Calendar) Policy {
	secs := func(s *int) time.Duration {
		if s == nil || *s <= 0 {
			return 0
		}
		return time.Duration(*s) * time.Second
	}
	return Policy{ID: p.ID, Name: p.Name, FirstResponse: secs(p.FirstResponseSeconds), NextResponse: secs(p.NextResponseSeconds),
		Resolution: secs(p.ResolutionSeconds), BusinessHours: p.BusinessHours, WarningPercent: p.WarningPercent, Calendar: cal}
}

// Business reports whether the policy measures on a business calendar.
func (p Policy) Business() bool { return p.BusinessHours && p.Calendar != nil }

// Elapsed is the time of [from, to) on the policy's clock.
func (p Policy) Elapsed(from, to time.Time) time.Duration {
	if !from.Before(to) {
		return 0
	}
	if p.Business() {
		return p.Calendar.Business(from, to)
	}
	return to.Sub(from)
}

// Add is the instant at which d has passed on the policy's clock since from; the zero
// time when a business calendar never opens again.
func (p Policy) Add(from time.Time, d time.Duration) time.Time {
	if p.Business() {
		return p.Calendar.Add(from, d)
	}
	return from.Add(d)
}

// warning is the share of target d at which it warns.
func (p Policy) warning(d time.Duration) time.Duration {
	pct := p.WarningPercent
	if pct <= 0 || pct >= 100 {
		pct = 80
	}
	return d * time.Duration(pct) / 100
}

// Span is a stretch of time [From, To).
type Span struct{ From, To time.Time }

// Paused is the time of spans on the policy's clock (closed pending spans of a cycle).
func (p Policy) Paused(spans []Span) time.Duration {
	var total time.Duration
	for _, s := range spans {
		total += p.Elapsed(s.From, s.To)
	}
	return total
}

// Cycle is what a cycle has done so far, as its clocks need it.
type Cycle struct {
	// Start is the cycle's opening message (or the reopening drag).
	Start time.Time
	// FirstReply is the cycle's first agent reply (nil: none yet).
	FirstReply *time.Time
	// Paused is the time of the cycle's closed pending spans, on the policy's clock.
	Paused time.Duration
	// PendingSince is the start of the pending span running now (nil: not pending).
	PendingSince *time.Time
	// WaitSince is the start of the next-response wait that is open (nil: none).
	WaitSince *time.Time
}

// Target is one running clock: when it is due and when it warns. Zero times: the
// clock is not running (no target, already met, paused).
type Target struct{ Due, Warn time.Time }

// Running reports whether the clock runs.
func (t Target) Running() bool { return !t.Due.IsZero() }

// Deadlines are the three clocks of a cycle.
type Deadlines struct{ FirstResponse, NextResponse, Resolution Target }

// Deadlines computes the running clocks of cycle c under p.
func (p Policy) Deadlines(c Cycle) Deadlines {
	var d Deadlines
	at := func(from time.Time, offset, target time.Duration) Target {
		due := p.Add(from, offset+target)
		if due.IsZero() {
			return Target{} // a calendar that never opens: no deadline
		}
		return Target{Due: due, Warn: p.Add(from, offset+p.warning(target))}
	}
	if p.FirstResponse > 0 && c.FirstReply == nil {
		d.FirstResponse = at(c.Start, 0, p.FirstResponse)
	}
	if p.NextResponse > 0 && c.WaitSince != nil {
		d.NextResponse = at(*c.WaitSince, 0, p.NextResponse)
	}
	if p.Resolution > 0 && c.PendingSince == nil {
		// The resolution clock has run for Elapsed(start, t) - Paused at t (while not
		// pending): it reaches the target when Elapsed(start, t) = target + Paused.
		d.Resolution = at(c.Start, c.Paused, p.Resolution)
	}
	return d
}

// Notified bits: which thresholds the job has announced for the cycle's clocks.
const (
	FirstWarned   = 1 << iota // first response: warning announced
	FirstBreached             // first response: breach announced
	NextWarned                // next response (the open wait)
	NextBreached              //
	ResWarned                 // resolution
	ResBreached               //
	FirstBits     = FirstWarned | FirstBreached
	NextBits      = NextWarned | NextBreached
	ResBits       = ResWarned | ResBreached
	AllBits       = FirstBits | NextBits | ResBits
)

// Targets names the three clocks, in the order of their bits.
var Targets = [3]string{"first_response", "next_response", "resolution"}

func (d Deadlines) list() [3]Target { return [3]Target{d.FirstResponse, d.NextResponse, d.Resolution} }

// Alert is a threshold the job announces.
type Alert struct {
	Target string // first_response, next_response, resolution
	Breach bool   // a breach (else a warning)
	At     time.Time
}

// Check returns the thresholds of d passed by now and not yet announced in notified,
// and the bits once they are: a breach announced with its warning still pending
// announces only the breach.
func Check(d Deadlines, notified int, now time.Time) ([]Alert, int) {
	var out []Alert
	for i, t := range d.list() {
		if !t.Running() {
			continue
		}
		wb, bb := 1<<(2*i), 1<<(2*i+1)
		switch {
		case !t.Due.After(now) && notified&bb == 0:
			out = append(out, Alert{Target: Targets[i], Breach: true, At: t.Due})
			notified |= wb | bb
		case !t.Warn.After(now) && notified&(wb|bb) == 0:
			out = append(out, Alert{Target: Targets[i], At: t.Warn})
			notified |= wb
		}
	}
	return out, notified
}

// Passed is the bits of the thresholds of d already passed at now (the bits a
// recomputation keeps: what was announced and still holds is not announced again).
func Passed(d Deadlines, now time.Time) int {
	bits := 0
	for i, t := range d.list() {
		if !t.Running() {
			continue
		}
		if !t.Warn.After(now) {
			bits |= 1 << (2 * i)
		}
		if !t.Due.After(now) {
			bits |= 1 << (2*i + 1)
		}
	}
	return bits
}

// NextCheck is the earliest threshold of d not yet announced (nil: none), when the job
// must look at the conversation again.
func NextCheck(d Deadlines, notified int) *time.Time {
	var next *time.Time
	for i, t := range d.list() {
		if !t.Running() {
			continue
		}
		wb, bb := 1<<(2*i), 1<<(2*i+1)
		for _, c := range []struct {
			at  time.Time
			bit int
		}{{t.Warn, wb | bb}, {t.Due, bb}} {
			if notified&c.bit == 0 && (next == nil || c.at.Before(*next)) {
				at := c.at
				next = &at
			}
		}
	}
	return next
}

// States of a conversation's SLA (conversations.sla_state).
const (
	StateNone     = ""
	StateOK       = "ok"
	StateWarning  = "warning"
	StateBreached = "breached"
)

// State is the card's SLA state from the clocks and what was announced: a running
// first- or next-response clock counts while it runs (a reply ends it); the resolution
// clock's warning and breach last for the rest of the cycle, paused or not (its time
// never goes back).
func State(d Deadlines, notified int) string {
	level := 0
	for i, t := range d.list() {
		if !t.Running() && i != 2 {
			continue
		}
		if notified&(1<<(2*i+1)) != 0 {
			level = max(level, 2)
		} else if notified&(1<<(2*i)) != 0 {
			level = max(level, 1)
		}
	}
	return [...]string{StateOK, StateWarning, StateBreached}[level]
}

// Label is the Spanish name of a target ("primera respuesta").
func Label(target string) string {
	switch target {
	case "first_response":
		return "primera respuesta"
	case "next_response":
		return "siguiente respuesta"
	case "resolution":
		return "resolución"
	}
	return target
}

// Duration is a target or a time left for people: "45 min", "1 h", "1 h 20 min", "2 d 3 h".
func Duration(d time.Duration) string {
	if d < time.Minute {
		return "1 min"
	}
	m := int(d.Minutes())
	switch {
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 24*60:
		if m%60 == 0 {
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	days, hours := m/(24*60), (m%(24*60))/60
	if hours == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, hours)
}

// Note is how an alert's event records its target: "first_response 3600".
func Note(target string, d time.Duration) string {
	return fmt.Sprintf("%s %d", target, int64(d/time.Second))
}

// AlertText is the sentence of an alert event (kind sla_warning or sla_breach) with
// its note: "Se venció el plazo de primera respuesta (1 h)".
func AlertText(breach bool, note string) string {
	target, secs, _ := strings.Cut(note, " ")
	n, _ := strconv.ParseInt(secs, 10, 64)
	of := Label(target)
	if n > 0 {
		of += " (" + TargetText(int(n)) + ")"
	}
	if breach {
		return "Se venció el plazo de " + of
	}
	return "El plazo de " + of + " está por vencer"
}

// Seconds is n seconds as a duration.
func Seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// TargetText is a target as managers write it: whole hours in hours however long
// ("48 h"), else hours and minutes ("1 h 30 min", "45 min").
func TargetText(secs int) string {
	m := (secs + 59) / 60
	switch {
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	case m > 60:
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d min", m)
}
