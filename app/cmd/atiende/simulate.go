package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
)

// Bounds of a simulation: it is a load and demo tool for one machine, not a flood.
const (
	simMaxRate     = 1000
	simMaxDuration = time.Hour
	simMaxContacts = 10000
	simWorkers     = 32
)

// cmdSimulate posts signed customer webhooks, as Meta would, to every active channel
// of a workspace on a server running on this machine, then prints what happened.
func cmdSimulate(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	rate := fs.Float64("rate", 2, "webhooks per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to send")
	rawURL := fs.String("url", "http://localhost:8080", "the Atiende server (must be on this machine)")
	workspace := fs.String("workspace", "", "workspace name (default: the only one)")
	nContacts := fs.Int("contacts", 40, "how many different customers write")
	pace := fs.String("pace", "rate", "rate: --rate webhooks per second; team: as many new chats as one team answers, and customers reply when agents write")
	seed := fs.Uint64("seed", 1, "the same seed gives the same customers, so conversations continue across runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *rate <= 0 || *rate > simMaxRate:
		return fmt.Errorf("--rate must be between 0 and %d per second", simMaxRate)
	case *duration <= 0 || *duration > simMaxDuration:
		return fmt.Errorf("--duration must be between 0 and %v", simMaxDuration)
	case *nContacts < 1 || *nContacts > simMaxContacts:
		return fmt.Errorf("--contacts must be between 1 and %d", simMaxContacts)
	}
	base, err := loopbackURL(*rawURL)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	defer d.Close()
	ws, err := accounts.New(d.Gorm, clock.Real{}).ResolveWorkspace(ctx, *workspace)
	if err != nil {
		return err
	}
	box, err := secrets.New(env.Config.SecretKey)
	if err != nil {
		return err
	}
	chans := channels.New(d.Gorm, box, clock.Real{})
	list, err := chans.List(ctx, ws.ID)
	if err != nil {
		return err
	}
	var targets []simChannel
	for _, ch := range list {
		if !ch.Active {
			continue
		}
		c, err := chans.Credentials(ch)
		if err != nil {
			return fmt.Errorf("channel %q: %w", ch.Name, err)
		}
		targets = append(targets, simChannel{url: base + ch.WebhookPath(), secret: []byte(c.AppSecret),
			phoneNumberID: ch.PhoneNumberID, display: onlyDigits(ch.DisplayPhone), waba: ch.WabaID})
	}
	if len(targets) == 0 {
		return fmt.Errorf("workspace %q has no active channel: add one with `atiende channel add` or run `atiende demo`", ws.Name)
	}

	sim := newSimulation(*seed, *nContacts, targets)
	if *pace == "team" {
		return simulateTeam(ctx, env, d.Gorm, ws.ID, sim, base, *duration)
	} else if *pace != "rate" {
		return fmt.Errorf("--pace must be rate or team")
	}
	total := max(1, int(*rate*duration.Seconds()))
	fmt.Fprintf(env.Stdout, "simulate: %d webhooks at %.4g/s for %v to %d channel(s) of %q, %d customers\n",
		total, *rate, *duration, len(targets), ws.Name, len(sim.contacts))

	jobs := make(chan simJob, simWorkers)
	res := &simResults{}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: simWorkers}}
	var wg sync.WaitGroup
	for range simWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res.add(post(client, j))
			}
		}()
	}
	runCtx, cancel := context.WithTimeout(ctx, *duration+2*time.Second)
	defer cancel()
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	start := time.Now()
	lastRefresh := time.Time{}
	messages := 0
produce:
	for i := 0; i < total; i++ {
		if time.Since(lastRefresh) > 5*time.Second {
			sim.refreshOutbound(runCtx, d.Gorm, ws.ID)
			lastRefresh = time.Now()
		}
		j := sim.next()
		messages += j.messages
		select {
		case jobs <- j:
		case <-runCtx.Done():
			break produce
		}
		if i < total-1 {
			select {
			case <-tick.C:
			case <-runCtx.Done():
				break produce
			}
		}
	}
	close(jobs)
	wg.Wait()
	res.print(env.Stdout, time.Since(start), messages)
	if res.failed() > 0 {
		return fmt.Errorf("%d of %d webhooks were not accepted", res.failed(), len(res.latencies))
	}
	return nil
}

