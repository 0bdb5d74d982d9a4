// Package calendar is business time: a team's opening hours in its time zone, with
// several intervals a day and holidays, as metrics.md defines it. Business time of an
// interval is the real seconds during which the calendar's local wall clock is inside
// an open interval: a skipped DST hour counts 0 and a repeated one counts twice.
package calendar

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atiende/atiende/models"
)

// Span is one open interval of a day, [Start, End) in minutes after local midnight;
// End is at most 24*60 (24:00). Spans never cross midnight.
type Span struct{ Start, End int }

// Calendar is a week of opening hours and the holidays (whole local dates closed).
type Calendar struct {
	Loc      *time.Location
	Week     [7][]Span // by time.Weekday: Sunday is 0
	Holidays map[string]bool
}

// Days are the import format's day keys, by time.Weekday.
var Days = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Parse builds a calendar from the import format: hours {"mon": [["09:00","13:00"], …]}
// and holidays ["2026-07-28", …] in time zone tz. Intervals of a day are sorted and
// must not overlap.
func Parse(tz string, hours map[string][][2]string, holidays []string) (Calendar, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return Calendar{}, fmt.Errorf("unknown time zone %q", tz)
	}
	c := Calendar{Loc: loc, Holidays: map[string]bool{}}
	for day, spans := range hours {
		wd := -1
		for i, d := range Days {
			if strings.EqualFold(day, d) {
				wd = i
			}
		}
		if wd < 0 {
			return Calendar{}, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", day)
		}
		for _, sp := range spans {
			s, err1 := clock(sp[0])
			e, err2 := clock(sp[1])
			if err1 != nil || err2 != nil {
				return Calendar{}, fmt.Errorf("%s: times are HH:MM, 00:00 to 24:00 (got %q–%q)", day, sp[0], sp[1])
			}
			if e <= s {
				return Calendar{}, fmt.Errorf("%s: %s–%s ends before it starts (intervals never cross midnight)", day, sp[0], sp[1])
			}
			c.Week[wd] = append(c.Week[wd], Span{s, e})
		}
		sort.Slice(c.Week[wd], func(i, j int) bool { return c.Week[wd][i].Start < c.Week[wd][j].Start })
		for i := 1; i < len(c.Week[wd]); i++ {
			if c.Week[wd][i].Start < c.Week[wd][i-1].End {
				return Calendar{}, fmt.Errorf("%s: intervals overlap", day)
			}
		}
	}
	for _, h := range holidays {
		d, err := time.Parse("2006-01-02", h)
		if err != nil {
			return Calendar{}, fmt.Errorf("holiday %q is not a date YYYY-MM-DD", h)
		}
		c.Holidays[d.Format("2006-01-02")] = true
	}
	return c, nil
}

func clock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// wall is a local wall-clock reading as an instant of a naive timeline (the local
// fields read as UTC), where days are always 24 h long.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// open returns the open intervals of the naive date d (midnight UTC of the local date).
func (c Calendar) open(d time.Time) []Span {
	if c.Holidays[d.Format("2006-01-02")] {
		return nil
	}
	return c.Week[d.Weekday()]
}

// segments calls fn for each stretch of [from, to) with one UTC offset, with the
// stretch's start on the naive wall timeline; fn returns false to stop.
func (c Calendar) segments(from, to time.Time, fn func(a, b time.Time, wallA time.Time) bool) {
	for a := from; a.Before(to); {
		_, end := a.In(c.Loc).ZoneBounds()
		b := to
		if !end.IsZero() && end.Before(to) {
			b = end
		}
		if !fn(a, b, wall(a, c.Loc)) {
			return
		}
		a = b
	}
}

// Business is the business time of [from, to): the real time during which the local
// wall clock is inside an open interval.
func (c Calendar) Business(from, to time.Time) time.Duration {
	if !from.Before(to) {
		return 0
	}
	var total time.Duration
	c.segments(from, to, func(a, b, wa time.Time) bool {
		wb := wa.Add(b.Sub(a)) // within one offset, the wall clock moves with real time
		for d := midnight(wa); d.Before(wb); d = d.AddDate(0, 0, 1) {
			for _, sp := range c.open(d) {
				s := d.Add(time.Duration(sp.Start) * time.Minute)
				e := d.Add(time.Duration(sp.End) * time.Minute)
				total += overlap(wa, wb, s, e)
			}
		}
		return true
	})
	return total
}

