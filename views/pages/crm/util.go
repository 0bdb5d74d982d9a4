// Package crm renders the sales screens: the lead board and list, a lead, tasks, the
// pipelines settings and the leads card of the conversation panel.
package crm

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/models"
)

// Number formats n the es-419 way: 1.234.567.
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Money formats an amount with its currency code: "12.500 USD", "1.234,50 PEN".
func Money(v float64, currency string) string {
	return Amount(v) + " " + currency
}

// Amount formats an amount the es-419 way, with cents only when there are some.
func Amount(v float64) string {
	cents := int64(math.Round(v * 100))
	whole, frac := cents/100, cents%100
	if frac < 0 {
		frac = -frac
	}
	s := Number(int(whole))
	if frac != 0 {
		s += fmt.Sprintf(",%02d", frac)
	}
	return s
}

// InputAmount is an amount for a number input ("1234.5").
func InputAmount(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Sums formats a column's totals, one currency after another.
func Sums(sums []crm.Sum, weighted bool) string {
	if len(sums) == 0 {
		return "0"
	}
	parts := make([]string, len(sums))
	for i, s := range sums {
		v := s.Value
		if weighted {
			v = s.Weighted
		}
		parts[i] = Money(v, s.Currency)
	}
	return strings.Join(parts, " · ")
}

var months = []string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"}

// Day is a date like "12 mar 2027" (the year only when it is not the current one's).
func Day(t time.Time, now time.Time) string {
	if t.Year() == now.Year() {
		return fmt.Sprintf("%d %s", t.Day(), months[t.Month()-1])
	}
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

// DateTime is "hoy, 15:04", "mañana, 09:30", "ayer, 18:00" or "12 mar, 15:04" in loc.
func DateTime(t time.Time, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, loc) }
	switch day(t).Sub(day(now)).Round(time.Hour) / (24 * time.Hour) {
	case 0:
		return "hoy, " + t.Format("15:04")
	case 1:
		return "mañana, " + t.Format("15:04")
	case -1:
		return "ayer, " + t.Format("15:04")
	}
	return Day(t, now) + ", " + t.Format("15:04")
}

// DateInput is t as a date input's value.
func DateInput(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

// DaysLabel is "hoy", "1 día", "5 días".
func DaysLabel(n int) string {
	switch n {
	case 0:
		return "hoy"
	case 1:
		return "1 día"
	}
	return strconv.Itoa(n) + " días"
}

// KindLabel names a stage kind.
func KindLabel(k string) string {
	switch k {
	case models.StageWon:
		return "Ganada"
	case models.StageLost:
		return "Perdida"
	}
	return "Abierta"
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
func itoa(n int) string  { return strconv.Itoa(n) }

func ptrI64(p *int64) string {
	if p == nil {
		return ""
	}
	return i64(*p)
}

func ptrInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// withQuery appends a query string to a path.
func withQuery(path, q string) string {
	if q == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// columnMoreURL is the "Cargar más" URL of a column.
func columnMoreURL(stageID int64, cursor, query string) string {
	return withQuery("/leads/columns/"+i64(stageID)+"?after="+url.QueryEscape(cursor), query)
}

// Initials are up to two capital letters of a name.
func Initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		for _, r := range f {
			out = append(out, []rune(strings.ToUpper(string(r)))...)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	return string(out)
}
