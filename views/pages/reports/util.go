// Package reports renders the /reports page.
package reports

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/reports"
	crmview "github.com/atiende/atiende/views/pages/crm"
)

// Option is one choice of a filter.
type Option struct{ Value, Label string }

// Filters are the page's query: range, filters, the business-hours toggle and sorts.
type Filters struct {
	Preset, From, To     string
	Team, Agent, Channel string
	Business             bool
	SortAgents           string // a column key, "-" first for descending
	SortTeams            string
}

// Props are what the page shows.
type Props struct {
	Filters
	Page                             reports.Page
	Presets, Teams, Agents, Channels []Option
	AgentNames                       map[string]string // email -> name
	Query                            url.Values
	Loc                              *time.Location
	Now                              time.Time
	Error                            string
}

// KPI is one tile.
type KPI struct {
	Key, Label, Value, Raw string
	Delta, Trend           string // "▲ 12 %", "up"/"down"/""
	Good                   bool   // the change is an improvement
	Hint                   string
}

func (p Props) href(path string, set map[string]string) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = append([]string{}, v...)
	}
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return path + "?" + q.Encode()
}

func (p Props) spread(s reports.Stat) reports.Spread {
	if p.Business {
		return s.Business
	}
	return reports.Spread{Avg: s.Avg, Median: s.Median, P90: s.P90}
}

// KPIs are the tiles with their comparison with the previous period.
func (p Props) KPIs() []KPI {
	cur, prev := p.Page.Report.Overall, p.Page.Previous.Overall
	n := func(v int) *float64 { f := float64(v); return &f }
	cs, ps := p.spread(cur.FirstResponse), p.spread(prev.FirstResponse)
	cr, pr := p.spread(cur.Resolution), p.spread(prev.Resolution)
	hours := "reloj"
	if p.Business {
		hours = "horario laboral"
	}
	k := []KPI{
		count("conversations", "Conversaciones", n(cur.Conversations), n(prev.Conversations), 0),
		dur("first_response_avg", "Primera respuesta promedio", cs.Avg, ps.Avg, hours),
		dur("first_response_median", "Primera respuesta mediana", cs.Median, ps.Median, hours),
		dur("first_response_p90", "Primera respuesta p90", cs.P90, ps.P90, hours),
		dur("resolution_median", "Resolución mediana", cr.Median, pr.Median, hours),
		pct("sla_hit_rate", "Cumplimiento SLA", cur.SLA.HitRate, prev.SLA.HitRate, 1),
		pct("fcr_rate", "Resueltas al primer contacto", cur.FCRRate, prev.FCRRate, 1),
		pct("conversion_rate", "Conversión a oportunidad", cur.ConversionRate, prev.ConversionRate, 1),
		count("unanswered", "Sin responder", n(cur.Unanswered), n(prev.Unanswered), -1),
		count("window_lost", "Ventana perdida", n(cur.WindowLost), n(prev.WindowLost), -1),
	}
	if cur.SLA.Evaluated == 0 {
		k[5].Hint = "Ninguna conversación evaluada: asigna una política de SLA a los equipos"
	} else {
		k[5].Hint = fmt.Sprintf("%s de %s conversaciones evaluadas", num(cur.SLA.Hit), num(cur.SLA.Evaluated))
	}
	k[8].Hint = "Ciclos sin ninguna respuesta de un agente"
	k[9].Hint = "La ventana de 24 h se cerró con el cliente esperando"
	return k
}

// count: better is +1 (more is better), -1 (less is better) or 0 (neutral).
func count(key, label string, cur, prev *float64, better int) KPI {
	k := KPI{Key: key, Label: label, Value: num(int(*cur)), Raw: strconv.Itoa(int(*cur))}
	k.Delta, k.Trend, k.Good = delta(cur, prev, better, false)
	return k
}

func dur(key, label string, cur, prev *float64, hours string) KPI {
	k := KPI{Key: key, Label: label, Value: Dur(cur), Raw: raw(cur), Hint: "En " + hours}
	k.Delta, k.Trend, k.Good = delta(cur, prev, -1, false)
	return k
}

func pct(key, label string, cur, prev *float64, better int) KPI {
	k := KPI{Key: key, Label: label, Value: Pct(cur), Raw: raw(cur)}
	k.Delta, k.Trend, k.Good = delta(cur, prev, better, true)
	return k
}

