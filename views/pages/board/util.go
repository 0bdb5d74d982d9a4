package board

import (
	"fmt"
	"github.com/atiende/atiende/views/components"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/sla"
)

func itoa(n int) string { return strconv.Itoa(n) }

func id64(n int64) string { return strconv.FormatInt(n, 10) }

var (
	monthsES = [...]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"}
	daysES   = [...]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"}
)

// Clock is the moment and the workspace time zone a board is rendered in.
type Clock struct {
	Now time.Time
	Loc *time.Location
}

// Abs is an absolute time for people in the workspace time zone ("lun 12 oct 2026, 14:05").
func (k Clock) Abs(t time.Time) string {
	t = t.In(k.Loc)
	return fmt.Sprintf("%s %d %s %d, %02d:%02d", daysES[t.Weekday()], t.Day(), monthsES[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

// Ago is a time relative to now on a card ("hace 5 min", "ayer", "12 oct").
func (k Clock) Ago(t time.Time) string {
	d := k.Now.Sub(t)
	switch {
	case d < time.Minute:
		return "ahora"
	case d < time.Hour:
		return fmt.Sprintf("hace %d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("hace %d h", int(d.Hours()))
	case d < 48*time.Hour:
		return "ayer"
	case d < 7*24*time.Hour:
		return fmt.Sprintf("hace %d d", int(d.Hours()/24))
	}
	lt := t.In(k.Loc)
	if lt.Year() == k.Now.In(k.Loc).Year() {
		return fmt.Sprintf("%d %s", lt.Day(), monthsES[lt.Month()-1])
	}
	return fmt.Sprintf("%d %s %d", lt.Day(), monthsES[lt.Month()-1], lt.Year())
}

// Span is a duration for people: "12 min", "2 h 5 min", "3 d 4 h" (the SLA alerts'
// wording, so a badge and its toast say the same).
func Span(d time.Duration) string { return sla.Duration(d) }

// Waiting says how long the customer has been waiting ("espera 12 min").
func (k Clock) Waiting(since time.Time) string { return "espera " + Span(k.Now.Sub(since)) }

// waitLevel colours the waiting time: calm, then amber after 15 min, red after an hour.
func (k Clock) waitLevel(since time.Time) string {
	d := k.Now.Sub(since)
	switch {
	case d >= time.Hour:
		return "wait-long"
	case d >= 15*time.Minute:
		return "wait-mid"
	}
	return "wait-short"
}

// window describes WhatsApp's 24-hour window on a card: a short text, the full
// sentence for the tooltip, and a state (open, closing, closed).
func (k Clock) window(c inbox.Card) (short, long, state string) {
	exp := c.WindowExpiresAt()
	if exp == nil || !exp.After(k.Now) {
		return "Ventana cerrada", "Ventana de 24 h cerrada: el cliente no escribe hace más de un día; solo puedes enviar plantillas aprobadas", "closed"
	}
	left := exp.Sub(k.Now)
	state = "open"
	if left < 2*time.Hour {
		state = "closing"
	}
	short = fmt.Sprintf("%d h", int(left.Hours()))
	if left < time.Hour {
		short = fmt.Sprintf("%d min", max(1, int(left.Minutes())))
	}
	return short, "Ventana de 24 h: quedan " + Span(left), state
}

// slaBadge is the card's SLA badge: the nearest running deadline, green, amber in
// warning, red once breached ("Vence en 12 min", "Vencido hace 5 min"); "" when the
// team has no policy or every clock is stopped (pending, answered).
func (k Clock) slaBadge(c inbox.Card) (text, class string) {
	if c.SLAState == "" {
		return "", ""
	}
	if c.SLADueAt == nil {
		// Every clock stopped (pending): a resolution warning or breach still shows.
		switch c.SLAState {
		case "breached":
			return "SLA vencido", "sla-breached"
		case "warning":
			return "SLA en riesgo", "sla-warning"
		}
		return "", ""
	}
	if !c.SLADueAt.After(k.Now) {
		return "Vencido hace " + Span(k.Now.Sub(*c.SLADueAt)), "sla-breached"
	}
	text = "Vence en " + Span(c.SLADueAt.Sub(k.Now))
	switch c.SLAState {
	case "breached":
		return text, "sla-breached"
	case "warning":
		return text, "sla-warning"
	}
	return text, "sla-ok"
}

// slaTitle explains the SLA badge on hover: which clock and when.
func (k Clock) slaTitle(c inbox.Card) string {
	if c.SLADueAt == nil {
		return "Plazo de resolución: el reloj está en pausa mientras se espera al cliente"
	}
	what := map[string]string{"first_response": "Primera respuesta", "next_response": "Siguiente respuesta", "resolution": "Resolución"}[c.SLATarget]
	if !c.SLADueAt.After(k.Now) {
		return what + ": venció " + k.Abs(*c.SLADueAt)
	}
	return what + ": vence " + k.Abs(*c.SLADueAt)
}

// slaMillis is the badge's deadline for the client's refresher ("" without one).
func slaMillis(c inbox.Card) string {
	if c.SLADueAt == nil {
		return ""
	}
	return millis(*c.SLADueAt)
}

// sortKey is the card's place in its column: newest activity first, or under "En
// riesgo" the nearest deadline first.
func (e Env) sortKey(c inbox.Card) string {
	if e.Risk {
		return c.RiskSortKey()
	}
	return c.SortKey()
}

// windowWarning warns that WhatsApp's 24-hour window closes in under 2 h while the
// customer is still waiting for an answer ("" otherwise).
func (k Clock) windowWarning(c inbox.Card) string {
	exp := c.WindowExpiresAt()
	if c.Status == "closed" || c.WaitingSince == nil || exp == nil || !exp.After(k.Now) || exp.Sub(k.Now) >= 2*time.Hour {
		return ""
	}
	return "La ventana de 24 h cierra en " + Span(exp.Sub(k.Now))
}

// numberEnding is the last digits of a channel number, to tell numbers apart ("0100").
func numberEnding(phone string) string {
	d := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, phone)
	if len(d) > 4 {
		d = d[len(d)-4:]
	}
	return d
}

// Initials are up to two capital letters of a name, for avatars.
func Initials(name string) string { return components.Initials(name) }

// PresenceLabel is the Spanish word for a presence.
func PresenceLabel(p string) string {
	switch p {
	case "online":
		return "En línea"
	case "busy":
		return "Ocupado"
	}
	return "Desconectado"
}

func presenceOf(p string) string {
	if p == "" {
		return "offline"
	}
	return p
}

// safeColor keeps colours to #rrggbb so they can sit in a style attribute.
func safeColor(c string) string {
	if len(c) == 7 && c[0] == '#' && strings.Trim(strings.ToLower(c[1:]), "0123456789abcdef") == "" {
		return c
	}
	return "#64748b"
}

func chipStyle(color string) string { return "--chip:" + safeColor(color) }

func withQuery(path, query string) string {
	if query == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}

// moreURL is the "Cargar más" request of a column.
func moreURL(status, cursor, query string) string {
	return withQuery("/board/columns/"+status+"?cursor="+url.QueryEscape(cursor), query)
}

// millis is a time for the client's relative-time refresher.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func slaClass(state string) string {
	if state == "warning" || state == "breached" {
		return "is-sla-" + state
	}
	return ""
}

func unreadTitle(n int) string {
	if n == 1 {
		return "1 mensaje sin leer"
	}
	return itoa(n) + " mensajes sin leer"
}

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func presenceHint(p string) string {
	switch p {
	case "online":
		return "Recibes conversaciones"
	case "busy":
		return "No te asignan nuevas"
	}
	return "Fuera de turno"
}

func viewLabel(v string) string {
	switch v {
	case "mine":
		return "Mías"
	case "unassigned":
		return "Sin asignar"
	}
	return "Todas"
}

// closedURL is the board with Cerrados reaching back days days.
func closedURL(query string, days int) string {
	q, _ := url.ParseQuery(query)
	q.Set("closed", itoa(days))
	return "/board?" + q.Encode()
}

func columnEmptyText(status string, closedDays int) string {
	switch status {
	case "new":
		return "Sin conversaciones nuevas. Los chats que lleguen aparecerán aquí."
	case "active":
		return "Nadie está en atención ahora mismo."
	case "pending":
		return "Nada espera respuesta del cliente."
	}
	return fmt.Sprintf("Nada cerrado en los últimos %d días.", closedDays)
}

// windowMillis is when the card's 24-hour window closes, for the client ("" if never opened).
func windowMillis(c inbox.Card) string {
	if exp := c.WindowExpiresAt(); exp != nil {
		return millis(*exp)
	}
	return ""
}

// assigneeTitle names the assignee, their team and presence on hover ("Ana Ruiz · Ventas · En línea").
func assigneeTitle(c inbox.Card) string {
	parts := []string{c.AssigneeName}
	if c.TeamName != "" {
		parts = append(parts, c.TeamName)
	}
	return strings.Join(append(parts, PresenceLabel(c.AssigneePresence)), " · ")
}

func unassignedTitle(c inbox.Card) string {
	if c.TeamName != "" {
		return "Sin asignar · equipo " + c.TeamName
	}
	return "Sin asignar · sin equipo"
}

// Number writes n the way the workspace reads numbers: 1.234.
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "." + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
