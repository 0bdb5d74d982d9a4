// Package conversation renders the conversation screen: header with actions, the
// history, the composer and the contact panel. The same component is the full page at
// /conversations/:id and the partial the board loads into its side panel.
package conversation

import (
	"encoding/json"
	"fmt"
	"github.com/atiende/atiende/views/components"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/phone"
	"github.com/atiende/atiende/models"
)

// Props are the conversation screen's view model.
type Props struct {
	Thread  inbox.ThreadView
	History inbox.MessagePage
	Options inbox.ThreadOptions
	// Before is set when History is an older page opened without JavaScript.
	Before    string
	MeID      int64
	MeRole    string
	CSRFToken string
	Now       time.Time
	Loc       *time.Location
	// Mode is the composer tab to show: "reply" or "note".
	Mode string
	// Leads is the contact panel's "Oportunidades" card (app/web/leads.go); nil shows the empty card.
	Leads templ.Component
}

// HistoryProps are what the history list needs (also rendered alone for "Cargar más"
// and live refreshes).
type HistoryProps struct {
	ConvID      int64
	ContactName string
	Page        inbox.MessagePage
	Now         time.Time
	Loc         *time.Location
}

// GoneProps explain that the viewer no longer has the conversation (after a transfer).
type GoneProps struct {
	Title   string
	Message string
}

func (p Props) history() HistoryProps {
	return HistoryProps{ConvID: p.Thread.Conversation.ID, ContactName: p.Thread.Contact.DisplayName(), Page: p.History, Now: p.Now, Loc: p.Loc}
}

func (p Props) id() string { return i64(p.Thread.Conversation.ID) }

func (p Props) path(suffix string) string { return "/conversations/" + p.id() + suffix }

func (p Props) status() string { return p.Thread.Conversation.Status }

func (p Props) closed() bool { return p.status() == models.StatusClosed }

func (p Props) supervisor() bool {
	return p.MeRole == models.RoleAdmin || p.MeRole == models.RoleSupervisor
}

// canTake: the Tomar button — an unassigned open conversation, or one routing gave me
// that still waits in Nuevos.
func (p Props) canTake() bool {
	c := p.Thread.Conversation
	if p.closed() {
		return false
	}
	return c.AssigneeID == nil || (*c.AssigneeID == p.MeID && c.Status == models.StatusNew)
}

func (p Props) windowOpen() bool { return p.Thread.WindowOpen(p.Now) }

// windowWarn: less than an hour left to answer freely.
func (p Props) windowWarn() bool {
	return p.windowOpen() && p.Thread.WindowExpiresAt.Sub(p.Now) < time.Hour
}

func (p Props) noteMode() bool { return p.Mode == "note" }

func (p Props) hasLabel(id int64) bool {
	for _, l := range p.Thread.Labels {
		if l.ID == id {
			return true
		}
	}
	return false
}

func (p Props) firstName() string {
	c := p.Thread.Contact
	name := c.Name
	if name == "" {
		name = c.ProfileName
	}
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// composerState changes when the composer must be re-rendered by a live refresh.
func (p Props) composerState() string {
	return fmt.Sprintf("%t|%t|%d", p.windowOpen(), p.Thread.CanWork, len(p.Options.Templates))
}

func (p Props) windowExpiresMs() string {
	if p.Thread.WindowExpiresAt == nil {
		return "0"
	}
	return strconv.FormatInt(p.Thread.WindowExpiresAt.UnixMilli(), 10)
}

func (p Props) windowLeft() string {
	if p.Thread.WindowExpiresAt == nil {
		return ""
	}
	return Duration(p.Thread.WindowExpiresAt.Sub(p.Now))
}

// Duration writes a span for people: "3 h 10 min", "45 min", "menos de 1 min".
func Duration(d time.Duration) string {
	mins := int(d / time.Minute)
	switch {
	case mins < 1:
		return "menos de 1 min"
	case mins < 60:
		return fmt.Sprintf("%d min", mins)
	case mins%60 == 0:
		return fmt.Sprintf("%d h", mins/60)
	}
	return fmt.Sprintf("%d h %d min", mins/60, mins%60)
}

// StatusLabel is the singular Spanish name of a status, for the pill.
func StatusLabel(s string) string {
	switch s {
	case models.StatusNew:
		return "Nuevo"
	case models.StatusActive:
		return "En atención"
	case models.StatusPending:
		return "Pendiente"
	case models.StatusClosed:
		return "Cerrado"
	}
	return s
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func itoa(n int) string { return strconv.Itoa(n) }

var weekdays = [...]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
var months = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}

func local(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc)
}