// loopbackURL accepts only a server on this machine: the simulator signs webhooks with
// real channel secrets and must not be pointed at someone else's server.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q must look like http://localhost:8080", raw)
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	if h != "localhost" && !strings.HasSuffix(h, ".localhost") && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("--url %q: simulate only talks to a server on this machine (localhost, 127.0.0.1, ::1)", raw)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

type simChannel struct {
	url, phoneNumberID, display, waba string
	secret                            []byte
}

type simJob struct {
	url      string
	secret   []byte
	body     []byte
	messages int
}

type simResult struct {
	latency time.Duration
	status  int
	err     string
}

func post(c *http.Client, j simJob) simResult {
	req, err := http.NewRequest(http.MethodPost, j.url, bytes.NewReader(j.body))
	if err != nil {
		return simResult{err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(j.secret, j.body))
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return simResult{latency: time.Since(start), err: err.Error()}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	return simResult{latency: time.Since(start), status: res.StatusCode}
}

type simResults struct {
	mu        sync.Mutex
	latencies []time.Duration
	outcomes  map[string]int
}

func (r *simResults) add(x simResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcomes == nil {
		r.outcomes = map[string]int{}
	}
	r.latencies = append(r.latencies, x.latency)
	switch {
	case x.err != "":
		r.outcomes["error: "+shorten(x.err)]++
	case x.status == http.StatusOK:
		r.outcomes["ok"]++
	default:
		r.outcomes["HTTP "+strconv.Itoa(x.status)]++
	}
}

func (r *simResults) failed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.latencies) - r.outcomes["ok"]
}

func (r *simResults) print(w io.Writer, elapsed time.Duration, messages int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.latencies)
	fmt.Fprintf(w, "sent %d webhooks (%d messages) in %v (%.1f/s): %d accepted, %d failed\n",
		n, messages, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), r.outcomes["ok"], n-r.outcomes["ok"])
	if n == 0 {
		return
	}
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))].Round(100 * time.Microsecond) }
	fmt.Fprintf(w, "latency p50 %v · p99 %v · max %v\n", pct(0.50), pct(0.99), lat[n-1].Round(100*time.Microsecond))
	keys := make([]string, 0, len(r.outcomes))
	for k := range r.outcomes {
		if k != "ok" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %5d × %s\n", r.outcomes[k], k)
	}
}