func raw(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// delta is the change from prev to cur: relative (%) for counts and durations, in
// percentage points for rates.
func delta(cur, prev *float64, better int, points bool) (string, string, bool) {
	if cur == nil || prev == nil {
		return "", "", false
	}
	d := *cur - *prev
	var txt string
	if points {
		txt = dec(math.Abs(d)*100, 1) + " pp"
	} else {
		if *prev == 0 {
			return "", "", false
		}
		txt = dec(math.Abs(d / *prev * 100), 0) + " %"
	}
	switch {
	case math.Abs(d) < 1e-9:
		return "= " + txt, "", false
	case d > 0:
		return "▲ " + txt, "up", better > 0
	default:
		return "▼ " + txt, "down", better < 0
	}
}

// Dur formats seconds for people: "45 s", "14 min", "2 h 05 min", "3 d 4 h".
func Dur(v *float64) string {
	if v == nil {
		return "—"
	}
	s := int64(math.Round(*v))
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min", (s+30)/60)
	case s < 86400:
		m := (s + 30) / 60
		return fmt.Sprintf("%d h %02d min", m/60, m%60)
	default:
		h := (s + 1800) / 3600
		return fmt.Sprintf("%d d %d h", h/24, h%24)
	}
}

// Pct formats a 0..1 rate: "83,4 %".
func Pct(v *float64) string {
	if v == nil {
		return "—"
	}
	return dec(*v*100, 1) + " %"
}

func dec(v float64, places int) string {
	s := strconv.FormatFloat(v, 'f', places, 64)
	if places > 0 {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	return strings.Replace(s, ".", ",", 1)
}

func num(n int) string { return crmview.Number(n) }

// Days formats days: "3,2 días".
func Days(d float64) string {
	if d < 1 {
		return dec(d*24, 1) + " h"
	}
	return dec(d, 1) + " días"
}

// Bar is one bar of the per-team chart.
type Bar struct {
	Label, Value string
	Width        float64 // percent of the chart's width
	Empty        bool
}

// TeamBars are the teams' average first response, slowest first; teams without
// replies at the end.
func (p Props) TeamBars() []Bar {
	type tv struct {
		name string
		v    *float64
	}
	var rows []tv
	for _, t := range p.Page.Report.Teams {
		rows = append(rows, tv{t.Team, p.spread(t.FirstResponse).Avg})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].v, rows[j].v
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return *a > *b
	})
	max := 0.0
	for _, r := range rows {
		if r.v != nil && *r.v > max {
			max = *r.v
		}
	}
	var out []Bar
	for _, r := range rows {
		b := Bar{Label: r.name, Value: Dur(r.v), Empty: r.v == nil}
		if r.v == nil {
			b.Value = "sin respuestas"
		} else if max > 0 {
			b.Width = math.Max(1, *r.v/max*72) // room for the value after the bar
		}
		out = append(out, b)
	}
	return out
}

// Column is one bar of the daily volume chart.
type Column struct {
	X, W, H, Y     string // percent of width; px
	Label, Tooltip string
	Unanswered     string // the unanswered part's height and y
	UY             string
}

// VolumeHeight is the daily chart's plot height in px.
const VolumeHeight = 140

// Volume is the daily volume chart.
func (p Props) Volume() ([]Column, int) {
	days := p.Page.Days
	max := 0
	for _, d := range days {
		if d.Conversations > max {
			max = d.Conversations
		}
	}
	var out []Column
	n := float64(len(days))
	for i, d := range days {
		h, uh := 0.0, 0.0
		if max > 0 {
			h = float64(d.Conversations) / float64(max) * VolumeHeight
			uh = float64(d.Unanswered) / float64(max) * VolumeHeight
		}
		w := 100 / n
		out = append(out, Column{
			X: dec2(float64(i)*w+w*0.15) + "%", W: dec2(w*0.7) + "%", H: dec2(h), Y: dec2(VolumeHeight - h),
			Unanswered: dec2(uh), UY: dec2(VolumeHeight - uh),
			Label: d.Day.Format("02/01"),
			Tooltip: fmt.Sprintf("%s: %s conversaciones, %s sin responder", d.Day.Format("02/01/2006"), num(d.Conversations),
				num(d.Unanswered)),
		})
	}
	return out, max
}

func dec2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// Column headers of the sortable tables.
type Header struct {
	Key, Label string
	Num        bool
}

var teamHeaders = []Header{{"team", "Equipo", false}, {"conversations", "Conversaciones", true}, {"fr_avg", "1.ª resp. promedio", true},
	{"fr_median", "Mediana", true}, {"fr_p90", "p90", true}, {"res_median", "Resolución mediana", true}, {"sla", "SLA", true},
	{"fcr", "FCR", true}, {"conversion", "Conversión", true}, {"unanswered", "Sin responder", true}}

var agentHeaders = []Header{{"agent", "Agente", false}, {"first_responses", "Primeras respuestas", true}, {"replies", "Respuestas", true},
	{"fr_avg", "1.ª resp. promedio", true}, {"fr_median", "Mediana", true}, {"fr_p90", "p90", true}, {"closed", "Cerradas", true}}