// clock is the time of day ("14:05").
func clock(t time.Time, loc *time.Location) string { return local(t, loc).Format("15:04") }

// longDate is the full absolute date and time ("jueves, 12 de marzo de 2026, 14:05").
func longDate(t time.Time, loc *time.Location) string {
	l := local(t, loc)
	return fmt.Sprintf("%s, %d de %s de %d, %s", weekdays[l.Weekday()], l.Day(), months[l.Month()-1], l.Year(), l.Format("15:04"))
}

// dayKey identifies a local calendar day.
func dayKey(t time.Time, loc *time.Location) string { return local(t, loc).Format("2006-01-02") }

// dayLabel names a day relative to now: "Hoy", "Ayer", "jueves 12 de marzo" (with the
// year when it is not this year).
func dayLabel(t, now time.Time, loc *time.Location) string {
	l, n := local(t, loc), local(now, loc)
	y1, m1, d1 := l.Date()
	y2, m2, d2 := n.Date()
	today := time.Date(y2, m2, d2, 0, 0, 0, 0, l.Location())
	day := time.Date(y1, m1, d1, 0, 0, 0, 0, l.Location())
	switch {
	case day.Equal(today):
		return "Hoy"
	case day.Equal(today.AddDate(0, 0, -1)):
		return "Ayer"
	}
	s := fmt.Sprintf("%s %d de %s", capitalize(weekdays[l.Weekday()]), l.Day(), months[l.Month()-1])
	if y1 != y2 {
		s += fmt.Sprintf(" de %d", y1)
	}
	return s
}

// Relative writes how long ago t was ("Hace 5 min", "Hace 2 h", "Ayer", "12 mar").
func Relative(t, now time.Time, loc *time.Location) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "Hace un momento"
	case d < time.Hour:
		return fmt.Sprintf("Hace %d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("Hace %d h", int(d/time.Hour))
	}
	if dayLabel(t, now, loc) == "Ayer" {
		return "Ayer"
	}
	l := local(t, loc)
	s := fmt.Sprintf("%d %s", l.Day(), months[l.Month()-1][:3])
	if l.Year() != local(now, loc).Year() {
		s += fmt.Sprintf(" %d", l.Year())
	}
	return s
}

func capitalize(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return s
	}
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// Initials are up to two capital letters of a name, for avatars.
func Initials(name string) string { return components.Initials(name) }

// phoneText is the contact's number, or for a customer who uses a WhatsApp username
// and hides it, the username ("" when not even that is known).
func phoneText(c models.Contact) string {
	switch {
	case c.Phone != "":
		return phone.Format(c.Phone)
	case c.WaID != "":
		return "+" + c.WaID
	case c.Username != "":
		return "@" + c.Username
	}
	return ""
}

