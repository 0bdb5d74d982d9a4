package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/calendar"
	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/models"
)

// The demo's teams, labels and people. Teams and labels never share a name, so a
// card's team chip and its label chips never say the same word twice.
const (
	teamSales    = "Comercial"
	teamSupport  = "Soporte técnico"
	teamBilling  = "Cobranzas"
	calendarName = "Oficina Lima"

	labelQuote    = "Cotización"
	labelClaim    = "Reclamo"
	labelVIP      = "VIP"
	labelUnpaid   = "Pago pendiente"
	labelRenewal  = "Renovación"
	labelFollowUp = "Seguimiento"

	ana   = "ana@demo.atiende.app"
	luis  = "luis@demo.atiende.app"
	carla = "carla@demo.atiende.app"
	diego = "diego@demo.atiende.app"
	jorge = "supervisor@demo.atiende.app"
)

// HistoryWeeks is how far back the demo's history reaches.
const HistoryWeeks = 6

var demoLabels = []struct{ name, color string }{
	{labelQuote, catalog.ColorGreen}, {labelClaim, catalog.ColorRed}, {labelVIP, catalog.ColorPurple},
	{labelUnpaid, catalog.ColorOrange}, {labelRenewal, catalog.ColorBlue}, {labelFollowUp, catalog.ColorGray},
}

// officeHours is America/Lima business hours with a lunch break; Saturday mornings.
var officeHours = map[string][][2]string{
	"mon": {{"09:00", "13:00"}, {"14:00", "18:00"}}, "tue": {{"09:00", "13:00"}, {"14:00", "18:00"}},
	"wed": {{"09:00", "13:00"}, {"14:00", "18:00"}}, "thu": {{"09:00", "13:00"}, {"14:00", "18:00"}},
	"fri": {{"09:00", "13:00"}, {"14:00", "18:00"}}, "sat": {{"09:00", "13:00"}},
}

// holidays are Peru's fixed-date national holidays around today, and the company's
// anniversary (a weekday about two and a half weeks ago), when the office is closed.
func holidays(today time.Time) []string {
	var out []string
	for _, y := range []int{today.Year() - 1, today.Year(), today.Year() + 1} {
		for _, md := range []string{"01-01", "05-01", "06-07", "06-29", "07-23", "07-28", "07-29", "08-06", "08-30", "10-08", "11-01", "12-08", "12-09", "12-25"} {
			out = append(out, fmt.Sprintf("%d-%s", y, md))
		}
	}
	return append(out, anniversary(today).Format(time.DateOnly))
}

