// Package fakemeta is a local fake of the Graph API endpoints Atiende uses: sending
// messages (text, template, mark as read), media lookup and download. It answers as
// Meta does, records every request, injects errors and delays on demand, and posts
// signed status webhooks (sent, delivered, read) back to the app after each send.
// Tests mount it on httptest.NewServer; `atiende fake-meta` serves it for development.
package fakemeta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/atiende/atiende/app/whatsapp"
)

// ResetConnection, given as an error code, makes the fake accept the message and then
// drop the connection without answering: the ambiguous case.
const ResetConnection = -1

// DefaultStatusDelay is the pause before each status webhook.
const DefaultStatusDelay = 200 * time.Millisecond

// DefaultWabaID is the WhatsApp Business Account id webhooks carry when Config.Numbers
// does not say.
const DefaultWabaID = "102290129340398"

// Config sets up a Fake. Every field is optional.
type Config struct {
	// Token is the access token every request must carry ("" accepts any non-empty one).
	Token string
	// TokenFor, when set, gives the token expected for a phone number id's sends.
	TokenFor func(phoneNumberID string) (token string, ok bool)
	// Targets says where to post a number's status webhooks and with which app secret
	// to sign them; without it (or when it says !ok) no webhooks are posted.
	Targets func(phoneNumberID string) (webhookURL, appSecret string, ok bool)
	// Numbers gives the WABA id and display number webhooks carry for a number.
	Numbers func(phoneNumberID string) (wabaID, displayPhone string)
	// StatusDelay is the pause before each status webhook (default DefaultStatusDelay).
	StatusDelay time.Duration
	// NoStatusWebhooks turns status webhooks off.
	NoStatusWebhooks bool
	// Client posts the webhooks (default: 10 s timeout).
	Client *http.Client
	// Logger reports webhook failures (default: discard).
	Logger *slog.Logger
}

// SentMessage is one message the fake accepted.
type SentMessage struct {
	Wamid         string
	PhoneNumberID string
	To            string // the recipient's wa_id
	Type          string // text, template, image…
	Text          string
	Template      string
	Params        []string
	ContextID     string
	MediaID       string // image, audio, video, document: the uploaded media id
	Caption       string
	Filename      string
	Body          json.RawMessage
	At            time.Time
}

// Request is one call to the Graph endpoints, accepted or not.
type Request struct {
	Method        string
	Path          string
	PhoneNumberID string
	To            string
	HTTPStatus    int
	Code          int // Meta's error code, 0 on success
	At            time.Time
}

// WebhookDelivery is one status webhook the fake posted.
type WebhookDelivery struct {
	PhoneNumberID string
	Wamid         string
	Status        string
	HTTPStatus    int
	Err           string
	At            time.Time
}

// Fake is the fake Graph API; it is an http.Handler.
type Fake struct {
	cfg    Config
	nonce  string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu             sync.Mutex
	seq            int
	sent           map[string][]SentMessage
	reads          []string
	requests       []Request
	webhooks       []WebhookDelivery
	failQueue      []int
	failRecipient  map[string]int
	failStatus     map[string]int
	delay          time.Duration
	delayRecipient map[string]time.Duration
	statusesOff    bool
	statusDelay    time.Duration
	inFlight       map[string]int
	peakInFlight   int
	conversations  map[string]string
	uploads        map[string]Upload
	templateSets   map[string][]Template
}

