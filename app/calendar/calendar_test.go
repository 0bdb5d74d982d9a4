package calendar

import (
	"math/rand/v2"
	"testing"
	"time"
)

func lima(t *testing.T) Calendar {
	t.Helper()
	weekday := [][2]string{{"09:00", "13:00"}, {"14:00", "18:00"}}
	c, err := Parse("America/Lima", map[string][][2]string{
		"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": weekday, "sat": {{"09:00", "12:00"}},
	}, []string{"2026-07-28", "2026-07-29"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Hand-computed cases: multi-interval days, lunch, weekends, holidays.
func TestBusinessTimeByHand(t *testing.T) {
	c := lima(t)
	loc := c.Loc
	cases := []struct {
		name     string
		from, to string
		want     time.Duration
	}{
		{"inside the morning", "2026-10-01 09:30", "2026-10-01 10:00", 30 * time.Minute},
		{"across lunch", "2026-10-01 12:30", "2026-10-01 14:30", time.Hour},
		{"before opening to after closing", "2026-10-01 07:00", "2026-10-01 20:00", 8 * time.Hour},
		{"overnight", "2026-10-01 17:00", "2026-10-02 10:00", 2 * time.Hour},
		{"Friday evening to Monday morning (Saturday half day)", "2026-10-02 17:30", "2026-10-05 09:15", 30*time.Minute + 3*time.Hour + 15*time.Minute},
		{"a holiday weekend: Monday 27 to Thursday 30 July", "2026-07-27 17:00", "2026-07-30 09:30", time.Hour + 30*time.Minute},
		{"on a holiday", "2026-07-28 10:00", "2026-07-28 11:00", 0},
		{"Sunday", "2026-10-04 10:00", "2026-10-04 16:00", 0},
		{"empty", "2026-10-01 10:00", "2026-10-01 10:00", 0},
		{"backwards", "2026-10-01 11:00", "2026-10-01 10:00", 0},
	}
	for _, tc := range cases {
		if got := c.Business(at(t, loc, tc.from), at(t, loc, tc.to)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// America/Santiago: in September the clock jumps from 24:00 to 01:00 (a skipped hour
// counts 0); in April it goes back from 24:00 to 23:00 (a repeated hour counts twice).
func TestBusinessTimeAcrossDST(t *testing.T) {
	c, err := Parse("America/Santiago", map[string][][2]string{
		"sat": {{"00:00", "24:00"}}, "sun": {{"00:00", "24:00"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-09-06 00:00 -04 does not exist: clocks go from Saturday 24:00 to Sunday 01:00.
	from := time.Date(2026, 9, 5, 22, 0, 0, 0, time.FixedZone("-04", -4*3600))
	to := from.Add(4 * time.Hour) // real time: Sat 22:00 -04 .. Sun 03:00 -03
	if got := c.Business(from, to); got != 4*time.Hour {
		t.Errorf("September weekend, open all day: %s, want 4h (every real second is open)", got)
	}
	// Open only 00:00–01:00 on Sunday: that hour is skipped, so it counts nothing.
	c2, _ := Parse("America/Santiago", map[string][][2]string{"sun": {{"00:00", "01:00"}}}, nil)
	if got := c2.Business(from, to); got != 0 {
		t.Errorf("a skipped hour: %s, want 0", got)
	}
	// 2026-04-05 00:00 -03 goes back to 2026-04-04 23:00 -04: Saturday 23:00–24:00 happens twice.
	c3, _ := Parse("America/Santiago", map[string][][2]string{"sat": {{"23:00", "24:00"}}}, nil)
	from = time.Date(2026, 4, 4, 21, 0, 0, 0, time.FixedZone("-03", -3*3600))
	to = from.Add(5 * time.Hour)
	if got := c3.Business(from, to); got != 2*time.Hour {
		t.Errorf("a repeated hour: %s, want 2h", got)
	}
}

func TestAddAndNextOpening(t *testing.T) {
	c := lima(t)
	loc := c.Loc
	cases := []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-10-01 09:00", time.Hour, "2026-10-01 10:00"},
		{"2026-10-01 12:30", time.Hour, "2026-10-01 14:30"},
		{"2026-10-02 17:30", time.Hour, "2026-10-03 09:30"},        // Friday late: on to Saturday morning
		{"2026-10-03 11:00", 2 * time.Hour, "2026-10-05 10:00"},    // Saturday's last hour, then Monday
		{"2026-07-27 17:00", 2 * time.Hour, "2026-07-30 10:00"},    // across the holidays
		{"2026-10-04 20:00", 30 * time.Minute, "2026-10-05 09:30"}, // from a Sunday night
		{"2026-10-01 18:00", 8*time.Hour + time.Minute, "2026-10-03 09:01"},
	}
	for _, tc := range cases {
		got := c.Add(at(t, loc, tc.from), tc.d)
		if want := at(t, loc, tc.want); !got.Equal(want) {
			t.Errorf("%s + %s = %s, want %s", tc.from, tc.d, got.In(loc).Format("Mon 2006-01-02 15:04"), tc.want)
		}
	}
	if got := c.NextOpening(at(t, loc, "2026-10-03 12:30")); !got.Equal(at(t, loc, "2026-10-05 09:00")) {
		t.Errorf("next opening after Saturday noon: %s", got.In(loc))
	}
	if got := c.NextOpening(at(t, loc, "2026-10-01 10:15")); !got.Equal(at(t, loc, "2026-10-01 10:15")) {
		t.Errorf("next opening while open: %s", got.In(loc))
	}
	if c.IsOpen(at(t, loc, "2026-10-01 13:59")) || c.IsOpen(at(t, loc, "2026-10-01 13:00")) || !c.IsOpen(at(t, loc, "2026-10-01 14:00")) {
		t.Error("IsOpen around lunch")
	}
	never, _ := Parse("UTC", nil, nil)
	if !never.Add(at(t, time.UTC, "2026-10-01 10:00"), time.Minute).IsZero() || !never.NextOpening(time.Now()).IsZero() {
		t.Error("a calendar that never opens has no deadline and no next opening")
	}
}

func TestParseRefusesBadCalendars(t *testing.T) {
	for _, tc := range []struct {
		tz    string
		hours map[string][][2]string
		hol   []string
	}{
		{"Mars/Olympus", nil, nil},
		{"UTC", map[string][][2]string{"lun": {{"09:00", "10:00"}}}, nil},
		{"UTC", map[string][][2]string{"mon": {{"18:00", "09:00"}}}, nil},
		{"UTC", map[string][][2]string{"mon": {{"09:00", "24:30"}}}, nil},
		{"UTC", map[string][][2]string{"mon": {{"09:00", "12:00"}, {"11:00", "13:00"}}}, nil},
		{"UTC", nil, []string{"28/07/2026"}},
	} {
		if _, err := Parse(tc.tz, tc.hours, tc.hol); err == nil {
			t.Errorf("accepted %v %v %v", tc.tz, tc.hours, tc.hol)
		}
	}
}

// Business time cross-checked against a brute-force count, minute by minute, on random
// calendars, zones (with DST) and intervals.
func TestBusinessTimeMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	zones := []string{"America/Santiago", "America/Lima", "America/Mexico_City", "Europe/Madrid", "America/New_York", "UTC"}
	for n := 0; n < 60; n++ {
		hours := map[string][][2]string{}
		for _, d := range Days {
			if rng.IntN(4) == 0 {
				continue
			}
			m := rng.IntN(300)
			for m < 24*60 && rng.IntN(3) > 0 {
				end := m + 1 + rng.IntN(400)
				if end > 24*60 {
					end = 24 * 60
				}
				hours[d] = append(hours[d], [2]string{hhmm(m), hhmm(end)})
				m = end + 1 + rng.IntN(300)
			}
		}
		var hol []string
		base := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		if rng.IntN(2) == 0 {
			hol = append(hol, base.AddDate(0, 0, rng.IntN(5)).Format("2006-01-02"))
		}
		tz := zones[rng.IntN(len(zones))]
		c, err := Parse(tz, hours, hol)
		if err != nil {
			t.Fatal(err)
		}
		from := base.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
		to := from.Add(time.Duration(rng.IntN(6*24*60)) * time.Minute)
		var brute time.Duration
		for m := from; m.Before(to); m = m.Add(time.Minute) {
			if c.IsOpen(m) {
				brute += time.Minute
			}
		}
		if got := c.Business(from, to); got != brute {
			t.Fatalf("%s %v holidays %v, %s .. %s: %s, brute force %s", tz, hours, hol, from, to, got, brute)
		}
		if brute > 0 {
			d := time.Duration(1+rng.IntN(int(brute/time.Minute))) * time.Minute
			end := c.Add(from, d)
			if got := c.Business(from, end); got != d || end.After(to) {
				t.Fatalf("%s: Add(%s, %s) = %s, whose business time is %s", tz, from, d, end, got)
			}
		}
	}
}

func hhmm(m int) string {
	if m == 24*60 {
		return "24:00"
	}
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute).Format("15:04")
}