func anniversary(today time.Time) time.Time {
	d := today.AddDate(0, 0, -17)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// agent is a demo agent's pace: minutes of business time before a first reply, and
// how often they are much slower (a meeting, a long call): the SLA breaches.
type agent struct {
	email            string
	minWait, maxWait int
	slowShare        float64
}

var (
	anaA   = agent{ana, 2, 12, 0.02}
	carlaA = agent{carla, 8, 40, 0.08}
	diegoA = agent{diego, 10, 45, 0.10}
	luisA  = agent{luis, 20, 80, 0.30}
	jorgeA = agent{jorge, 5, 25, 0.05}
)

// teamAgents are who answers each team's chats, by weight.
var teamAgents = map[string][]agent{
	teamSales:   {anaA, anaA, carlaA, jorgeA},
	teamSupport: {luisA, luisA, diegoA, diegoA},
	teamBilling: {carlaA, carlaA, jorgeA},
}

// flow is one kind of conversation: customer lines and agent lines ("A:"), the close
// reason (empty: the customer stops answering and the agent closes later), labels,
// an internal note and a lead it creates.
type flow struct {
	team   string
	lines  []string
	close  string
	labels []string
	note   string
	lead   *leadFlow
	xfer   bool // Comercial hands it to Soporte técnico after the customer's second line
}

type leadFlow struct {
	title    string
	value    float64
	pipeline string
}

var flows = []flow{
	{team: teamSales, labels: []string{labelQuote}, close: "Propuesta enviada", note: "Cliente con potencial de crecer a 50 licencias en 2027",
		lead: &leadFlow{"{n} licencias Pro anuales", 240, "Ventas B2B"}, lines: []string{
			"Hola, buenas tardes. Necesito una cotización para {n} licencias del plan Pro 🙏",
			"A:¡Hola {nombre}! Con gusto. ¿Las {n} licencias serían anuales o mensuales?",
			"Anuales. ¿Tienen descuento por volumen?",
			"A:Sí: desde 20 licencias anuales aplicamos 15 %. Te envío la propuesta hoy mismo.",
			"Perfecto, quedo atento. Gracias",
		}},
	{team: teamSales, labels: []string{labelQuote}, close: "Demo agendada", lead: &leadFlow{"Implementación para {empresa}", 3800, "Ventas B2B"}, lines: []string{
		"¡Hola! Vi su anuncio en Instagram, ¿hacen demos en vivo?",
		"A:¡Hola {nombre}! Sí, son de 30 minutos por videollamada. ¿Qué día te acomoda esta semana?",
		"El jueves a las 10 am estaría bien",
		"A:Agendado para el jueves 10:00. Te llega la invitación al correo.",
		"Gracias 👍",
	}},
	{team: teamSales, labels: []string{labelQuote}, close: "Información enviada", lines: []string{
		"Buenas tardes, ¿cuánto cuesta el plan para 5 usuarios?",
		"A:Hola {nombre}, el plan Equipo para 5 usuarios cuesta USD 95 al mes, con soporte incluido. ¿Te envío el detalle por correo?",
		"Sí, por favor",
		"A:Listo, enviado. Cualquier duda me escribes por aquí.",
	}},
	{team: teamSales, close: "Descuento aplicado", lines: []string{
		"Hola, ¿tienen precios para ONG? Somos una fundación en Cusco",
		"A:Hola {nombre}, sí: 30 % de descuento para organizaciones sin fines de lucro acreditadas. ¿Me compartes su RUC?",
		"Claro, es 20601234567",
		"A:Gracias, ya quedó registrado el descuento. Te llega la confirmación al correo.",
	}},
	{team: teamSales, labels: []string{labelQuote, labelVIP}, close: "Revisión técnica completa", xfer: true,
		note: "Revisar la versión de SAP B1 del cliente antes de cotizar", lead: &leadFlow{"Integración SAP para {empresa}", 9400, "Ventas B2B"}, lines: []string{
			"Buenas, quería saber si la integración con SAP está incluida",
			"A:Hola {nombre}, la integración con SAP Business One está en el plan Enterprise. ¿Cuántos usuarios serían?",
			"Unos {n}. Pero primero necesitamos que soporte revise nuestro servidor",
		}},
	{team: teamSales, close: "Derivado a partner", lead: &leadFlow{"Implementación presencial {empresa}", 5200, "Ventas B2B"}, lines: []string{
		"¿Tienen partner en Arequipa? Queremos implementación presencial",
		"A:Hola {nombre}, sí: trabajamos con un partner certificado en Arequipa. Te paso el contacto y coordinamos una visita.",
		"Excelente, gracias",
	}},
	{team: teamSupport, close: "Resuelto: desbloqueo de cuenta", lines: []string{
		"Buenos días, no puedo entrar a la plataforma, me dice usuario bloqueado",
		"A:Hola {nombre}, ya revisé tu cuenta: se bloqueó por intentos fallidos. Te acabo de enviar un enlace para restablecer la contraseña.",
		"Listo, ya pude entrar. ¡Mil gracias!",
	}},
	{team: teamSupport, labels: []string{labelClaim}, close: "Resuelto: error en filtros de fecha", lines: []string{
		"Hola, el reporte mensual sale en blanco desde ayer",
		"A:Hola {nombre}, lo estamos revisando. ¿Me confirmas desde qué navegador lo abres?",
		"Chrome, en Windows",
		"A:Gracias. Fue un error de nuestro lado con los filtros de fecha; ya está corregido. ¿Puedes probar de nuevo?",
		"Ya salió bien 👍",
	}},
	{team: teamSupport, close: "Resuelto: correo reactivado", lines: []string{
		"No me llegan las notificaciones por correo desde el lunes",
		"A:Hola {nombre}, el correo estaba en la lista de rebotes. Ya lo reactivé: ¿te llegó el correo de prueba?",
		"Sí, ya llegó. Gracias",
	}},
	{team: teamSupport, close: "Consulta resuelta", lines: []string{
		"Hola, ¿se puede exportar el historial de chats a Excel?",
		"A:Hola {nombre}, sí: en Reportes → Exportar eliges las fechas y descargas el CSV, que abre directo en Excel.",
		"Perfecto, ya lo descargué",
	}},
	{team: teamSupport, labels: []string{labelClaim}, close: "Resuelto: actualización de la app", lines: []string{
		"Buenas tardes, la app se cierra sola al adjuntar fotos 😕",
		"A:Hola {nombre}, ¿qué versión de la app tienes? La encuentras en Ajustes → Acerca de.",
		"La 3.2.1, en Android",
		"A:Es un error conocido de esa versión: la 3.2.2 ya está en Play Store y lo corrige. ¿Puedes actualizar y contarme?",
		"Actualizada, ya funciona",
	}},
	{team: teamSupport, lines: []string{
		"Hola, ¿cómo agrego un usuario nuevo a mi cuenta?",
		"A:Hola {nombre}, desde Configuración → Usuarios → «Nuevo usuario»; le llega una invitación por correo. ¿Lo intentas y me cuentas?",
	}},
	{team: teamBilling, labels: []string{labelClaim}, close: "Nota de crédito emitida", note: "Escalado a contabilidad: NC por USD 250", lines: []string{
		"Hola, me llegó la factura {factura} pero el monto no coincide con lo acordado",
		"A:Hola {nombre}, gracias por avisar. ¿Me confirmas el monto que acordaron con el ejecutivo?",
		"Eran USD 1.200 más IGV, y la factura dice 1.450",
		"A:Tienes razón: se aplicó la tarifa sin descuento. Emitimos una nota de crédito y te llega la factura corregida en 24 h.",
		"Gracias por la rapidez",
	}},
	{team: teamBilling, close: "Estado de cuenta enviado", lines: []string{
		"Buen día, ¿me pueden enviar el estado de cuenta del mes pasado?",
		"A:Buen día {nombre}. Te lo envío en PDF en unos minutos.",
		"Recibido, gracias",
	}},
	{team: teamBilling, labels: []string{labelUnpaid}, close: "Pago confirmado", lines: []string{
		"Hola, ya hice la transferencia, les mando el comprobante",
		"A:Hola {nombre}, gracias. Ya lo vemos reflejado: la factura {factura} queda pagada.",
		"Genial 🙌",
	}},
	{team: teamBilling, labels: []string{labelUnpaid}, close: "Cronograma enviado", lines: []string{
		"¿Puedo pagar en dos cuotas la renovación anual?",
		"A:Hola {nombre}, sí: la primera al renovar y la segunda a los 30 días, sin recargo. ¿Te preparo el cronograma?",
		"Sí, por favor",
		"A:Listo, te lo envié al correo con las dos fechas.",
	}},
	{team: teamBilling, labels: []string{labelRenewal}, close: "Cotización de renovación enviada", lead: &leadFlow{"Renovación anual {empresa}", 2600, "Renovaciones"}, lines: []string{
		"Hola, se vence nuestra suscripción el próximo mes, ¿cómo renovamos?",
		"A:Hola {nombre}, te preparo la cotización de renovación con el precio congelado de este año.",
		"Perfecto, quedo atento",
	}},
}

// follow-ups a customer writes after a close (a reopen), and what the agent answers.
var reopens = []struct{ customer, agent string }{
	{"Disculpa, una consulta más: ¿la factura sale a nombre de {empresa}?", "Sí, {nombre}: sale con la razón social y el RUC que tenemos registrados."},
	{"Hola de nuevo, me olvidé de preguntar: ¿incluye capacitación?", "¡Claro! Incluye dos sesiones de capacitación por videollamada para tu equipo."},
	{"Otra vez yo 🙈, el enlace que me enviaron ya venció", "Te acabo de enviar uno nuevo, vale por 48 horas."},
	{"Perdón, ¿me reenvían el PDF? No lo encuentro", "Te lo reenvié ahora mismo, revisa también la carpeta de spam."},
}

var lostReasons = []string{"Eligió a otro proveedor por precio", "Postergó el proyecto al próximo año", "No consiguió aprobación del presupuesto"}

// historyFile is the demo's history as an import file — six weeks ending now, in
// file order by time — and the labels of each customer's conversation (labels are
// not part of the import format).
func historyFile(ws models.Workspace, ch models.Channel, now time.Time) ([]byte, map[string][]string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	emit := func(m map[string]any) {
		if t, ok := m["at"].(time.Time); ok {
			m["at"] = t.UTC().Format(time.RFC3339)
		}
		_ = enc.Encode(m)
	}
	loc := ws.Location()
	today := now.In(loc)
	hol := holidays(today)
	cal, err := calendar.Parse(loc.String(), officeHours, hol)
	if err != nil {
		panic(err) // the hours above are fixed and valid
	}

	// Setup: SLA policies, the office calendar, teams with both, the pipelines.
	emit(map[string]any{"type": "sla_policy", "name": "Respuesta comercial", "first_response": "30m", "next_response": "1h", "resolution": "24h", "business_hours": true})
	emit(map[string]any{"type": "sla_policy", "name": "Soporte estándar", "first_response": "1h", "next_response": "2h", "resolution": "16h", "business_hours": true, "warning": 75})
	emit(map[string]any{"type": "sla_policy", "name": "Cobranzas 24/7", "first_response": "4h", "resolution": "3d", "business_hours": false})
	emit(map[string]any{"type": "calendar", "name": calendarName, "timezone": loc.String(), "hours": officeHours, "holidays": hol})
	emit(map[string]any{"type": "team", "name": teamSales, "calendar": calendarName, "sla_policy": "Respuesta comercial"})
	emit(map[string]any{"type": "team", "name": teamSupport, "calendar": calendarName, "sla_policy": "Soporte estándar"})
	emit(map[string]any{"type": "team", "name": teamBilling, "calendar": calendarName, "sla_policy": "Cobranzas 24/7"})
	crmHistory(emit, now)

	h := &history{rng: rand.New(rand.NewPCG(2026, 12)), cal: cal, loc: loc, until: now.Add(-2 * time.Minute),
		labels: map[string][]string{}, free: map[string]time.Time{}}
	start := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -7*HistoryWeeks)
	for day := start; day.Before(today); day = day.AddDate(0, 0, 1) {
		n := 7 + h.rng.IntN(6) // a weekday
		switch {
		case slices.Contains(hol, day.Format(time.DateOnly)):
			n = 2 // a holiday: a few customers write anyway; they are answered the next working day
		case day.Weekday() == time.Saturday:
			n = 3 + h.rng.IntN(3)
		case day.Weekday() == time.Sunday:
			n = h.rng.IntN(2)
		}
		for range n {
			h.cycle(day)
		}
	}
	h.today(now)

	sort.SliceStable(h.events, func(i, j int) bool { return h.events[i].at.Before(h.events[j].at) })
	for _, e := range h.events {
		e.m["at"] = e.at
		emit(e.m)
	}
	return buf.Bytes(), h.labels
}

