package setup

import (
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/calendar"
)

func TestNextOpeningsSkipWeekendHolidayAndOpenInterval(t *testing.T) {
	in := CalendarInput{Name: "Lima", Timezone: "America/Lima", Holidays: "2026-03-09",
		Days: map[string]string{"mon": "09:00-13:00, 14:00-18:00", "tue": "09:00–13:00, 14:00–18:00", "fri": "9:00 - 13:00"}}
	lima, _ := time.LoadLocation("America/Lima")
	cases := []struct {
		name string
		now  time.Time
		want []string
		open bool
	}{
		// Friday evening: the weekend and Monday's holiday are skipped.
		{"friday evening", time.Date(2026, 3, 6, 19, 0, 0, 0, lima), []string{"martes 10 de marzo a las 9:00", "martes 10 de marzo a las 14:00", "viernes 13 de marzo a las 9:00"}, false},
		// Inside Tuesday morning's interval: the next opening is after lunch.
		{"open now", time.Date(2026, 3, 10, 10, 30, 0, 0, lima), []string{"martes 10 de marzo a las 14:00", "viernes 13 de marzo a las 9:00", "lunes 16 de marzo a las 9:00"}, true},
	}
	for _, c := range cases {
		opens, open, errs := PreviewCalendar(in, c.now, 3)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", c.name, errs)
		}
		var got []string
		for _, o := range opens {
			got = append(got, calendar.OpeningES(o, lima))
		}
		if strings.Join(got, " | ") != strings.Join(c.want, " | ") || open != c.open {
			t.Errorf("%s: %v (open %v), want %v (open %v)", c.name, got, open, c.want, c.open)
		}
	}
}

func TestCalendarMessagesInSpanish(t *testing.T) {
	for _, c := range []struct {
		day, text, want string
	}{
		{"mon", "09:00-13:00, 12:00-18:00", "Lunes: los intervalos se superponen"},
		{"tue", "18:00-09:00", "termina antes de empezar"},
		{"wed", "25:00-26:00", "no es una hora válida"},
		{"thu", "09:00", "escribe cada intervalo como 09:00-13:00"},
	} {
		in := CalendarInput{Name: "X", Timezone: "America/Lima", Days: map[string]string{c.day: c.text}}
		_, _, _, v := parseCalendar(&in)
		if !strings.Contains(v["day_"+c.day], c.want) {
			t.Errorf("%s %q: %q, want %q", c.day, c.text, v["day_"+c.day], c.want)
		}
	}
	in := CalendarInput{Name: "X", Timezone: "Marte/Olympus", Days: map[string]string{}}
	if _, _, _, v := parseCalendar(&in); v["timezone"] == "" {
		t.Error("an unknown time zone is accepted")
	}
}