// New returns a Fake. Call Close to stop the webhooks it still has to post.
func New(cfg Config) *Fake {
	if cfg.StatusDelay <= 0 {
		cfg.StatusDelay = DefaultStatusDelay
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := make([]byte, 4)
	_, _ = rand.Read(n)
	ctx, cancel := context.WithCancel(context.Background())
	return &Fake{cfg: cfg, nonce: hex.EncodeToString(n), ctx: ctx, cancel: cancel,
		sent: map[string][]SentMessage{}, failRecipient: map[string]int{}, failStatus: map[string]int{},
		delayRecipient: map[string]time.Duration{}, inFlight: map[string]int{}, conversations: map[string]string{},
		statusesOff: cfg.NoStatusWebhooks, statusDelay: cfg.StatusDelay}
}

// Close stops posting webhooks and waits for the ones under way.
func (f *Fake) Close() {
	f.cancel()
	f.wg.Wait()
}

// Fail makes the next times sends (any recipient, mark-as-read included) fail with
// Meta's error code (500–599: a bare HTTP error without a code; ResetConnection: a
// dropped connection after accepting).
func (f *Fake) Fail(code, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range times {
		f.failQueue = append(f.failQueue, code)
	}
}

// FailRecipient makes every send to waID fail with code until Reset.
func (f *Fake) FailRecipient(waID string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRecipient[whatsapp.NormalizeWaID(waID)] = code
}

// FailStatus makes sends to waID succeed (200 and a wamid) and then fail in a `failed`
// status webhook with code, as Meta does with 131047 and 131026.
func (f *Fake) FailStatus(waID string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failStatus[whatsapp.NormalizeWaID(waID)] = code
}

// Delay holds every send's answer for d (0 turns it off); the message is accepted first,
// so a client that gives up meanwhile leaves Meta with a message it never heard about.
func (f *Fake) Delay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// DelayRecipient holds the answers of sends to waID for d (0 turns it off).
func (f *Fake) DelayRecipient(waID string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.delayRecipient, whatsapp.NormalizeWaID(waID))
		return
	}
	f.delayRecipient[whatsapp.NormalizeWaID(waID)] = d
}

// SetStatusWebhooks turns status webhooks on or off and sets their pacing (0 keeps it).
func (f *Fake) SetStatusWebhooks(on bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusesOff = !on
	if delay > 0 {
		f.statusDelay = delay
	}
}

// Reset removes every injected failure and delay; what was recorded stays.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failQueue = nil
	f.failRecipient = map[string]int{}
	f.failStatus = map[string]int{}
	f.delay = 0
	f.delayRecipient = map[string]time.Duration{}
}

// Sent returns the messages accepted for waID, in the order they arrived.
func (f *Fake) Sent(waID string) []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentMessage(nil), f.sent[whatsapp.NormalizeWaID(waID)]...)
}

// AllSent returns the accepted messages per recipient wa_id.
func (f *Fake) AllSent() map[string][]SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]SentMessage, len(f.sent))
	for k, v := range f.sent {
		out[k] = append([]SentMessage(nil), v...)
	}
	return out
}

// Reads returns the wamids marked as read, in order.
func (f *Fake) Reads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reads...)
}

// Requests returns every Graph request received, failed ones included.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Webhooks returns the status webhooks posted so far.
func (f *Fake) Webhooks() []WebhookDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WebhookDelivery(nil), f.webhooks...)
}

// PeakInFlight is the most sends to one recipient the fake ever had open at once.
func (f *Fake) PeakInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peakInFlight
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// ServeHTTP routes Graph calls and the /_fake/ control endpoints.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/_fake/") || p == "/_fake" {
		f.control(w, r)
		return
	}
	// WHATSAPP_GRAPH_URL may or may not carry the API version.
	if loc := versionPrefix.FindStringIndex(p); loc != nil {
		p = p[loc[1]-1:]
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 2 && parts[1] == "messages" && r.Method == http.MethodPost:
		f.messages(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "media" && r.Method == http.MethodPost:
		f.upload(w, r, parts[0]) // uploads.go
	case len(parts) == 2 && parts[1] == "message_templates" && r.Method == http.MethodGet:
		f.templates(w, r, parts[0]) // templates.go
	case len(parts) == 1 && parts[0] != "" && r.Method == http.MethodGet:
		f.mediaInfo(w, r, parts[0])
	default:
		writeError(w, http.StatusBadRequest, 100, "Unsupported "+strings.ToLower(r.Method)+" request.", "Unknown path components: "+p)
	}
}

type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	To               string `json:"to"`
	Recipient        string `json:"recipient"` // a business-scoped user id, when "to" is absent
	Type             string `json:"type"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
	Text             *struct {
		Body string `json:"body"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Context *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Image    *sendMedia `json:"image"`
	Audio    *sendMedia `json:"audio"`
	Video    *sendMedia `json:"video"`
	Document *sendMedia `json:"document"`
}

type sendMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

var sendTypes = map[string]bool{"text": true, "template": true, "image": true, "audio": true, "video": true,
	"document": true, "sticker": true, "location": true, "contacts": true, "interactive": true, "reaction": true}