type event struct {
	at time.Time
	m  map[string]any
}

// history writes the demo's conversations as events.
type history struct {
	rng    *rand.Rand
	cal    calendar.Calendar
	loc    *time.Location
	until  time.Time // nothing happens after this (now)
	events []event
	labels map[string][]string
	free   map[string]time.Time // when a customer's last conversation ended
	seq    int
	next   int // the next customer to try
}

// add records an event; false (and nothing recorded) when it would happen after now.
func (h *history) add(at time.Time, m map[string]any) bool {
	if at.After(h.until) {
		return false
	}
	h.events = append(h.events, event{at, m})
	return true
}

func (h *history) customerFree(at time.Time) (customer, bool) {
	for range len(customers) {
		c := customers[h.next%len(customers)]
		h.next += 1 + h.rng.IntN(3)
		if f, ok := h.free[c.waID]; !ok || f.Add(18*time.Hour).Before(at) {
			return c, true
		}
	}
	return customer{}, false
}

func (h *history) fill(text string, c customer) string {
	first, _, _ := strings.Cut(c.name, " ")
	company := c.company
	if company == "" {
		company = c.name
	}
	return strings.NewReplacer("{nombre}", first, "{empresa}", company, "{n}", fmt.Sprint(10+5*h.rng.IntN(7)),
		"{factura}", fmt.Sprintf("F001-%04d", 2000+h.rng.IntN(900))).Replace(text)
}