func shorten(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// --- the simulated customers -------------------------------------------------------

type simCountry struct {
	code, tax, tld, suffix string
	cities                 []simCity
	invoice                func(r *mrand.Rand) string
	amount                 func(r *mrand.Rand) string
	voseo                  bool
}

type simCity struct {
	name, area, street string
	lat, lng           float64
}

// number returns a WhatsApp id as Meta writes them: Mexico's mobiles carry 521 and
// Argentina's 549 before the area code.
func (c simCountry) number(r *mrand.Rand, city simCity) string {
	n := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	switch c.code {
	case "PE":
		return "519" + n(8)
	case "MX":
		return "521" + city.area + n(10-len(city.area))
	case "CO":
		return "573" + n(9)
	case "AR":
		return "549" + city.area + n(10-len(city.area))
	default: // CL
		return "569" + n(8)
	}
}

var simCountries = []simCountry{
	{code: "PE", tax: "IGV", tld: "com.pe", suffix: "S.A.C.",
		cities: []simCity{{"Lima", "", "Av. Javier Prado Este", -12.0464, -77.0428}, {"Arequipa", "", "Av. Ejército", -16.409, -71.5375},
			{"Trujillo", "", "Av. España", -8.1091, -79.0215}, {"Chiclayo", "", "Av. Balta", -6.7714, -79.8409}},
		invoice: func(r *mrand.Rand) string { return fmt.Sprintf("F001-%08d", 1000+r.IntN(9000)) },
		amount:  func(r *mrand.Rand) string { return "S/ " + thousands(500+r.IntN(40000), ",") + ".00" }},
	{code: "MX", tax: "IVA", tld: "com.mx", suffix: "S.A. de C.V.",
		cities: []simCity{{"Ciudad de México", "55", "Av. Paseo de la Reforma", 19.4326, -99.1332},
			{"Guadalajara", "33", "Av. Chapultepec", 20.6597, -103.3496}, {"Monterrey", "81", "Av. Constitución", 25.6866, -100.3161}},
		invoice: func(r *mrand.Rand) string { return fmt.Sprintf("A-%05d", 100+r.IntN(90000)) },
		amount:  func(r *mrand.Rand) string { return "$" + thousands(2000+r.IntN(180000), ",") + " MXN" }},
	{code: "CO", tax: "IVA", tld: "com.co", suffix: "S.A.S.",
		cities: []simCity{{"Bogotá", "", "Carrera 7", 4.711, -74.0721}, {"Medellín", "", "Calle 10", 6.2442, -75.5812},
			{"Cali", "", "Avenida 6N", 3.4516, -76.532}, {"Barranquilla", "", "Calle 72", 10.9685, -74.7813}},
		invoice: func(r *mrand.Rand) string { return fmt.Sprintf("FE-%06d", 1000+r.IntN(90000)) },
		amount:  func(r *mrand.Rand) string { return "$" + thousands((200+r.IntN(9000))*1000, ".") }},
	{code: "AR", tax: "IVA", tld: "com.ar", suffix: "S.R.L.", voseo: true,
		cities: []simCity{{"Buenos Aires", "11", "Av. Corrientes", -34.6037, -58.3816}, {"Córdoba", "351", "Av. Colón", -31.4201, -64.1888},
			{"Rosario", "341", "Bv. Oroño", -32.9442, -60.6505}},
		invoice: func(r *mrand.Rand) string { return fmt.Sprintf("A 0003-%08d", 1000+r.IntN(90000)) },
		amount:  func(r *mrand.Rand) string { return "$" + thousands((100+r.IntN(5000))*1000, ".") }},
	{code: "CL", tax: "IVA", tld: "cl", suffix: "SpA",
		cities: []simCity{{"Santiago", "", "Av. Providencia", -33.4489, -70.6693}, {"Valparaíso", "", "Av. Brasil", -33.0472, -71.6127},
			{"Concepción", "", "Av. O'Higgins", -36.827, -73.0503}},
		invoice: func(r *mrand.Rand) string { return fmt.Sprintf("N° %d", 10000+r.IntN(90000)) },
		amount:  func(r *mrand.Rand) string { return "$" + thousands((50+r.IntN(3000))*1000, ".") }},
}

var (
	simFirstNames = []string{"María José", "Carlos", "Lucía", "Jorge", "Valentina", "Diego", "Camila", "Andrés", "Rosa", "Luis",
		"Fernanda", "Miguel Ángel", "Paola", "Ricardo", "Gabriela", "Javier", "Daniela", "Héctor", "Natalia", "Sebastián",
		"Claudia", "Martín", "Ximena", "Raúl", "Milagros", "Eduardo", "Patricia", "Gonzalo", "Verónica", "Julián"}
	simLastNames = []string{"Quispe", "Mamani", "Huamán", "García", "Rodríguez", "González", "Hernández", "López", "Martínez",
		"Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Vargas", "Castillo", "Rojas", "Morales", "Gutiérrez",
		"Chávez", "Ramos", "Mendoza", "Silva", "Cárdenas", "Paredes", "Salazar", "Navarro", "Fuentes", "Contreras", "Muñoz",
		"Pérez", "Soto", "Figueroa", "Álvarez", "Romero", "Benítez", "Acosta", "Villanueva"}
	simCompanies = []string{"Distribuidora del Norte", "Ferretería El Constructor", "Comercial Los Andes", "Importaciones del Pacífico",
		"Agroexportadora San Isidro", "Clínica Santa Rosa", "Laboratorios Bioandina", "Transportes Rápidos", "Textiles Gamarra",
		"Constructora Andina", "Minimarket Don Pepe", "Grupo Logístico Sur", "Inversiones Costa Verde", "Papelera Central",
		"Metalmecánica Industrial", "Autopartes Express", "Panificadora La Espiga", "Consultores Asociados"}
	simProducts = []string{"cajas de guantes de nitrilo talla M", "millares de papel bond A4", "licencias del sistema",
		"bolsas de cemento", "rollos de cable eléctrico de 2.5 mm", "cascos de seguridad", "tóners HP 85A", "sillas ergonómicas",
		"laptops para el equipo de ventas", "uniformes bordados con logo", "pallets de agua de mesa", "kits de primeros auxilios"}
	simQuantities = []int{10, 20, 25, 50, 100, 200, 500}
)

type simContact struct {
	waID, name, profile, company, email string
	country                             simCountry
	city                                simCity
	channel                             int
	script, step                        int
	lastIn, lastOut                     string
}

type simulation struct {
	r        *mrand.Rand
	channels []simChannel
	contacts []*simContact
	seq      int
}

func newSimulation(seed uint64, n int, chs []simChannel) *simulation {
	r := mrand.New(mrand.NewPCG(seed, 0xa71e4de))
	s := &simulation{r: r, channels: chs}
	seen := map[string]bool{}
	for i := 0; len(s.contacts) < n; i++ {
		co := simCountries[r.IntN(len(simCountries))]
		city := co.cities[r.IntN(len(co.cities))]
		c := &simContact{country: co, city: city, channel: i % len(chs), script: r.IntN(len(simScripts))}
		if c.waID = co.number(r, city); seen[c.waID] {
			continue
		}
		seen[c.waID] = true
		first, last := simFirstNames[r.IntN(len(simFirstNames))], simLastNames[r.IntN(len(simLastNames))]
		c.name = first + " " + last
		c.company = simCompanies[r.IntN(len(simCompanies))] + " " + co.suffix
		c.email = strings.ToLower(asciiFold(first)[:1]+asciiFold(last)) + "@" +
			strings.ToLower(asciiFold(strings.Fields(c.company)[0])) + "." + co.tld
		switch r.IntN(5) { // WhatsApp profile names are whatever people typed
		case 0:
			c.profile = strings.Fields(first)[0]
		case 1:
			c.profile = c.name + " | " + strings.TrimSuffix(c.company, " "+co.suffix)
		case 2:
			c.profile = strings.TrimSuffix(c.company, " "+co.suffix)
		default:
			c.profile = c.name
		}
		s.contacts = append(s.contacts, c)
	}
	return s
}

// next builds the next webhook: a few customers write much more than the rest, and
// each goes through a conversation script step by step. Some webhooks batch two or
// three messages, as Meta's do.
func (s *simulation) next() simJob {
	u := s.r.Float64()
	c := s.contacts[int(u*u*float64(len(s.contacts)))]
	n := 1
	if s.r.IntN(20) == 0 {
		n = 2 + s.r.IntN(2)
	}
	return s.jobFor(c, n)
}

// jobFor builds a webhook carrying contact c's next n messages.
func (s *simulation) jobFor(c *simContact, n int) simJob {
	var msgs []map[string]any
	for range n {
		msgs = append(msgs, s.message(c))
	}
	return s.jobWith(c, msgs)
}

// jobWith builds a webhook carrying msgs from contact c.
func (s *simulation) jobWith(c *simContact, msgs []map[string]any) simJob {
	ch := s.channels[c.channel]
	waba := ch.waba
	if waba == "" {
		waba = fakemeta.DefaultWabaID
	}
	display := ch.display
	if display == "" {
		display = "15550000000"
	}
	body := map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": waba, "changes": []any{
		map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": display, "phone_number_id": ch.phoneNumberID},
			"contacts":          []any{map[string]any{"profile": map[string]string{"name": c.profile}, "wa_id": c.waID}},
			"messages":          msgs,
		}}}}}}
	b, _ := json.Marshal(body)
	return simJob{url: ch.url, secret: ch.secret, body: escapeNonASCII(b), messages: len(msgs)}
}