func (f *Fake) messages(w http.ResponseWriter, r *http.Request, phoneNumberID string) {
	rec := Request{Method: r.Method, Path: r.URL.Path, PhoneNumberID: phoneNumberID, At: time.Now()}
	fail := func(status, code int, msg, details string) {
		rec.HTTPStatus, rec.Code = status, code
		f.record(rec)
		writeError(w, status, code, msg, details)
	}
	if !f.tokenOK(phoneNumberID, bearer(r)) {
		fail(http.StatusUnauthorized, 190, "Error validating access token: Session has expired.", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		fail(http.StatusBadRequest, 100, "(#100) Invalid parameter", "The request body is not valid JSON.")
		return
	}
	if req.MessagingProduct != "whatsapp" {
		fail(http.StatusBadRequest, 100, "(#100) The parameter messaging_product is required.", "")
		return
	}
	read := req.Status == "read"
	if read && req.MessageID == "" {
		fail(http.StatusBadRequest, 100, "(#100) The parameter message_id is required.", "")
		return
	}
	var msg SentMessage
	if !read {
		if msg, err = parseSend(req); err != nil {
			fail(http.StatusBadRequest, 100, "(#100) Invalid parameter", err.Error())
			return
		}
		if msg.MediaID != "" && !f.knownMedia(msg.MediaID) {
			fail(http.StatusBadRequest, 131053, "(#131053) Media upload error", "Unknown media id "+msg.MediaID+": upload the file first.")
			return
		}
		msg.PhoneNumberID, msg.Body = phoneNumberID, json.RawMessage(body)
		rec.To = msg.To
	}

	f.enter(rec.To)
	defer f.leave(rec.To)
	code, delay, statusCode := f.injection(rec.To, read)
	if code == 0 || code == ResetConnection {
		if read {
			f.mu.Lock()
			f.reads = append(f.reads, req.MessageID)
			f.mu.Unlock()
		} else {
			msg.Wamid, msg.At = f.accept(msg)
			f.postStatuses(msg, statusCode)
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		case <-f.ctx.Done():
		}
	}
	switch {
	case code == ResetConnection:
		rec.HTTPStatus = 0
		f.record(rec)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // drops the connection under HTTP/2 too
	case code >= 500 && code <= 599:
		rec.HTTPStatus = code
		f.record(rec)
		http.Error(w, http.StatusText(code), code)
	case code != 0:
		t := titles[code]
		if t == "" {
			t = "Error"
		}
		fail(httpStatusFor(code), code, fmt.Sprintf("(#%d) %s", code, t), t+" (injected by fake-meta)")
	case read:
		rec.HTTPStatus = http.StatusOK
		f.record(rec)
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	default:
		rec.HTTPStatus = http.StatusOK
		f.record(rec)
		m := map[string]string{"id": msg.Wamid}
		if msg.Type == "template" {
			m["message_status"] = "accepted"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"messaging_product": "whatsapp",
			"contacts":          []map[string]string{sendContact(req, msg)},
			"messages":          []map[string]string{m},
		})
	}
}

// sendContact is the answer's contacts entry: wa_id for a phone send, user_id for a
// send to a business-scoped user id.
func sendContact(req sendRequest, msg SentMessage) map[string]string {
	if req.To == "" && req.Recipient != "" {
		return map[string]string{"input": req.Recipient, "user_id": msg.To}
	}
	return map[string]string{"input": req.To, "wa_id": msg.To}
}

// parseSend validates a send request as Meta would and extracts what tests look at.
func parseSend(req sendRequest) (SentMessage, error) {
	to := waIDFor(req.To)
	if req.To == "" && whatsapp.IsUserID(req.Recipient) {
		to = strings.TrimSpace(req.Recipient) // "to" wins when both are set, as at Meta
	} else if to == "" || strings.Trim(to, "0123456789") != "" {
		return SentMessage{}, fmt.Errorf("the parameter to must be a phone number, got %q", req.To)
	}
	if req.Type == "" {
		req.Type = "text"
	}
	if !sendTypes[req.Type] {
		return SentMessage{}, fmt.Errorf("unknown message type %q", req.Type)
	}
	m := SentMessage{To: to, Type: req.Type}
	if req.Context != nil {
		m.ContextID = req.Context.MessageID
	}
	switch req.Type {
	case "text":
		if req.Text == nil || strings.TrimSpace(req.Text.Body) == "" {
			return m, fmt.Errorf("the parameter text.body is required")
		}
		if utf8.RuneCountInString(req.Text.Body) > whatsapp.MaxTextLen {
			return m, fmt.Errorf("text.body is longer than %d characters", whatsapp.MaxTextLen)
		}
		m.Text = req.Text.Body
	case "template":
		if req.Template == nil || req.Template.Name == "" || req.Template.Language.Code == "" {
			return m, fmt.Errorf("the parameters template.name and template.language.code are required")
		}
		m.Template = req.Template.Name
		for _, c := range req.Template.Components {
			for _, p := range c.Parameters {
				m.Params = append(m.Params, p.Text)
			}
		}
	case "image", "audio", "video", "document":
		md := map[string]*sendMedia{"image": req.Image, "audio": req.Audio, "video": req.Video, "document": req.Document}[req.Type]
		if md == nil || (md.ID == "" && md.Link == "") {
			return m, fmt.Errorf("the parameter %s.id or %s.link is required", req.Type, req.Type)
		}
		m.MediaID, m.Caption, m.Filename = md.ID, md.Caption, md.Filename
	}
	return m, nil
}