// wait is how long an agent takes to answer a message that arrived at at: business time.
func (h *history) wait(a agent, at time.Time, first bool) time.Time {
	mins := a.minWait + h.rng.IntN(a.maxWait-a.minWait+1)
	if !first {
		mins = max(1, mins/2)
	}
	if h.rng.Float64() < a.slowShare {
		mins = 90 + h.rng.IntN(180) // stuck in a meeting: the SLA breaches
	}
	return h.cal.Add(at, time.Duration(mins)*time.Minute+time.Duration(h.rng.IntN(60))*time.Second)
}

// arrival is when a customer writes on day: mostly office hours, some evenings.
func (h *history) arrival(day time.Time) time.Time {
	hour := 9 + h.rng.IntN(9)
	switch r := h.rng.Float64(); {
	case r < 0.12:
		hour = 19 + h.rng.IntN(3) // evening: answered the next morning
	case r < 0.18:
		hour = 13 // lunch break
	case r < 0.22:
		hour = 7 + h.rng.IntN(2)
	}
	if day.Weekday() == time.Saturday && hour < 19 {
		hour = 9 + h.rng.IntN(4) // the office opens Saturday mornings
	}
	return time.Date(day.Year(), day.Month(), day.Day(), hour, h.rng.IntN(60), h.rng.IntN(60), 0, h.loc)
}