func (s *simulation) wamid(c *simContact) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "wamid.HBgL" + strings.ToUpper(hex.EncodeToString([]byte(c.waID))[:16]+hex.EncodeToString(b))
}

// message renders the contact's next script step and advances it.
func (s *simulation) message(c *simContact) map[string]any {
	steps := simScripts[c.script]
	st := steps[c.step]
	c.step++
	if c.step == len(steps) {
		c.script, c.step = s.r.IntN(len(simScripts)), 0
	}
	s.seq++
	id := s.wamid(c)
	m := map[string]any{"from": c.waID, "id": id, "timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": st.kind}
	text := s.fill(c, st.text, st.ar)
	switch st.kind {
	case "text":
		m["text"] = map[string]string{"body": text}
	case "image", "document", "audio":
		kind := st.kind
		if kind == "audio" {
			kind = "voice"
		}
		mid := fakemeta.MediaID(kind, s.seq)
		mime, data := fakemeta.MediaContent(mid)
		media := map[string]any{"id": mid, "mime_type": mime, "sha256": fakemeta.MediaSHA256(data)}
		if text != "" {
			media["caption"] = text
		}
		if st.kind == "document" {
			media["filename"] = s.fill(c, st.file, "")
		}
		if st.kind == "audio" {
			media["voice"] = true
		}
		m[st.kind] = media
	case "location":
		m["location"] = map[string]any{"latitude": c.city.lat + (s.r.Float64()-0.5)/50, "longitude": c.city.lng + (s.r.Float64()-0.5)/50,
			"name": strings.TrimSuffix(c.company, " "+c.country.suffix), "address": fmt.Sprintf("%s %d, %s", c.city.street, 100+s.r.IntN(2900), c.city.name)}
	case "reaction":
		target := c.lastOut
		if target == "" {
			target = c.lastIn
		}
		if target == "" { // nothing to react to yet: say thanks instead
			m["type"] = "text"
			m["text"] = map[string]string{"body": "Gracias 🙌"}
			break
		}
		m["reaction"] = map[string]string{"message_id": target, "emoji": st.text}
	case "button_reply", "list_reply":
		m["type"] = "interactive"
		reply := map[string]string{"id": st.id, "title": text}
		if st.file != "" {
			reply["description"] = st.file
		}
		m["interactive"] = map[string]any{"type": st.kind, st.kind: reply}
		s.replyContext(c, m)
	case "button":
		m["button"] = map[string]string{"payload": st.id, "text": text}
		s.replyContext(c, m)
	}
	c.lastIn = id
	return m
}