// waIDFor maps an input number to the wa_id WhatsApp answers with: Mexican and
// Argentine mobiles gain the "1" and "9" their WhatsApp ids carry.
func waIDFor(input string) string {
	n := whatsapp.NormalizeWaID(input)
	switch {
	case strings.HasPrefix(n, "52") && len(n) == 12:
		return "521" + n[2:]
	case strings.HasPrefix(n, "54") && len(n) == 12:
		return "549" + n[2:]
	}
	return n
}

func (f *Fake) tokenOK(phoneNumberID, token string) bool {
	if token == "" {
		return false
	}
	if f.cfg.TokenFor != nil && phoneNumberID != "" {
		want, ok := f.cfg.TokenFor(phoneNumberID)
		return ok && want == token
	}
	return f.cfg.Token == "" || f.cfg.Token == token
}

func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// injection consumes the failure that applies to this send, if any.
func (f *Fake) injection(to string, read bool) (code int, delay time.Duration, statusCode int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delay = f.delay
	if d, ok := f.delayRecipient[to]; ok && to != "" {
		delay = d
	}
	if c, ok := f.failRecipient[to]; ok && to != "" {
		return c, delay, 0
	}
	if len(f.failQueue) > 0 {
		code, f.failQueue = f.failQueue[0], f.failQueue[1:]
		return code, delay, 0
	}
	if !read {
		statusCode = f.failStatus[to]
	}
	return 0, delay, statusCode
}

func (f *Fake) enter(to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight[to]++
	if to != "" && f.inFlight[to] > f.peakInFlight {
		f.peakInFlight = f.inFlight[to]
	}
}

func (f *Fake) leave(to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight[to]--
}