func (h *history) inbound(c customer, text, team string, at time.Time) bool {
	h.seq++
	return h.add(at, map[string]any{"type": "inbound", "channel": PhoneNumberID, "from": c.waID, "name": c.name,
		"text": text, "id": fmt.Sprintf("wamid.DEMO%05d", h.seq), "team": team})
}

func (h *history) take(c customer, a agent, at time.Time) bool {
	return h.add(at, map[string]any{"type": "assign", "contact": c.waID, "agent": a.email}) &&
		h.add(at, map[string]any{"type": "status", "contact": c.waID, "agent": a.email, "status": models.StatusActive})
}

func (h *history) reply(c customer, a agent, text string, at time.Time) bool {
	return h.add(at, map[string]any{"type": "reply", "contact": c.waID, "agent": a.email, "text": text})
}

func (h *history) closeAt(c customer, a agent, reason string, at time.Time) bool {
	return h.add(at, map[string]any{"type": "status", "contact": c.waID, "agent": a.email, "status": models.StatusClosed, "reason": reason})
}

// label sets the labels of the customer's conversation to its latest cycle's (a VIP
// stays VIP).
func (h *history) label(c customer, names ...string) {
	keep := []string{}
	if slices.Contains(h.labels[c.waID], labelVIP) {
		keep = append(keep, labelVIP)
	}
	h.labels[c.waID] = append(keep, names...)
}