// Add is the instant at which d of business time has passed since from (from itself
// when d is 0). It looks at most five years ahead: a calendar never open returns the
// zero time.
func (c Calendar) Add(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	left := d
	var at time.Time
	horizon := from.AddDate(5, 0, 0)
	c.segments(from, horizon, func(a, b, wa time.Time) bool {
		wb := wa.Add(b.Sub(a))
		for day := midnight(wa); day.Before(wb); day = day.AddDate(0, 0, 1) {
			for _, sp := range c.open(day) {
				s := maxTime(day.Add(time.Duration(sp.Start)*time.Minute), wa)
				e := minTime(day.Add(time.Duration(sp.End)*time.Minute), wb)
				if !s.Before(e) {
					continue
				}
				if got := e.Sub(s); got >= left {
					at = a.Add(s.Sub(wa) + left) // back from the naive timeline to the real one
					return false
				} else {
					left -= got
				}
			}
		}
		return true
	})
	return at
}

// NextOpening is the first instant at or after t when the calendar is open (t itself
// when it is open then); the zero time when it never opens within five years.
func (c Calendar) NextOpening(t time.Time) time.Time {
	var at time.Time
	c.segments(t, t.AddDate(5, 0, 0), func(a, b, wa time.Time) bool {
		wb := wa.Add(b.Sub(a))
		for day := midnight(wa); day.Before(wb); day = day.AddDate(0, 0, 1) {
			for _, sp := range c.open(day) {
				s := maxTime(day.Add(time.Duration(sp.Start)*time.Minute), wa)
				e := minTime(day.Add(time.Duration(sp.End)*time.Minute), wb)
				if s.Before(e) {
					at = a.Add(s.Sub(wa))
					return false
				}
			}
		}
		return true
	})
	return at
}

// IsOpen reports whether the calendar is open at t.
func (c Calendar) IsOpen(t time.Time) bool {
	w := wall(t, c.Loc)
	m := w.Hour()*60 + w.Minute()
	for _, sp := range c.open(midnight(w)) {
		if m >= sp.Start && m < sp.End {
			return true
		}
	}
	return false
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func overlap(a, b, s, e time.Time) time.Duration {
	lo, hi := maxTime(a, s), minTime(b, e)
	if lo.Before(hi) {
		return hi.Sub(lo)
	}
	return 0
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// FromModel reads a stored calendar.
func FromModel(m models.Calendar) (Calendar, error) {
	var hours map[string][][2]string
	var holidays []string
	if len(m.Hours) > 0 {
		if err := json.Unmarshal(m.Hours, &hours); err != nil {
			return Calendar{}, fmt.Errorf("calendar %q hours: %w", m.Name, err)
		}
	}
	if len(m.Holidays) > 0 {
		if err := json.Unmarshal(m.Holidays, &holidays); err != nil {
			return Calendar{}, fmt.Errorf("calendar %q holidays: %w", m.Name, err)
		}
	}
	return Parse(m.Timezone, hours, holidays)
}

var weekdaysES = [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
var monthsES = [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// ClockES says a local time of day in Spanish: "a las 9:00", "a la 1:30".
func ClockES(l time.Time) string {
	if l.Hour() == 1 {
		return fmt.Sprintf("a la %d:%02d", l.Hour(), l.Minute())
	}
	return fmt.Sprintf("a las %d:%02d", l.Hour(), l.Minute())
}

// OpeningES says a moment in Spanish, in loc: "lunes 9 de marzo a las 9:00" (the one
// wording of an opening, for the away message and the calendar screens).
func OpeningES(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	return fmt.Sprintf("%s %d de %s %s", weekdaysES[l.Weekday()], l.Day(), monthsES[l.Month()-1], ClockES(l))
}
