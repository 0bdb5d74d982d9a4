package sla

import (
	"testing"
	"time"

	"github.com/atiende/atiende/app/calendar"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func tp(s string) *time.Time { t := utc(s); return &t }

func mustCal(t *testing.T, tz string, hours map[string][][2]string, holidays ...string) *calendar.Calendar {
	t.Helper()
	c, err := calendar.Parse(tz, hours, holidays)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// Every case is computed by hand; times in UTC (Lima is UTC-5 all year; Santiago is
// UTC-4 in winter, UTC-3 in summer: DST starts 2026-09-06 00:00 → 01:00 and ends
// 2026-04-05 00:00 → 23:00 the day before).
func TestDeadlines(t *testing.T) {
	day := [][2]string{{"09:00", "13:00"}, {"14:00", "18:00"}}
	lima := mustCal(t, "America/Lima", map[string][][2]string{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
		"sat": {{"09:00", "12:00"}}}, "2026-07-28", "2026-07-29")
	// Santiago, open only around the September change: Sunday 00:00–02:00 (its first hour never happens).
	stgoSep := mustCal(t, "America/Santiago", map[string][][2]string{"sun": {{"00:00", "02:00"}}})
	// Santiago, open Saturday 23:00–24:00 (in April that hour happens twice).
	stgoApr := mustCal(t, "America/Santiago", map[string][][2]string{"sat": {{"23:00", "24:00"}}})
	h := time.Hour
	m := time.Minute

	cases := []struct {
		name  string
		p     Policy
		c     Cycle
		first Target
		next  Target
		res   Target
	}{
		{
			name: "wall clock, first response and resolution from the start",
			p:    Policy{FirstResponse: h, Resolution: 4 * h, WarningPercent: 80},
			c:    Cycle{Start: utc("2026-10-05T15:00:00Z")},
			// 80% of 1 h = 48 min; of 4 h = 3 h 12 min.
			first: Target{Due: utc("2026-10-05T16:00:00Z"), Warn: utc("2026-10-05T15:48:00Z")},
			res:   Target{Due: utc("2026-10-05T19:00:00Z"), Warn: utc("2026-10-05T18:12:00Z")},
		},
		{
			name: "lunch break: 1 h from 12:30 Lima is 14:30 (13:00–14:00 closed)",
			p:    Policy{FirstResponse: h, BusinessHours: true, WarningPercent: 80, Calendar: lima},
			c:    Cycle{Start: utc("2026-10-05T17:30:00Z")}, // Mon 12:30 Lima
			// 30 min before lunch, 30 after: 14:30 Lima. Warning at 48 min: 14:18 Lima.
			first: Target{Due: utc("2026-10-05T19:30:00Z"), Warn: utc("2026-10-05T19:18:00Z")},
		},
		{
			name:  "business hours flag without a calendar measures on the wall clock",
			p:     Policy{FirstResponse: h, BusinessHours: true, WarningPercent: 50},
			c:     Cycle{Start: utc("2026-10-05T17:30:00Z")},
			first: Target{Due: utc("2026-10-05T18:30:00Z"), Warn: utc("2026-10-05T18:00:00Z")},
		},
		{
			name: "weekend: 2 h from Friday 17:30 end Saturday 10:30 (Saturday 09–12)",
			p:    Policy{FirstResponse: 2 * h, BusinessHours: true, WarningPercent: 80, Calendar: lima},
			c:    Cycle{Start: utc("2026-10-09T22:30:00Z")}, // Fri 17:30 Lima
			// 30 min Friday, 90 min Saturday from 09:00. Warning at 96 min: Saturday 10:06.
			first: Target{Due: utc("2026-10-10T15:30:00Z"), Warn: utc("2026-10-10T15:06:00Z")},
		},
		{
			name: "resolution over a holiday weekend: Friday 17:00 + 15 h ends Thursday 12:00",
			p:    Policy{Resolution: 15 * h, BusinessHours: true, WarningPercent: 80, Calendar: lima},
			c:    Cycle{Start: utc("2026-07-24T22:00:00Z")}, // Fri 24 Jul 17:00 Lima
			// Fri 1 h, Sat 3 h, Sun closed, Mon 27 8 h (12 h), Tue 28 and Wed 29 holidays, Thu 30 09:00–12:00.
			// Warning at 12 h: Monday 18:00, the end of its day.
			res: Target{Due: utc("2026-07-30T17:00:00Z"), Warn: utc("2026-07-27T23:00:00Z")},
		},
		{
			name: "next response after a day's close: Monday 17:45 + 1 h is Tuesday 09:45",
			p:    Policy{NextResponse: h, BusinessHours: true, WarningPercent: 75, Calendar: lima},
			c:    Cycle{Start: utc("2026-10-05T14:00:00Z"), FirstReply: tp("2026-10-05T14:10:00Z"), WaitSince: tp("2026-10-05T22:45:00Z")},
			// 15 min Monday, 45 min Tuesday. Warning at 45 min: Tuesday 09:30.
			next: Target{Due: utc("2026-10-06T14:45:00Z"), Warn: utc("2026-10-06T14:30:00Z")},
		},
		{
			name: "first reply stops the first-response clock; no wait, no next-response clock",
			p:    Policy{FirstResponse: h, NextResponse: h, WarningPercent: 80},
			c:    Cycle{Start: utc("2026-10-05T15:00:00Z"), FirstReply: tp("2026-10-05T15:10:00Z")},
		},
		{
			name: "resolution paused while pending: no deadline",
			p:    Policy{FirstResponse: h, Resolution: 4 * h, WarningPercent: 80},
			c:    Cycle{Start: utc("2026-10-05T10:00:00Z"), PendingSince: tp("2026-10-05T10:30:00Z")},
			// The first-response clock is not paused by pending.
			first: Target{Due: utc("2026-10-05T11:00:00Z"), Warn: utc("2026-10-05T10:48:00Z")},
		},
		{
			name: "resolution after a pending hour (wall): due an hour later",
			p:    Policy{Resolution: 4 * h, WarningPercent: 80},
			c:    Cycle{Start: utc("2026-10-05T10:00:00Z"), FirstReply: tp("2026-10-05T11:00:00Z"), Paused: h},
			res:  Target{Due: utc("2026-10-05T15:00:00Z"), Warn: utc("2026-10-05T14:12:00Z")},
		},
		{
			name: "DST Santiago September: the skipped hour 00:00–01:00 counts nothing",
			p:    Policy{FirstResponse: 30 * m, BusinessHours: true, WarningPercent: 50, Calendar: stgoSep},
			c:    Cycle{Start: utc("2026-09-06T03:30:00Z")}, // Sat 23:30 (-04)
			// Opens at Sunday 01:00 (-03) = 04:00Z; 30 min later 04:30Z; warning after 15 min.
			first: Target{Due: utc("2026-09-06T04:30:00Z"), Warn: utc("2026-09-06T04:15:00Z")},
		},
		{
			name: "DST Santiago April: the repeated hour 23:00–24:00 counts twice",
			p:    Policy{FirstResponse: 90 * m, BusinessHours: true, WarningPercent: 80, Calendar: stgoApr},
			c:    Cycle{Start: utc("2026-04-05T01:00:00Z")}, // Sat 22:00 (-03)
			// 23:00–24:00 (-03) = 02:00–03:00Z: 60 min; again 23:00 (-04) = 03:00Z: 30 more → 03:30Z.
			// Warning at 72 min: 03:12Z.
			first: Target{Due: utc("2026-04-05T03:30:00Z"), Warn: utc("2026-04-05T03:12:00Z")},
		},
		{
			name: "wall clock over the April change is real time",
			p:    Policy{Resolution: 2 * h, WarningPercent: 80},
			c:    Cycle{Start: utc("2026-04-05T02:30:00Z")}, // Sat 23:30 (-03)
			res:  Target{Due: utc("2026-04-05T04:30:00Z"), Warn: utc("2026-04-05T04:06:00Z")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.p.Deadlines(tc.c)
			for _, x := range []struct {
				what      string
				got, want Target
			}{{"first response", d.FirstResponse, tc.first}, {"next response", d.NextResponse, tc.next}, {"resolution", d.Resolution, tc.res}} {
				if !x.got.Due.Equal(x.want.Due) || !x.got.Warn.Equal(x.want.Warn) {
					t.Errorf("%s: due %v warn %v, want due %v warn %v", x.what, x.got.Due, x.got.Warn, x.want.Due, x.want.Warn)
				}
			}
		})
	}
}

// Business pending time is taken out of the resolution clock: Monday 09:00 Lima, 4 h
// target, pending 12:00–15:00 (business 2 h: 12–13 and 14–15) → due 16:00, not 14:00.
func TestResolutionPausedOnBusinessHours(t *testing.T) {
	day := [][2]string{{"09:00", "13:00"}, {"14:00", "18:00"}}
	lima := mustCal(t, "America/Lima", map[string][][2]string{"mon": day})
	p := Policy{Resolution: 4 * time.Hour, BusinessHours: true, WarningPercent: 80, Calendar: lima}
	paused := p.Paused([]Span{{From: utc("2026-10-05T17:00:00Z"), To: utc("2026-10-05T20:00:00Z")}})
	if paused != 2*time.Hour {
		t.Fatalf("paused %v, want 2h", paused)
	}
	d := p.Deadlines(Cycle{Start: utc("2026-10-05T14:00:00Z"), Paused: paused})
	if want := utc("2026-10-05T21:00:00Z"); !d.Resolution.Due.Equal(want) {
		t.Fatalf("due %v, want %v", d.Resolution.Due, want)
	}
	// Warning at 3 h 12 min of resolution time, counted from the start with the 2 h
	// paused added back: 5 h 12 min of business time after 09:00 → 09–13, then 14:00–15:12.
	if want := utc("2026-10-05T20:12:00Z"); !d.Resolution.Warn.Equal(want) {
		t.Fatalf("warn %v, want %v", d.Resolution.Warn, want)
	}
}

func TestCheckAnnouncesOnce(t *testing.T) {
	d := Deadlines{FirstResponse: Target{Due: utc("2026-10-05T16:00:00Z"), Warn: utc("2026-10-05T15:48:00Z")},
		Resolution: Target{Due: utc("2026-10-05T19:00:00Z"), Warn: utc("2026-10-05T18:12:00Z")}}
	if got := NextCheck(d, 0); got == nil || !got.Equal(utc("2026-10-05T15:48:00Z")) {
		t.Fatalf("next check %v", got)
	}
	alerts, bits := Check(d, 0, utc("2026-10-05T15:47:59Z"))
	if len(alerts) != 0 || bits != 0 {
		t.Fatalf("before the warning: %v %b", alerts, bits)
	}
	alerts, bits = Check(d, 0, utc("2026-10-05T15:48:00Z"))
	if len(alerts) != 1 || alerts[0].Breach || alerts[0].Target != "first_response" || bits != FirstWarned {
		t.Fatalf("warning: %v %b", alerts, bits)
	}
	if State(d, bits) != StateWarning {
		t.Fatalf("state %q", State(d, bits))
	}
	if again, same := Check(d, bits, utc("2026-10-05T15:59:00Z")); len(again) != 0 || same != bits {
		t.Fatalf("announced twice: %v", again)
	}
	if got := NextCheck(d, bits); !got.Equal(utc("2026-10-05T16:00:00Z")) {
		t.Fatalf("next check after the warning %v", got)
	}
	alerts, bits = Check(d, bits, utc("2026-10-05T16:00:30Z"))
	if len(alerts) != 1 || !alerts[0].Breach || !alerts[0].At.Equal(utc("2026-10-05T16:00:00Z")) || State(d, bits) != StateBreached {
		t.Fatalf("breach: %v %b", alerts, bits)
	}
	// A late run that finds both thresholds passed announces only the breach.
	alerts, bits = Check(d, 0, utc("2026-10-05T20:00:00Z"))
	if len(alerts) != 2 || !alerts[0].Breach || !alerts[1].Breach || bits != FirstBits|ResBits {
		t.Fatalf("late run: %v %b", alerts, bits)
	}
	if NextCheck(d, bits) != nil {
		t.Fatal("nothing is left to check")
	}
	// The first reply ends the first-response clock: its breach no longer colours the card.
	d.FirstResponse = Target{}
	if State(d, FirstBits) != StateOK {
		t.Fatalf("state after the reply %q", State(d, FirstBits))
	}
	// The resolution breach lasts while pending (its clock paused).
	d.Resolution = Target{}
	if State(d, ResBits) != StateBreached {
		t.Fatalf("paused resolution breach %q", State(d, ResBits))
	}
	if Passed(Deadlines{FirstResponse: Target{Due: utc("2026-10-05T16:00:00Z"), Warn: utc("2026-10-05T15:48:00Z")}}, utc("2026-10-05T15:50:00Z")) != FirstWarned {
		t.Fatal("passed")
	}
}