func fv(v *float64) float64 {
	if v == nil {
		return math.Inf(1)
	}
	return *v
}

// SortedTeams are the team rows in the requested order.
func (p Props) SortedTeams() []reports.TeamRow {
	rows := append([]reports.TeamRow(nil), p.Page.Report.Teams...)
	key, desc := sortKey(p.SortTeams, "conversations", true)
	val := func(t reports.TeamRow) float64 {
		switch key {
		case "fr_avg":
			return fv(p.spread(t.FirstResponse).Avg)
		case "fr_median":
			return fv(p.spread(t.FirstResponse).Median)
		case "fr_p90":
			return fv(p.spread(t.FirstResponse).P90)
		case "res_median":
			return fv(p.spread(t.Resolution).Median)
		case "sla":
			return fv(t.SLA.HitRate)
		case "fcr":
			return fv(t.FCRRate)
		case "conversion":
			return fv(t.ConversionRate)
		case "unanswered":
			return float64(t.Unanswered)
		}
		return float64(t.Conversations)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if key == "team" {
			return (strings.ToLower(rows[i].Team) < strings.ToLower(rows[j].Team)) != desc
		}
		a, b := val(rows[i]), val(rows[j])
		if math.IsInf(a, 1) || math.IsInf(b, 1) {
			return !math.IsInf(a, 1) && math.IsInf(b, 1) // missing values last
		}
		return (a < b) != desc && a != b
	})
	return rows
}

// SortedAgents are the agent rows in the requested order.
func (p Props) SortedAgents() []reports.AgentRow {
	rows := append([]reports.AgentRow(nil), p.Page.Report.Agents...)
	key, desc := sortKey(p.SortAgents, "first_responses", true)
	val := func(a reports.AgentRow) float64 {
		switch key {
		case "replies":
			return float64(a.Replies)
		case "fr_avg":
			return fv(p.spread(a.FirstResponse).Avg)
		case "fr_median":
			return fv(p.spread(a.FirstResponse).Median)
		case "fr_p90":
			return fv(p.spread(a.FirstResponse).P90)
		case "closed":
			return float64(a.Closed)
		}
		return float64(a.FirstResponses)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if key == "agent" {
			return (strings.ToLower(p.agentName(rows[i].Agent)) < strings.ToLower(p.agentName(rows[j].Agent))) != desc
		}
		a, b := val(rows[i]), val(rows[j])
		if math.IsInf(a, 1) || math.IsInf(b, 1) {
			return !math.IsInf(a, 1) && math.IsInf(b, 1)
		}
		return (a < b) != desc && a != b
	})
	return rows
}

func (p Props) agentName(email string) string {
	if n := p.AgentNames[email]; n != "" {
		return n
	}
	return email
}

func sortKey(v, def string, defDesc bool) (string, bool) {
	if v == "" {
		return def, defDesc
	}
	return strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
}

// sortHref is the link of a header: the first click sorts by it (numbers descending,
// names ascending), the next reverses.
func (p Props) sortHref(param, current string, h Header, defKey string) string {
	key, desc := sortKey(current, defKey, true)
	next := h.Key
	if h.Num {
		next = "-" + h.Key
	}
	if key == h.Key {
		if desc {
			next = h.Key
		} else {
			next = "-" + h.Key
		}
	}
	return p.href("/reports", map[string]string{param: next}) + "#" + param
}

func sortMark(current string, h Header, defKey string) string {
	key, desc := sortKey(current, defKey, true)
	if key != h.Key {
		return ""
	}
	if desc {
		return " ↓"
	}
	return " ↑"
}

func ariaSort(current string, h Header, defKey string) string {
	key, desc := sortKey(current, defKey, true)
	if key != h.Key {
		return "none"
	}
	if desc {
		return "descending"
	}
	return "ascending"
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

func rangeLabel(p Props) string {
	f, err1 := time.Parse("2006-01-02", p.From)
	t, err2 := time.Parse("2006-01-02", p.To)
	if err1 != nil || err2 != nil {
		return ""
	}
	if f.Equal(t) {
		return f.Format("02/01/2006")
	}
	return f.Format("02/01/2006") + " – " + t.Format("02/01/2006")
}

func prevLabel(p Props) string {
	return rangeLabel(Props{Filters: Filters{From: p.Page.PrevFrom, To: p.Page.PrevTo}})
}

func stageClass(kind string) string {
	switch kind {
	case "won":
		return "chip chip-won"
	case "lost":
		return "chip chip-lost"
	}
	return "chip"
}

func itoa(n int) string { return strconv.Itoa(n) }

func money(v float64, currency string) string { return crmview.Money(v, currency) }