// cycle writes one conversation cycle starting on day.
func (h *history) cycle(day time.Time) {
	at := h.arrival(day)
	c, ok := h.customerFree(at)
	if !ok {
		return
	}
	f := flows[h.rng.IntN(len(flows))]
	agents := teamAgents[f.team]
	a := agents[h.rng.IntN(len(agents))]
	h.free[c.waID] = h.until.Add(24 * time.Hour) // busy until this cycle ends (forever, if it is still open)
	labels := slices.Clone(f.labels)
	if c.company != "" && len(c.company)%5 == 0 {
		labels = append(labels, labelVIP)
	}
	h.label(c, labels...)

	// A customer who only says hello at night and never says what for: closed unanswered.
	if h.rng.Float64() < 0.04 {
		if h.inbound(c, "Hola", f.team, at) && h.closeAt(c, jorgeA, "Sin consulta: el cliente no volvió a escribir", h.cal.Add(at, 3*time.Hour)) {
			h.free[c.waID] = at.Add(4 * time.Hour)
		}
		return
	}
	end, ok := h.dialogue(c, f, a, at)
	if !ok {
		return
	}
	if !h.finish(c, f, a, end) {
		return
	}
}

// dialogue plays the flow's lines; it returns the time of the last one, and false
// when the conversation is still going on now.
func (h *history) dialogue(c customer, f flow, a agent, at time.Time) (time.Time, bool) {
	t := at
	replies := 0
	for i, line := range f.lines {
		if text, ok := strings.CutPrefix(line, "A:"); ok {
			t = h.wait(a, t, replies == 0)
			if replies == 0 && !h.take(c, a, t) {
				return t, false
			}
			if !h.reply(c, a, h.fill(text, c), t) {
				return t, false
			}
			replies++
			if f.lead != nil && replies == 2 && !h.lead(c, f, a, t) {
				return t, false
			}
			continue
		}
		if i > 0 {
			gap := time.Duration(1+h.rng.IntN(25)) * time.Minute
			if h.rng.Float64() < 0.15 {
				gap = time.Duration(3+h.rng.IntN(18)) * time.Hour // answers the next day: a next-response wait
			}
			t = t.Add(gap)
		}
		if !h.inbound(c, h.fill(line, c), f.team, t) {
			return t, false
		}
	}
	if f.note != "" {
		t = t.Add(time.Minute)
		if !h.add(t, map[string]any{"type": "note", "contact": c.waID, "agent": a.email, "text": f.note}) {
			return t, false
		}
	}
	if f.lead != nil && replies < 2 && !h.lead(c, f, a, t) {
		return t, false
	}
	return t, true
}

// finish transfers (when the flow says so), closes, and sometimes reopens.
func (h *history) finish(c customer, f flow, a agent, t time.Time) bool {
	closer := a
	if f.xfer {
		t = t.Add(3 * time.Minute)
		if !h.add(t, map[string]any{"type": "transfer", "contact": c.waID, "team": teamSupport, "note": "Cliente necesita revisión técnica antes de cotizar"}) {
			return false
		}
		s := teamAgents[teamSupport][h.rng.IntN(len(teamAgents[teamSupport]))]
		t = h.wait(s, t, true)
		if !h.take(c, s, t) || !h.reply(c, s, "Hola, soy de Soporte técnico. Revisé tu servidor: la versión es compatible. Te devuelvo con Comercial para la propuesta.", t) {
			return false
		}
		t = t.Add(time.Duration(2+h.rng.IntN(30)) * time.Minute)
		if !h.inbound(c, "¡Genial, gracias!", teamSupport, t) {
			return false
		}
		closer = s
	}
	reason := f.close
	if reason == "" {
		reason = "Sin respuesta del cliente"
		t = h.cal.Add(t, time.Duration(4+h.rng.IntN(12))*time.Hour) // waited for an answer that never came
	} else {
		t = h.cal.Add(t, time.Duration(2+h.rng.IntN(40))*time.Minute)
	}
	if !h.closeAt(c, closer, reason, t) {
		return false
	}
	h.free[c.waID] = t
	if h.rng.Float64() >= 0.12 {
		return true
	}
	// A reopen: the customer writes again a few hours later; the same agent answers.
	r := reopens[h.rng.IntN(len(reopens))]
	t = t.Add(time.Duration(1+h.rng.IntN(20)) * time.Hour)
	team := f.team
	if f.xfer {
		team = teamSupport
	}
	if !h.inbound(c, h.fill(r.customer, c), team, t) {
		return false
	}
	t = h.wait(closer, t, true)
	if !h.take(c, closer, t) || !h.reply(c, closer, h.fill(r.agent, c), t) {
		return false
	}
	t = h.cal.Add(t, time.Duration(10+h.rng.IntN(60))*time.Minute)
	if !h.closeAt(c, closer, "Consulta adicional resuelta", t) {
		return false
	}
	h.free[c.waID] = t
	return true
}