// replyContext points a button press at the business message it answers, when known.
func (s *simulation) replyContext(c *simContact, m map[string]any) {
	if c.lastOut != "" {
		m["context"] = map[string]string{"from": s.channels[c.channel].display, "id": c.lastOut}
	}
}

func (s *simulation) fill(c *simContact, text, ar string) string {
	if c.country.voseo && ar != "" {
		text = ar
	}
	if text == "" {
		return ""
	}
	return strings.NewReplacer(
		"{empresa}", c.company, "{ciudad}", c.city.name, "{impuesto}", c.country.tax, "{email}", c.email,
		"{producto}", simProducts[s.r.IntN(len(simProducts))], "{cantidad}", strconv.Itoa(simQuantities[s.r.IntN(len(simQuantities))]),
		"{factura}", c.country.invoice(s.r), "{monto}", c.country.amount(s.r), "{pedido}", strconv.Itoa(20000+s.r.IntN(80000)),
		"{n}", strconv.Itoa(1000+s.r.IntN(9000)),
	).Replace(text)
}

// refreshOutbound learns the latest message agents sent each simulated customer, so
// that reactions and button replies point at real business messages.
func (s *simulation) refreshOutbound(ctx context.Context, db *gorm.DB, wsID int64) {
	ids := make([]string, len(s.contacts))
	for i, c := range s.contacts {
		ids[i] = c.waID
	}
	var rows []struct{ WaID, Wamid string }
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT ON (c.wa_id) c.wa_id, m.wamid FROM messages m
		JOIN conversations cv ON cv.id = m.conversation_id JOIN contacts c ON c.id = cv.contact_id
		WHERE m.workspace_id = ? AND m.direction = 'out' AND m.wamid IS NOT NULL AND c.wa_id IN ?
		ORDER BY c.wa_id, m.id DESC`, wsID, ids).Scan(&rows).Error
	if err != nil {
		return // reactions then point at the customer's own messages; nothing breaks
	}
	last := map[string]string{}
	for _, r := range rows {
		last[r.WaID] = r.Wamid
	}
	for _, c := range s.contacts {
		if w, ok := last[c.waID]; ok {
			c.lastOut = w
		}
	}
}

// simStep is one customer message of a script. text may use {placeholders}; ar is the
// Argentine (voseo) wording when it differs. For media, file is the document name; for
// list replies, the row description.
type simStep struct {
	kind, text, ar, id, file string
}

var simScripts = [][]simStep{
	{ // a quote
		{kind: "text", text: "Buenas tardes, les escribo de {empresa}. ¿Me pueden cotizar {cantidad} {producto}?",
			ar: "Buenas tardes, les escribo de {empresa}. ¿Me pasan cotización de {cantidad} {producto}?"},
		{kind: "text", text: "Es para nuestra sede de {ciudad}. ¿El precio incluye {impuesto} y el envío?"},
		{kind: "document", text: "Les adjunto la orden de compra firmada", file: "OC-{n}.pdf"},
		{kind: "text", text: "¿Qué plazo de entrega manejan? Lo necesitamos antes de fin de mes 🙏",
			ar: "¿Qué plazo de entrega manejan? Lo necesitamos antes de fin de mes, ¿se puede? 🙏"},
		{kind: "button_reply", text: "Aceptar cotización", id: "aceptar_cotizacion"},
	},
	{ // an invoice
		{kind: "text", text: "Hola, buen día. No nos llegó la factura {factura} del mes pasado"},
		{kind: "text", text: "¿Me la pueden reenviar a {email}? Contabilidad la está pidiendo 😅",
			ar: "¿Me la podés reenviar a {email}? Contaduría la está pidiendo 😅"},
		{kind: "image", text: "Comprobante de la transferencia"},
		{kind: "text", text: "Ya hicimos el pago de {monto}, ¿me confirman cuando lo vean reflejado?"},
		{kind: "reaction", text: "👍"},
	},
	{ // support
		{kind: "text", text: "Buen día, desde ayer no podemos ingresar al portal de clientes, nos sale error 500",
			ar: "Buen día, desde ayer no podemos entrar al portal de clientes, nos tira error 500"},
		{kind: "audio"},
		{kind: "image", text: "Así nos aparece la pantalla"},
		{kind: "text", text: "¿Pueden mandar a un técnico? Tenemos el almacén parado",
			ar: "¿Pueden mandar un técnico? Tenemos el depósito parado"},
		{kind: "location"},
	},
	{ // an order
		{kind: "text", text: "Hola! ¿En qué estado está el pedido #{pedido}?"},
		{kind: "list_reply", text: "Seguimiento de pedido", id: "seguimiento", file: "Consulta dónde está tu pedido"},
		{kind: "text", text: "Ok, ¿me pueden pasar el número de guía del courier?",
			ar: "Dale, ¿me pasás el número de seguimiento del correo?"},
		{kind: "text", text: "Perfecto, muchas gracias!!", ar: "Genial, mil gracias!!"},
		{kind: "reaction", text: "🙏"},
	},
	{ // prices for resellers
		{kind: "text", text: "Buenas, ¿tienen lista de precios para distribuidores?"},
		{kind: "text", text: "Somos {empresa} en {ciudad}, compramos unas {cantidad} unidades al mes"},
		{kind: "button_reply", text: "Ventas", id: "menu_ventas"},
		{kind: "text", text: "¿Trabajan con crédito a 30 días o solo al contado?"},
	},
	{ // a complaint
		{kind: "text", text: "Buenas tardes, el pedido #{pedido} llegó incompleto: faltan 3 cajas"},
		{kind: "image", text: "Foto de lo que llegó"},
		{kind: "text", text: "Necesitamos una solución hoy por favor, mañana tenemos que despachar",
			ar: "Necesitamos una solución hoy por favor, mañana tenemos que despachar sí o sí"},
		{kind: "audio"},
	},
	{ // collections
		{kind: "text", text: "Hola, quería consultar el saldo pendiente de nuestra cuenta"},
		{kind: "text", text: "¿Podemos pagar la factura {factura} en dos cuotas?"},
		{kind: "document", file: "Constancia de pago {n}.pdf"},
		{kind: "button", text: "Sí, ya pagué", id: "CONFIRMAR_PAGO"},
	},
	{ // a demo request
		{kind: "text", text: "Hola, vi su anuncio en LinkedIn. Me interesa una demo para mi equipo de {cantidad} personas"},
		{kind: "list_reply", text: "Martes 10:00", id: "slot_martes_10", file: "Demo por videollamada (45 min)"},
		{kind: "text", text: "Listo, ¿me envían el enlace de la reunión a {email}?", ar: "Listo, ¿me mandan el link de la reunión a {email}?"},
		{kind: "location"},
	},
}

// escapeNonASCII writes non-ASCII characters as \u escapes, as Meta does: the app must
// verify the signature over these bytes, not over a re-encoding.
func escapeNonASCII(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.Bytes()
}

func asciiFold(s string) string {
	return strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "Á", "A", "É", "E", "Í", "I",
		"Ó", "O", "Ú", "U", "Ñ", "N", "'", "").Replace(s)
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func thousands(n int, sep string) string {
	s := strconv.Itoa(n)
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, parts...), sep)
}