func (f *Fake) record(r Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

// accept records msg and gives it a wamid that stays unique across restarts of the fake
// (the app keeps wamids unique per channel).
func (f *Fake) accept(msg SentMessage) (string, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	raw := fmt.Sprintf("%s\x15\x02\x00\x12\x18\x14%s%08d", msg.To, f.nonce, f.seq)
	msg.Wamid, msg.At = "wamid.HBgL"+base64.StdEncoding.EncodeToString([]byte(raw)), time.Now()
	f.sent[msg.To] = append(f.sent[msg.To], msg)
	return msg.Wamid, msg.At
}

// Meta answers most errors with 400; these are the exceptions worth imitating.
func httpStatusFor(code int) int {
	switch code {
	case 190:
		return http.StatusUnauthorized
	case 1, 2, 131000, 133004:
		return http.StatusInternalServerError
	case 131016, 131057:
		return http.StatusServiceUnavailable
	case 368, 131042, 131048:
		return http.StatusForbidden
	case 4, 80007, 130429:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// titles are Meta's English titles for the codes of the table.
var titles = map[int]string{
	130429: "Rate limit hit", 131056: "(Business Account, Consumer Account) pair rate limit hit",
	131000: "Something went wrong", 1: "API Unknown", 2: "API Service", 131016: "Service unavailable",
	133004: "Server temporarily unavailable", 131057: "Account in maintenance mode",
	4: "Application request limit reached", 80007: "Rate limit issues", 131048: "Spam rate limit hit",
	131047: "Re-engagement message", 131026: "Message undeliverable", 131049: "This message was not delivered to maintain healthy ecosystem engagement.",
	131050: "Unable to deliver the marketing message", 100: "Invalid parameter", 131051: "Unsupported message type",
	131053: "Media upload error", 132000: "Template Param Count Mismatch", 132001: "Template does not exist",
	132005: "Template Hydrated Text Too Long", 132007: "Template Format Character Policy Violated",
	132012: "Template Parameter Format Mismatch", 132015: "Template is Paused", 190: "Access token has expired",
	368: "Temporarily blocked for policies violations", 131042: "Business eligibility payment issue",
}

func writeError(w http.ResponseWriter, status, code int, msg, details string) {
	trace := make([]byte, 9)
	_, _ = rand.Read(trace)
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code,
		"fbtrace_id": "A" + base64.RawURLEncoding.EncodeToString(trace)}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// mediaInfo answers GET /{media-id} like Meta: a short-lived download URL and the facts.
func (f *Fake) mediaInfo(w http.ResponseWriter, r *http.Request, id string) {
	if !f.tokenOK("", bearer(r)) {
		writeError(w, http.StatusUnauthorized, 190, "Error validating access token: Session has expired.", "")
		return
	}
	mime, data := MediaContent(id)
	if mime == "" {
		writeError(w, http.StatusBadRequest, 100, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist.", id), "")
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := fmt.Sprintf("%s://%s/_fake/media/%s?ext=%d", scheme, r.Host, id, time.Now().Add(5*time.Minute).Unix())
	writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp", "url": u, "mime_type": mime,
		"sha256": MediaSHA256(data), "file_size": len(data), "id": id})
}

func (f *Fake) mediaDownload(w http.ResponseWriter, r *http.Request, id string) {
	if !f.tokenOK("", bearer(r)) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if exp, err := strconv.ParseInt(r.URL.Query().Get("ext"), 10, 64); err == nil && time.Now().Unix() > exp {
		http.Error(w, "URL expired", http.StatusNotFound)
		return
	}
	mime, data := MediaContent(id)
	if mime == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

type controlRequest struct {
	Code      int    `json:"code"`
	Times     int    `json:"times"`
	Recipient string `json:"recipient"`
	Ms        int    `json:"ms"`
	Enabled   *bool  `json:"enabled"`
	DelayMs   int    `json:"delay_ms"`
}

const controlHelp = `fake Graph API control endpoints (JSON bodies):
  POST /_fake/fail         {"code":131047,"times":1}  or  {"code":131026,"recipient":"51987654321"} (until reset)
                           code 500-599: bare HTTP error; code -1: accept, then drop the connection
  POST /_fake/fail-status  {"code":131047,"recipient":"51987654321"}  accepted, then a failed status webhook
  POST /_fake/delay        {"ms":40000}  or  {"ms":40000,"recipient":"51987654321"}
  POST /_fake/webhooks     {"enabled":true,"delay_ms":200}
  POST /_fake/reset        remove injected failures and delays
  GET  /_fake/sent         accepted messages per recipient
  GET  /_fake/requests     every request with its answer
  GET  /_fake/webhooks     status webhooks posted
`

func (f *Fake) control(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/_fake")
	if id, ok := strings.CutPrefix(p, "/media/"); ok && r.Method == http.MethodGet {
		f.mediaDownload(w, r, id)
		return
	}
	if r.Method == http.MethodGet {
		switch p {
		case "/sent":
			writeJSON(w, http.StatusOK, f.AllSent())
		case "/requests":
			writeJSON(w, http.StatusOK, f.Requests())
		case "/webhooks":
			writeJSON(w, http.StatusOK, f.Webhooks())
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, controlHelp)
		}
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, controlHelp, http.StatusMethodNotAllowed)
		return
	}
	var c controlRequest
	if b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16)); len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &c); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	switch p {
	case "/fail":
		if c.Recipient != "" {
			f.FailRecipient(c.Recipient, c.Code)
		} else {
			f.Fail(c.Code, max(c.Times, 1))
		}
	case "/fail-status":
		f.FailStatus(c.Recipient, c.Code)
	case "/delay":
		d := time.Duration(c.Ms) * time.Millisecond
		if c.Recipient != "" {
			f.DelayRecipient(c.Recipient, d)
		} else {
			f.Delay(d)
		}
	case "/webhooks":
		f.SetStatusWebhooks(c.Enabled == nil || *c.Enabled, time.Duration(c.DelayMs)*time.Millisecond)
	case "/reset":
		f.Reset()
	default:
		http.Error(w, controlHelp, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