// lead opens the flow's lead and moves it through the pipeline over the next days:
// won, lost or still open, as far as today.
func (h *history) lead(c customer, f flow, a agent, at time.Time) bool {
	l := f.lead
	first, stages, won, lost := "Calificado", []string{"Propuesta", "Negociación"}, "Ganado", "Perdido"
	if l.pipeline == "Renovaciones" {
		first, stages, won, lost = "Entrantes", []string{"Cotizada"}, "Renovada", "No renovó"
	}
	value := l.value
	if strings.Contains(l.title, "{n}") {
		n := 10 + 5*h.rng.IntN(7)
		value *= float64(n)
		l = &leadFlow{strings.ReplaceAll(l.title, "{n}", fmt.Sprint(n)), value, l.pipeline}
	}
	if !h.add(at, map[string]any{"type": "lead", "contact": c.waID, "title": h.fill(l.title, c), "value": value,
		"currency": "USD", "pipeline": l.pipeline, "stage": first, "agent": a.email}) {
		return false
	}
	t := at
	move := func(stage, reason string) bool {
		t = h.cal.NextOpening(t.Add(time.Duration(20+h.rng.IntN(70)) * time.Hour))
		m := map[string]any{"type": "stage", "contact": c.waID, "stage": stage, "pipeline": l.pipeline, "agent": a.email}
		if reason != "" {
			m["reason"] = reason
		}
		return h.add(t, m)
	}
	for _, st := range stages {
		if h.rng.Float64() < 0.08 {
			move(lost, lostReasons[h.rng.IntN(len(lostReasons))])
			return true
		}
		if !move(st, "") {
			return true // still at that stage today
		}
	}
	switch r := h.rng.Float64(); {
	case r < 0.45:
		move(won, "")
	case r < 0.70:
		move(lost, lostReasons[h.rng.IntN(len(lostReasons))])
	}
	return true
}

// today leaves a few conversations in every open column, as a team finds them in the morning.
func (h *history) today(now time.Time) {
	open := []struct {
		team, text string
		agent      agent
		state      int // 0 new, 1 taken, 2 answered (pending), 3 answered and the customer wrote again
	}{
		{teamSales, "Hola, ¿tienen precios especiales para colegios? Somos 3 sedes", anaA, 0},
		{teamSupport, "Buenas tardes, la app se cierra sola al adjuntar fotos 😕", luisA, 1},
		{teamBilling, "Hola, ya hice la transferencia, les mando el comprobante", carlaA, 2},
		{teamSales, "Quisiera cotizar 5 licencias adicionales para el área de ventas", anaA, 3},
		{teamSupport, "No me llegan las notificaciones por correo desde el lunes", diegoA, 0},
		{teamSales, "¿Tienen partner en Guadalajara? Queremos implementación presencial", carlaA, 1},
		{teamBilling, "¿Puedo pagar en dos cuotas la renovación anual?", carlaA, 2},
		{teamSupport, "Hola, ¿se puede exportar el historial de chats a Excel?", luisA, 3},
		{teamSales, "Buenas, ¿la integración con SAP está incluida?", anaA, 0},
	}
	h.until = now
	for i, o := range open {
		at := now.Add(-time.Duration(6+(len(open)-i)*17) * time.Minute)
		c, ok := h.customerFree(at)
		if !ok {
			return
		}
		h.free[c.waID] = now.Add(24 * time.Hour)
		h.label(c, map[string][]string{teamSales: {labelQuote}, teamSupport: {labelFollowUp}, teamBilling: {labelUnpaid}}[o.team]...)
		h.inbound(c, o.text, o.team, at)
		switch o.state {
		case 1:
			h.take(c, o.agent, at.Add(2*time.Minute))
		case 2:
			h.take(c, o.agent, at.Add(3*time.Minute))
			h.reply(c, o.agent, "¡Hola! Gracias por escribirnos. Lo reviso y te confirmo en unos minutos.", at.Add(3*time.Minute))
		case 3:
			h.take(c, o.agent, at.Add(2*time.Minute))
			h.reply(c, o.agent, "Hola, claro que sí. ¿Me compartes tu RUC o razón social?", at.Add(2*time.Minute))
			h.inbound(c, "Sí, es 20601234567", o.team, at.Add(4*time.Minute))
		}
	}
}