var countries = map[string]string{
	"AR": "Argentina", "BO": "Bolivia", "BR": "Brasil", "CA": "Canadá", "CL": "Chile", "CO": "Colombia",
	"CR": "Costa Rica", "CU": "Cuba", "DO": "República Dominicana", "EC": "Ecuador", "ES": "España",
	"GT": "Guatemala", "HN": "Honduras", "MX": "México", "NI": "Nicaragua", "PA": "Panamá", "PE": "Perú",
	"PR": "Puerto Rico", "PY": "Paraguay", "SV": "El Salvador", "US": "Estados Unidos", "UY": "Uruguay",
	"VE": "Venezuela", "DE": "Alemania", "FR": "Francia", "IT": "Italia", "GB": "Reino Unido", "PT": "Portugal",
	"CN": "China", "IN": "India", "JP": "Japón",
}

// CountryName is the Spanish name of an ISO country code (the code itself when unknown).
func CountryName(code string) string {
	if n, ok := countries[strings.ToUpper(code)]; ok {
		return n
	}
	return strings.ToUpper(code)
}

// data reads a message's data JSON.
func data(m inbox.MessageView) map[string]any {
	out := map[string]any{}
	if len(m.Data) > 0 {
		_ = json.Unmarshal(m.Data, &out)
	}
	return out
}