// sortedSet is names without repeats, in order.
func sortedSet(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// seedCatalog gives agents canned responses ("/" in the composer) and approved
// templates to reopen a conversation whose 24-hour window closed. Existing ones are
// left as they are.
func seedCatalog(ctx context.Context, tx *gorm.DB, ws models.Workspace) error {
	canned := []struct{ shortcut, title, body string }{
		{"saludo", "Saludo", "¡Hola! Gracias por escribir a Atiende. ¿En qué te puedo ayudar?"},
		{"horario", "Horario de atención", "Atendemos de lunes a viernes de 9:00 a 13:00 y de 14:00 a 18:00, y los sábados de 9:00 a 13:00 (hora de Lima)."},
		{"cotizacion", "Cotización en camino", "Te preparo la cotización y te la envío hoy mismo por aquí y a tu correo."},
		{"pago", "Datos para el pago", "Puedes pagar por transferencia a la cuenta BCP 193-2456789-0-12 (Atiende SAC, RUC 20601234567) y enviarnos el comprobante por aquí."},
		{"derivar", "Derivar a soporte", "Te paso con nuestro equipo de Soporte técnico, que te escribe en unos minutos por este mismo chat."},
		{"gracias", "Cierre", "¡Gracias por escribirnos! Si necesitas algo más, aquí estamos."},
	}
	for _, c := range canned {
		if err := tx.WithContext(ctx).Exec(`INSERT INTO canned_responses (workspace_id, shortcut, title, body, created_at)
			VALUES (?, ?, ?, ?, now()) ON CONFLICT DO NOTHING`, ws.ID, c.shortcut, c.title, c.body).Error; err != nil {
			return err
		}
	}
	templates := []struct{ name, category, body string }{
		{"seguimiento_cotizacion", catalog.CategoryMarketing, "Hola {{1}}, te escribimos por la cotización {{2}} que te enviamos. ¿Pudiste revisarla? Respóndenos por aquí y te ayudamos."},
		{"recordatorio_pago", catalog.CategoryUtility, "Hola {{1}}, te recordamos que la factura {{2}} vence el {{3}}. Si ya pagaste, ignora este mensaje."},
		{"confirmacion_demo", catalog.CategoryUtility, "Hola {{1}}, confirmamos tu demo de Atiende el {{2}}. Te enviamos el enlace de la videollamada al correo."},
		{"retomar_conversacion", catalog.CategoryUtility, "Hola {{1}}, quedó pendiente tu consulta con nuestro equipo. ¿Seguimos por aquí?"},
	}
	for _, t := range templates {
		if _, err := catalog.Params(t.body); err != nil {
			return fmt.Errorf("template %s: %w", t.name, err)
		}
		if err := tx.WithContext(ctx).Exec(`INSERT INTO templates (workspace_id, name, language, category, body, waba_id, status, created_at)
			VALUES (?, ?, 'es', ?, ?, ?, 'approved', now()) ON CONFLICT DO NOTHING`, ws.ID, t.name, t.category, t.body, WabaID).Error; err != nil {
			return err
		}
	}
	return nil
}