func dataStr(m inbox.MessageView, key string) string {
	switch v := data(m)[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func dataBool(m inbox.MessageView, key string) bool {
	b, _ := data(m)[key].(bool)
	return b
}

// location is a shared location.
type location struct {
	Lat, Long     float64
	Name, Address string
	OK            bool
}

func locationOf(m inbox.MessageView) location {
	d := data(m)
	lat, ok1 := d["latitude"].(float64)
	long, ok2 := d["longitude"].(float64)
	name, _ := d["name"].(string)
	addr, _ := d["address"].(string)
	return location{Lat: lat, Long: long, Name: name, Address: addr, OK: ok1 && ok2}
}

func (l location) coords() string {
	return strconv.FormatFloat(l.Lat, 'f', 5, 64) + ", " + strconv.FormatFloat(l.Long, 'f', 5, 64)
}

func (l location) mapURL() string {
	q := strconv.FormatFloat(l.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(l.Long, 'f', -1, 64)
	return "https://www.google.com/maps/search/?api=1&query=" + url.QueryEscape(q)
}

// sharedContact is one contact card a customer shared.
type sharedContact struct {
	Name    string
	Company string
	Phones  []string
	Emails  []string
}

func sharedContacts(m inbox.MessageView) []sharedContact {
	var raw struct {
		Contacts []struct {
			Name struct {
				FormattedName string `json:"formatted_name"`
				FirstName     string `json:"first_name"`
			} `json:"name"`
			Org struct {
				Company string `json:"company"`
			} `json:"org"`
			Phones []struct {
				Phone string `json:"phone"`
				WaID  string `json:"wa_id"`
			} `json:"phones"`
			Emails []struct {
				Email string `json:"email"`
			} `json:"emails"`
		} `json:"contacts"`
	}
	_ = json.Unmarshal(m.Data, &raw)
	var out []sharedContact
	for _, c := range raw.Contacts {
		sc := sharedContact{Name: c.Name.FormattedName, Company: c.Org.Company}
		if sc.Name == "" {
			sc.Name = c.Name.FirstName
		}
		for _, p := range c.Phones {
			if p.Phone != "" {
				sc.Phones = append(sc.Phones, p.Phone)
			} else if p.WaID != "" {
				sc.Phones = append(sc.Phones, "+"+p.WaID)
			}
		}
		for _, e := range c.Emails {
			if e.Email != "" {
				sc.Emails = append(sc.Emails, e.Email)
			}
		}
		out = append(out, sc)
	}
	return out
}

// orderSummary describes a catalogue order: "3 productos · 150,00 PEN".
func orderSummary(m inbox.MessageView) string {
	n, total, cur := 0.0, 0.0, ""
	for _, it := range orderItems(m) {
		n += it.Quantity
		total += it.Quantity * it.ItemPrice
		cur = it.Currency
	}
	if n == 0 {
		return "Pedido del catálogo"
	}
	s := fmt.Sprintf("%s producto(s)", number(n, 0))
	if total > 0 {
		s += " · " + number(total, 2) + " " + cur
	}
	return s
}

// orderItem is one line of a catalogue order as WhatsApp sends it.
type orderItem struct {
	ProductID string  `json:"product_retailer_id"`
	Quantity  float64 `json:"quantity"`
	ItemPrice float64 `json:"item_price"`
	Currency  string  `json:"currency"`
}

// orderItems reads an order message's items (none when the data is not an order).
func orderItems(m inbox.MessageView) []orderItem {
	var raw struct {
		Order struct {
			Items []orderItem `json:"product_items"`
		} `json:"order"`
	}
	_ = json.Unmarshal(m.Data, &raw)
	return raw.Order.Items
}

// referral is the click-to-WhatsApp ad a conversation came from.
func referralHeadline(m inbox.MessageView) string {
	d := data(m)
	r, ok := d["referral"].(map[string]any)
	if !ok {
		return ""
	}
	for _, k := range []string{"headline", "body", "source_url"} {
		if s, _ := r[k].(string); s != "" {
			return s
		}
	}
	return "un anuncio"
}

// number writes n in es-419 style: 1.234,5.
func number(n float64, decimals int) string {
	neg := n < 0
	n = math.Abs(n)
	s := strconv.FormatFloat(n, 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "" {
		out += "," + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// fileSize writes a byte count for people ("1,2 MB").
func fileSize(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return number(float64(n)/1024, 0) + " KB"
	}
	return number(float64(n)/(1024*1024), 1) + " MB"
}

func mediaURL(m inbox.MessageView) string {
	if m.Media == nil {
		return ""
	}
	return "/media/" + i64(m.Media.ID)
}

func mediaReady(m inbox.MessageView) bool { return m.Media != nil && m.Media.Ready }

func mediaPending(m inbox.MessageView) string {
	if m.Media != nil && m.Media.Error != "" {
		return "No se pudo descargar el archivo de WhatsApp. Pide al cliente que lo envíe de nuevo."
	}
	return "Descargando el archivo de WhatsApp…"
}

func documentName(m inbox.MessageView) string {
	if m.Media != nil && m.Media.Filename != "" {
		return m.Media.Filename
	}
	if f := dataStr(m, "filename"); f != "" {
		return f
	}
	return "Documento"
}

func documentExt(m inbox.MessageView) string {
	name := documentName(m)
	if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 6 {
		return strings.ToUpper(name[i+1:])
	}
	switch m.MediaMime {
	case "application/pdf":
		return "PDF"
	}
	return "ARCHIVO"
}

func documentMeta(m inbox.MessageView) string {
	parts := []string{documentExt(m)}
	if m.Media != nil && m.Media.Size > 0 {
		parts = append(parts, fileSize(m.Media.Size))
	}
	return strings.Join(parts, " · ")
}

// tickLabel names a delivery status for people.
func tickLabel(status string) string {
	switch status {
	case models.DeliveryQueued:
		return "En cola: se enviará en un momento"
	case models.DeliverySent:
		return "Enviado"
	case models.DeliveryDelivered:
		return "Entregado"
	case models.DeliveryRead:
		return "Leído"
	case models.DeliveryFailed:
		return "No se pudo enviar"
	}
	return ""
}

// failReason explains a failed send in Spanish.
func failReason(m inbox.MessageView) string {
	if m.ErrorDetail != "" {
		return m.ErrorDetail
	}
	if m.ErrorTitle != "" {
		return m.ErrorTitle
	}
	return "WhatsApp no aceptó el mensaje."
}

func is131047(m inbox.MessageView) bool { return m.ErrorCode != nil && *m.ErrorCode == 131047 }

// quotePreview is the one-line summary of a quoted message.
func quotePreview(q *inbox.Quoted) string {
	if q.Missing {
		return "Un mensaje que no está en este historial"
	}
	return inbox.Preview(q.Kind, q.Body)
}

func quoteAuthor(q *inbox.Quoted, contact string) string {
	switch {
	case q.Missing:
		return "Mensaje anterior"
	case q.Direction == models.DirectionIn:
		return contact
	case q.SenderName != "":
		return q.SenderName
	}
	return "Tú"
}

// itemPreview summarises a message for the "replying to" chip.
func itemPreview(m inbox.MessageView) string { return inbox.Preview(m.Kind, m.Body) }

// cycleText labels a cycle separator.
func cycleText(c *inbox.CycleMark) string {
	switch {
	case c.OpenedBy == "reopen":
		return fmt.Sprintf("Ciclo %d · reabierto por el equipo", c.Number)
	case c.Number == 1:
		return "Ciclo 1 · el cliente escribió por primera vez"
	}
	return fmt.Sprintf("Ciclo %d · el cliente volvió a escribir", c.Number)
}

func bubbleClass(m inbox.MessageView) string {
	c := "msg msg-" + m.Direction
	switch m.Kind {
	case models.KindSticker:
		c += " msg-sticker"
	case models.KindImage, models.KindVideo:
		c += " msg-visual"
	}
	if m.Status == models.DeliveryFailed {
		c += " msg-failed"
	}
	return c
}

// canQuote: WhatsApp can only reply in context to messages it knows (with a wamid).
func canQuote(m inbox.MessageView) bool {
	return m.Wamid != nil && *m.Wamid != "" && m.Kind != models.KindActivity && m.Kind != models.KindNote
}

func wamid(m inbox.MessageView) string {
	if m.Wamid == nil {
		return ""
	}
	return *m.Wamid
}

func roleLabel(r string) string {
	switch r {
	case models.RoleAdmin:
		return "Administrador"
	case models.RoleSupervisor:
		return "Supervisor"
	}
	return "Agente"
}

func previewParams(t inbox.TemplateOption, first string) string {
	body := t.Body
	for i := 1; i <= t.Params; i++ {
		v := ""
		if i == 1 {
			v = first
		}
		if v == "" {
			v = "{{" + itoa(i) + "}}"
		}
		body = strings.ReplaceAll(body, "{{"+itoa(i)+"}}", v)
	}
	return body
}

func categoryLabel(c string) string {
	switch c {
	case "marketing":
		return "Marketing"
	case "authentication":
		return "Autenticación"
	}
	return "Utilidad"
}

func labelStyle(color string) string {
	if color == "" {
		color = "#64748b"
	}
	return "--chip:" + color
}

func othersTitle(o inbox.OtherConversation) string {
	if o.ChannelName != "" {
		return o.ChannelName
	}
	return o.ChannelPhone
}

func boolAttr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// orderLine is one item of a catalog order, formatted.
type orderLine struct {
	Qty, ProductID, Amount string
}

type orderView struct {
	Lines []orderLine
	Total string
}

// orderOf lists an order's items (quantity × product id, line amount) and its total.
func orderOf(m inbox.MessageView) orderView {
	var o orderView
	total, cur := 0.0, ""
	for _, it := range orderItems(m) {
		amount := it.Quantity * it.ItemPrice
		total += amount
		cur = it.Currency
		o.Lines = append(o.Lines, orderLine{Qty: number(it.Quantity, 0), ProductID: it.ProductID,
			Amount: strings.TrimSpace(number(amount, 2) + " " + it.Currency)})
	}
	o.Total = strings.TrimSpace(number(total, 2) + " " + cur)
	return o
}

// previousBodies is what an edited message said before, oldest first.
func previousBodies(m inbox.MessageView) []string {
	var d struct {
		Previous []string `json:"previous_bodies"`
	}
	if len(m.Data) > 0 {
		_ = json.Unmarshal(m.Data, &d)
	}
	return d.Previous
}

func editedTitle(prev []string) string {
	return "Antes: " + strings.Join(prev, " → ")
}
