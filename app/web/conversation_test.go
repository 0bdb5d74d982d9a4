package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// convWorld is a workspace with a WhatsApp number, two teams and people in every role.
type convWorld struct {
	app             *testutil.App
	ws              models.Workspace
	ch              models.Channel
	ventas, soporte models.Team
	admin, sup      models.User
	ana, luis, rosa models.User
}

func newConvWorld(t *testing.T) *convWorld {
	t.Helper()
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	return &convWorld{
		app: app, ws: ws, ch: app.Channel(ws, "Principal"), ventas: ventas, soporte: soporte,
		admin: app.User(ws, "admin@acme.pe", models.RoleAdmin),
		sup:   app.User(ws, "sofia@acme.pe", models.RoleSupervisor, ventas, soporte),
		ana:   app.User(ws, "ana@acme.pe", models.RoleAgent, ventas),
		rosa:  app.User(ws, "rosa@acme.pe", models.RoleAgent, ventas),
		luis:  app.User(ws, "luis@acme.pe", models.RoleAgent, soporte),
	}
}

// inTeam makes a customer write and puts the conversation in team (as routing would).
func (w *convWorld) inTeam(t *testing.T, waID, name, text string, team models.Team) models.Conversation {
	t.Helper()
	c := w.app.Inbound(w.ch, waID, name, text)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE conversations SET team_id = ? WHERE id = ?`, team.ID, c.ID).Error)
	return w.app.Conversation(c.ID)
}

// inboundAt makes a customer write text at a given time (wamid is the message id).
func (w *convWorld) inboundAt(t *testing.T, waID, name, wamid, text string, at time.Time) models.Conversation {
	t.Helper()
	if code := w.app.Webhook(w.ch, testutil.InboundText(w.ch, waID, name, wamid, text, at)); code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	var c models.Conversation
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND k.wa_id = ?`, w.ch.ID, waID).Scan(&c).Error)
	if c.ID == 0 {
		t.Fatalf("no conversation for %s", waID)
	}
	return c
}

func convURL(id int64, suffix string) string {
	return "/conversations/" + strconv.FormatInt(id, 10) + suffix
}

// convPost posts an action as htmx does (the answer is the panel, or the error text).
func convPost(c *testutil.Client, id int64, action string, form url.Values) testutil.Response {
	c.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	return c.HTMX(http.MethodPost, convURL(id, "/"+action), form)
}

func convStatus(t *testing.T, res testutil.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %.600s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.Body)
	}
}

func convFind(t *testing.T, res testutil.Response, css string) *goquery.Selection {
	t.Helper()
	s := res.Doc(t).Find(css)
	if s.Length() == 0 {
		t.Fatalf("nothing matches %s in the page:\n%.3000s", css, res.Body)
	}
	return s
}

func convText(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

func convCount(t *testing.T, w *convWorld, query string, args ...any) int64 {
	t.Helper()
	var n int64
	testutil.Must(t, w.app.DB.Gorm.Raw(query, args...).Scan(&n).Error)
	return n
}

// convActivities lists the activity lines of a conversation, oldest first.
func convActivities(t *testing.T, res testutil.Response) []string {
	t.Helper()
	var out []string
	res.Doc(t).Find(`[data-testid="activity"] span`).Each(func(_ int, s *goquery.Selection) { out = append(out, convText(s)) })
	return out
}

func waMsg(waID, wamid, typ string, at time.Time, body map[string]any) map[string]any {
	m := map[string]any{"from": waID, "id": wamid, "timestamp": strconv.FormatInt(at.Unix(), 10), "type": typ}
	for k, v := range body {
		m[k] = v
	}
	return m
}

func waContacts(waID, name string) []map[string]any {
	return []map[string]any{{"profile": map[string]any{"name": name}, "wa_id": waID}}
}

func testPNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 160))
	for y := 0; y < 160; y++ {
		for x := 0; x < 240; x++ {
			img.Set(x, y, color.RGBA{R: uint8(40 + x/3), G: uint8(120 + y/2), B: 160, A: 255})
		}
	}
	var b bytes.Buffer
	testutil.Must(t, png.Encode(&b, img))
	return b.Bytes()
}

// fillMedia stores the bytes of a media id as the fetcher would.
func fillMedia(t *testing.T, w *convWorld, mediaID string, data []byte) {
	t.Helper()
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE media SET data = ?, size = ?, fetched_at = now() WHERE channel_id = ? AND media_id = ?`,
		data, len(data), w.ch.ID, mediaID).Error)
}

// setWamid plays the outbox sender: the Graph API accepted message id as wamid.
func setWamid(t *testing.T, w *convWorld, id int64, wamid string) {
	t.Helper()
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE messages SET wamid = ?, status = 'sent' WHERE id = ?`, wamid, id).Error)
}

func statusWebhook(w *convWorld, wamid, status string, at time.Time, errs ...map[string]any) []byte {
	st := map[string]any{"id": wamid, "status": status, "timestamp": strconv.FormatInt(at.Unix(), 10), "recipient_id": "51987654321"}
	if len(errs) > 0 {
		st["errors"] = errs
	}
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": w.ch.WabaID, "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": w.ch.DisplayPhone, "phone_number_id": w.ch.PhoneNumberID},
			"statuses":          []any{st},
		}}}}}})
	return b
}

func lastMessageID(t *testing.T, w *convWorld, convID int64, kind string) int64 {
	t.Helper()
	return convCount(t, w, `SELECT COALESCE(max(id), 0) FROM messages WHERE conversation_id = ? AND kind = ?`, convID, kind)
}

// TestConversationShowsEveryMessageType: every kind of WhatsApp message a customer can
// send is shown as what it is, with media served from /media/:id, reactions on the
// message they react to and replies quoting the message they answer.
func TestConversationShowsEveryMessageType(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	const wa = "51987654321"
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	conv := w.inboundAt(t, wa, "María José Quispe", "wamid.FIRST", "Hola, necesito una cotización para 20 licencias 🙏", base)

	// Our reply, accepted by WhatsApp.
	admin := w.app.LoginAs(w.admin)
	convStatus(t, convPost(admin, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"¡Hola María José! Te la envío hoy."}}), 200)
	reply := lastMessageID(t, w, conv.ID, models.KindText)
	setWamid(t, w, reply, "wamid.OUT0001")
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE messages SET created_at = ? WHERE id = ?`, base.Add(30*time.Second), reply).Error)

	msgs := []map[string]any{
		waMsg(wa, "wamid.IMG", "image", at(1), map[string]any{"image": map[string]any{"id": "media-img", "mime_type": "image/png", "sha256": "x", "caption": "comprobante de pago"}}),
		waMsg(wa, "wamid.VID", "video", at(2), map[string]any{"video": map[string]any{"id": "media-vid", "mime_type": "video/mp4", "sha256": "x"}}),
		waMsg(wa, "wamid.AUD", "audio", at(3), map[string]any{"audio": map[string]any{"id": "media-aud", "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": true}}),
		waMsg(wa, "wamid.DOC", "document", at(4), map[string]any{"document": map[string]any{"id": "media-doc", "mime_type": "application/pdf", "sha256": "x", "filename": "Cotización 2026.pdf"}}),
		waMsg(wa, "wamid.STK", "sticker", at(5), map[string]any{"sticker": map[string]any{"id": "media-stk", "mime_type": "image/webp", "sha256": "x", "animated": false}}),
		waMsg(wa, "wamid.LOC", "location", at(6), map[string]any{"location": map[string]any{"latitude": 19.4326, "longitude": -99.1332, "name": "Oficina CDMX", "address": "Av. Reforma 222"}}),
		waMsg(wa, "wamid.INT", "interactive", at(7), map[string]any{"interactive": map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": "menu_ventas", "title": "Ventas"}},
			"context": map[string]any{"from": "5115550100", "id": "wamid.MENU0001"}}),
		waMsg(wa, "wamid.LST", "interactive", at(8), map[string]any{"interactive": map[string]any{"type": "list_reply", "list_reply": map[string]any{"id": "plan_pro", "title": "Plan Pro", "description": "20 usuarios"}}}),
		waMsg(wa, "wamid.BTN", "button", at(9), map[string]any{"button": map[string]any{"payload": "CONFIRMAR", "text": "Sí, confirmo"}}),
		waMsg(wa, "wamid.RCT", "reaction", at(10), map[string]any{"reaction": map[string]any{"message_id": "wamid.OUT0001", "emoji": "👍"}}),
		waMsg(wa, "wamid.CON", "contacts", at(11), map[string]any{"contacts": []any{map[string]any{
			"name": map[string]any{"formatted_name": "Carlos Díaz", "first_name": "Carlos"}, "org": map[string]any{"company": "Díaz SAC"},
			"phones": []any{map[string]any{"phone": "+52 55 1234 5678", "wa_id": "5215512345678", "type": "CELL"}}}}}),
		waMsg(wa, "wamid.UNS", "unsupported", at(12), map[string]any{"unsupported": map[string]any{"type": "edit"},
			"errors": []any{map[string]any{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": map[string]any{"details": "Message type is currently not supported."}}}}),
		waMsg(wa, "wamid.QUO", "text", at(13), map[string]any{"text": map[string]any{"body": "¿Incluye soporte?"}, "context": map[string]any{"from": "5115550100", "id": "wamid.OUT0001"}}),
		waMsg(wa, "wamid.FWD", "text", at(14), map[string]any{"text": map[string]any{"body": "Mira esta oferta"}, "context": map[string]any{"forwarded": true}}),
	}
	if code := w.app.Webhook(w.ch, testutil.InboundMessages(w.ch, waContacts(wa, "María José Quispe"), msgs...)); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	img := testPNG(t)
	fillMedia(t, w, "media-img", img)
	fillMedia(t, w, "media-aud", []byte("OggS-voice"))
	fillMedia(t, w, "media-doc", []byte("%PDF-1.4 cotización"))
	// The video and the sticker are still being fetched.

	res := admin.Get(convURL(conv.ID, ""))
	convStatus(t, res, 200)
	doc := res.Doc(t)
	kind := func(k string) *goquery.Selection {
		t.Helper()
		s := doc.Find(`[data-testid="msg"][data-kind="` + k + `"]`)
		if s.Length() == 0 {
			t.Fatalf("no %s message in the history", k)
		}
		return s
	}

	if got := convText(kind("text").First().Find(`[data-testid="msg-body"]`)); got != "Hola, necesito una cotización para 20 licencias 🙏" {
		t.Errorf("first text = %q", got)
	}
	src, _ := kind("image").Find(`img[data-testid="media-image"]`).Attr("src")
	if !strings.HasPrefix(src, "/media/") {
		t.Fatalf("image not served from /media/: %q", src)
	}
	if got := convText(kind("image").Find(`[data-testid="msg-body"]`)); got != "comprobante de pago" {
		t.Errorf("image caption = %q", got)
	}
	media := admin.Get(src)
	convStatus(t, media, 200)
	if media.Header.Get("Content-Type") != "image/png" || media.Body != string(img) {
		t.Errorf("image served as %q (%d bytes)", media.Header.Get("Content-Type"), len(media.Body))
	}
	if v := kind("video").Find(`[data-testid="media-video"]`); v.AttrOr("data-ready", "") != "false" || !strings.Contains(convText(v), "Descargando") {
		t.Errorf("a video not fetched yet should show a placeholder, got %q", convText(v))
	}
	audio := kind("audio")
	if audio.Find(`audio[data-testid="media-audio"]`).Length() != 1 || !strings.Contains(convText(audio), "Nota de voz") {
		t.Errorf("voice note not shown as one: %q", convText(audio))
	}
	docLink := kind("document").Find(`a[data-testid="media-document"]`)
	if !strings.Contains(convText(docLink), "Cotización 2026.pdf") || !strings.HasPrefix(docLink.AttrOr("href", ""), "/media/") {
		t.Errorf("document card = %q href %q", convText(docLink), docLink.AttrOr("href", ""))
	}
	if kind("sticker").Find(`[data-testid="media-sticker"]`).Length() != 1 {
		t.Errorf("sticker not shown")
	}
	loc := kind("location")
	if !strings.Contains(convText(loc), "Oficina CDMX") || !strings.Contains(convText(loc), "Av. Reforma 222") {
		t.Errorf("location = %q", convText(loc))
	}
	if href := loc.Find(`[data-testid="map-link"]`).AttrOr("href", ""); !strings.Contains(href, "19.4326") || !strings.Contains(href, "-99.1332") {
		t.Errorf("map link = %q", href)
	}
	inter := kind("interactive")
	if inter.Length() != 2 || convText(inter.Eq(0).Find(`[data-testid="msg-body"]`)) != "Ventas" || convText(inter.Eq(1).Find(`[data-testid="msg-body"]`)) != "Plan Pro" {
		t.Errorf("interactive replies = %q", convText(inter))
	}
	if !strings.Contains(convText(inter.Eq(1)), "20 usuarios") {
		t.Errorf("list reply description missing: %q", convText(inter.Eq(1)))
	}
	if got := convText(kind("button").Find(`[data-testid="msg-body"]`)); got != "Sí, confirmo" {
		t.Errorf("template button reply = %q", got)
	}
	// The reaction is not a message of its own: it sits on our reply.
	if doc.Find(`[data-testid="msg"][data-kind="reaction"]`).Length() != 0 {
		t.Errorf("a reaction is drawn as a message")
	}
	ours := doc.Find(`#msg-` + strconv.FormatInt(reply, 10))
	if got := convText(ours.Find(`[data-testid="reaction"]`)); got != "👍" {
		t.Errorf("reaction on our reply = %q", got)
	}
	if got := convText(kind("contacts").Find(`[data-testid="shared-contact"]`)); !strings.Contains(got, "Carlos Díaz") || !strings.Contains(got, "+52 55 1234 5678") || !strings.Contains(got, "Díaz SAC") {
		t.Errorf("shared contact = %q", got)
	}
	if got := convText(kind("unsupported")); !strings.Contains(got, "WhatsApp no admite este tipo de mensaje") {
		t.Errorf("unsupported message should explain in Spanish, got %q", got)
	}
	quoted := doc.Find(`[data-testid="msg"][data-kind="text"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "¿Incluye soporte?")
	})
	if q := quoted.Find(`[data-testid="quote"]`); !strings.Contains(convText(q), "Te la envío hoy") {
		t.Errorf("reply context should quote our message, got %q", convText(q))
	}
	if q := inter.Eq(0).Find(`[data-testid="quote"]`); !strings.Contains(convText(q), "no está en este historial") {
		t.Errorf("a reply to a message we do not have should say so, got %q", convText(q))
	}
	if doc.Find(`[data-testid="forwarded"]`).Length() != 1 {
		t.Errorf("forwarded message not marked")
	}
	// Our reply shows its ticks.
	if st := ours.Find(`[data-testid="tick"]`).AttrOr("data-status", ""); st != "sent" {
		t.Errorf("our reply's tick = %q, want sent", st)
	}
	// Chronological order: the first message first, the forwarded one last.
	var order []string
	doc.Find(`[data-testid="msg"]`).Each(func(_ int, s *goquery.Selection) { order = append(order, s.AttrOr("data-kind", "")) })
	want := []string{"text", "text", "image", "video", "audio", "document", "sticker", "location", "interactive", "interactive", "button", "contacts", "unsupported", "text", "text"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("history order\n got %v\nwant %v", order, want)
	}
}

// TestConversationActionsLeaveActivityLines: Tomar, asignar, transferir (with the note
// the receiver sees first), cerrar with a reason and reabrir, through the handlers,
// each visible in the header and as a line in the history.
func TestConversationActionsLeaveActivityLines(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José Quispe", "Hola, quiero una cotización", w.ventas)
	ana, sup, luis := w.app.LoginAs(w.ana), w.app.LoginAs(w.sup), w.app.LoginAs(w.luis)
	status := func(res testutil.Response) string {
		t.Helper()
		return convFind(t, res, `[data-testid="conv-status"]`).AttrOr("data-status", "")
	}

	// Ana opens it: Tomar is offered; taking moves it to En atención.
	page := ana.Get(convURL(conv.ID, ""))
	convStatus(t, page, 200)
	if status(page) != models.StatusNew || convFind(t, page, `[data-testid="conv-assignee"]`).Text() != "Sin asignar" {
		t.Fatalf("new conversation header: %s / %q", status(page), convFind(t, page, `[data-testid="conv-assignee"]`).Text())
	}
	convFind(t, page, `[data-testid="btn-take"]`)
	res := convPost(ana, conv.ID, "take", nil)
	convStatus(t, res, 200)
	if status(res) != models.StatusActive || !strings.Contains(convFind(t, res, `[data-testid="conv-assignee"]`).Text(), "Ana") {
		t.Fatalf("after Tomar: %s, assignee %q", status(res), convFind(t, res, `[data-testid="conv-assignee"]`).Text())
	}
	if res.Doc(t).Find(`[data-testid="btn-take"]`).Length() != 0 {
		t.Errorf("Tomar still offered after taking")
	}
	if got := convActivities(t, res); len(got) != 1 || got[0] != "Ana tomó la conversación" {
		t.Errorf("activity lines after Tomar = %q", got)
	}

	// Ana replies, then transfers to Soporte (Luis): the note is required.
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"Te paso con soporte"}}), 200)
	res = convPost(ana, conv.ID, "transfer", url.Values{"team_id": {itoa(w.soporte.ID)}, "agent_id": {itoa(w.luis.ID)}, "note": {"  "}})
	convStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "Escribe una nota") {
		t.Errorf("transfer without a note: %q", res.Body)
	}
	res = convPost(ana, conv.ID, "transfer", url.Values{"team_id": {itoa(w.soporte.ID)}, "agent_id": {itoa(w.luis.ID)}, "note": {"cliente pide factura"}})
	convStatus(t, res, 200)
	// Ana no longer has it: the panel says so instead of failing.
	convFind(t, res, `[data-testid="conversation-gone"]`)
	convStatus(t, ana.Get(convURL(conv.ID, "")), http.StatusNotFound)

	// Luis sees the note first, above the history.
	page = luis.Get(convURL(conv.ID, ""))
	convStatus(t, page, 200)
	banner := convFind(t, page, `[data-testid="transfer-banner"]`)
	if got := convText(banner); !strings.Contains(got, "cliente pide factura") || !strings.Contains(got, "Soporte") || !strings.Contains(got, "Ana") {
		t.Errorf("transfer banner = %q", got)
	}
	if !strings.Contains(convFind(t, page, `[data-testid="conv-assignee"]`).Text(), "Luis") || convText(convFind(t, page, `[data-testid="conv-team"]`)) != "Soporte" {
		t.Errorf("header after transfer: %q / %q", convFind(t, page, `[data-testid="conv-assignee"]`).Text(), convFind(t, page, `[data-testid="conv-team"]`).Text())
	}
	want := "Transferida a Soporte (Luis) por Ana: «cliente pide factura»"
	if got := convActivities(t, page); len(got) != 2 || got[1] != want {
		t.Errorf("activity lines = %q, want the transfer line %q", got, want)
	}

	// The supervisor assigns it back to Ana.
	sup.Get(convURL(conv.ID, ""))
	res = convPost(sup, conv.ID, "assign", url.Values{"agent_id": {itoa(w.ana.ID)}})
	convStatus(t, res, 200)
	if got := convActivities(t, res); got[len(got)-1] != "Sofia asignó la conversación a Ana" {
		t.Errorf("assign line = %q", got[len(got)-1])
	}

	// Ana closes it with a reason.
	res = convPost(ana, conv.ID, "status", url.Values{"status": {"closed"}, "reason": {"Factura enviada"}})
	convStatus(t, res, 200)
	if status(res) != models.StatusClosed {
		t.Fatalf("after Cerrar: %s", status(res))
	}
	if got := convActivities(t, res); got[len(got)-1] != "Ana cerró la conversación: «Factura enviada»" {
		t.Errorf("close line = %q", got[len(got)-1])
	}
	convFind(t, res, `[data-testid="btn-reopen"]`)
	if res.Doc(t).Find(`[data-testid="btn-close"], [data-testid="btn-take"], [data-testid="transfer-banner"]`).Length() != 0 {
		t.Errorf("a closed conversation still offers Cerrar/Tomar or shows the transfer banner")
	}
	if !strings.Contains(convFind(t, res, `[data-testid="close-reason-text"]`).Text(), "Factura enviada") {
		t.Errorf("close reason not shown in the header")
	}

	// Reabrir opens a new cycle: a second separator, two cycles in the panel.
	res = convPost(ana, conv.ID, "status", url.Values{"status": {"active"}})
	convStatus(t, res, 200)
	if status(res) != models.StatusActive {
		t.Fatalf("after Reabrir: %s", status(res))
	}
	if got := convActivities(t, res); got[len(got)-1] != "Ana reabrió la conversación" {
		t.Errorf("reopen line = %q", got[len(got)-1])
	}
	seps := res.Doc(t).Find(`[data-testid="cycle-sep"]`)
	if seps.Length() != 2 || !strings.Contains(convText(seps.Eq(1)), "Ciclo 2") {
		t.Errorf("cycle separators = %d (%q)", seps.Length(), convText(seps))
	}
	if convText(convFind(t, res, `[data-testid="cycles-count"]`)) != "2" {
		t.Errorf("contact panel cycles = %q", convText(convFind(t, res, `[data-testid="cycles-count"]`)))
	}

	// Without htmx the same actions redirect back to the page.
	plain := ana.PostForm(convURL(conv.ID, "/labels"), url.Values{})
	if plain.StatusCode != http.StatusSeeOther || plain.Header.Get("Location") != convURL(conv.ID, "") {
		t.Errorf("plain form post: %d → %q", plain.StatusCode, plain.Header.Get("Location"))
	}
}

func TestConversationLabels(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	var vip, cobranza int64
	testutil.Must(t, w.app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name, color) VALUES (?, 'VIP', '#b91c1c') RETURNING id`, w.ws.ID).Scan(&vip).Error)
	testutil.Must(t, w.app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name, color) VALUES (?, 'Cobranzas', '#1d4ed8') RETURNING id`, w.ws.ID).Scan(&cobranza).Error)
	ana := w.app.LoginAs(w.ana)
	page := ana.Get(convURL(conv.ID, ""))
	if n := page.Doc(t).Find(`[data-testid="labels-form"] input[name="label_id"]`).Length(); n != 2 {
		t.Fatalf("labels editor offers %d labels", n)
	}
	res := convPost(ana, conv.ID, "labels", url.Values{"label_id": {itoa(vip), itoa(cobranza)}})
	convStatus(t, res, 200)
	if got := strings.Join(res.Doc(t).Find(`[data-testid="label-chip"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() }), " "); got != "Cobranzas VIP" {
		t.Errorf("label chips = %q", got)
	}
	if n := res.Doc(t).Find(`[data-testid="labels-form"] input[checked]`).Length(); n != 2 {
		t.Errorf("%d labels checked in the editor", n)
	}
	res = convPost(ana, conv.ID, "labels", url.Values{"label_id": {itoa(vip)}})
	if got := convText(res.Doc(t).Find(`[data-testid="label-chip"]`)); got != "VIP" {
		t.Errorf("label chips after removing one = %q", got)
	}
	// A label of another workspace is refused.
	other := w.app.Workspace("Otra")
	var foreign int64
	testutil.Must(t, w.app.DB.Gorm.Raw(`INSERT INTO labels (workspace_id, name) VALUES (?, 'Ajena') RETURNING id`, other.ID).Scan(&foreign).Error)
	convStatus(t, convPost(ana, conv.ID, "labels", url.Values{"label_id": {itoa(foreign)}}), http.StatusUnprocessableEntity)
}

// TestConversationPermissions: a conversation an agent may not see does not exist for
// them — opening it or acting on it is 404, as for another workspace's.
func TestConversationPermissions(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	w.app.Webhook(w.ch, testutil.InboundMessages(w.ch, waContacts("51987654321", "María José"),
		waMsg("51987654321", "wamid.PIC", "image", time.Now(), map[string]any{"image": map[string]any{"id": "media-pic", "mime_type": "image/jpeg", "sha256": "x"}})))
	fillMedia(t, w, "media-pic", []byte("jpeg"))
	var mediaRow int64
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT id FROM media WHERE media_id = 'media-pic'`).Scan(&mediaRow).Error)
	ana := w.app.LoginAs(w.ana)
	convStatus(t, convPost(ana, conv.ID, "take", nil), 200)

	otherWS := w.app.Workspace("Otra")
	stranger := w.app.LoginAs(w.app.User(otherWS, "jefe@otra.pe", models.RoleAdmin))
	rosa := w.app.LoginAs(w.rosa) // Ana's teammate
	luis := w.app.LoginAs(w.luis) // another team
	for name, c := range map[string]*testutil.Client{"rosa": rosa, "luis": luis, "other workspace": stranger} {
		checks := []testutil.Response{
			c.Get(convURL(conv.ID, "")),
			c.HTMX(http.MethodGet, convURL(conv.ID, ""), nil),
			c.HTMX(http.MethodGet, convURL(conv.ID, "/messages"), nil),
			c.Get("/media/" + itoa(mediaRow)),
			convPost(c, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"hola"}}),
			convPost(c, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"hola"}}),
			convPost(c, conv.ID, "template", url.Values{"template_id": {"1"}}),
			convPost(c, conv.ID, "assign", url.Values{"agent_id": {itoa(w.rosa.ID)}}),
			convPost(c, conv.ID, "transfer", url.Values{"team_id": {itoa(w.soporte.ID)}, "note": {"x"}}),
			convPost(c, conv.ID, "status", url.Values{"status": {"closed"}}),
			convPost(c, conv.ID, "labels", nil),
			convPost(c, conv.ID, "read", nil),
		}
		for _, res := range checks {
			want := http.StatusNotFound
			// A teammate who writes is told who took the conversation meanwhile
			// (the same message the take race gives); nothing is stored either way.
			p := res.Request.URL.Path
			if name == "rosa" && res.Request.Method == http.MethodPost && (strings.HasSuffix(p, "/messages") || strings.HasSuffix(p, "/template")) {
				want = http.StatusConflict
			}
			// Agents may never assign anyone but themselves, whatever the conversation:
			// 403 before any lookup, so it tells nothing about this one.
			if name == "luis" && strings.HasSuffix(p, "/assign") {
				want = http.StatusForbidden
			}
			if res.StatusCode != want {
				t.Errorf("%s: %s %s = %d, want %d", name, res.Request.Method, res.Request.URL.Path, res.StatusCode, want)
			}
		}
	}
	if n := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ? AND kind IN ('note', 'text') AND direction = 'out'`, conv.ID); n != 0 {
		t.Errorf("%d messages were stored by people who cannot see the conversation", n)
	}
	if a := convText(convFind(t, w.app.LoginAs(w.sup).Get(convURL(conv.ID, "")), `[data-testid="conv-assignee"]`)); !strings.Contains(a, "Ana") {
		t.Errorf("nothing changed, the supervisor still sees Ana: %q", a)
	}
	// Unknown ids are 404 too, not 500.
	convStatus(t, ana.Get("/conversations/no-existe"), http.StatusNotFound)
	convStatus(t, ana.Get("/conversations/999999"), http.StatusNotFound)
	convStatus(t, ana.Get("/media/abc"), http.StatusNotFound)
}

// TestConversationTakeRace: twenty agents press Tomar at once: exactly one gets the
// conversation, every other one is told who did.
func TestConversationTakeRace(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	const n = 20
	// Twenty agents of Ventas. Creating and signing in each costs a bcrypt hash, so
	// the users share one (copied in SQL) and sign in one after another.
	first := w.app.User(w.ws, "agente00@acme.pe", models.RoleAgent, w.ventas)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE users SET name = 'Agente00' WHERE id = ?`, first.ID).Error)
	testutil.Must(t, w.app.DB.Gorm.Exec(`
		WITH u AS (
			INSERT INTO users (workspace_id, email, name, password_hash, role, active, max_concurrent)
			SELECT workspace_id, format('agente%s@acme.pe', lpad(g::text, 2, '0')), format('Agente%s', lpad(g::text, 2, '0')),
				password_hash, role, true, 10
			FROM users, generate_series(1, ?) g WHERE users.id = ?
			RETURNING id, workspace_id)
		INSERT INTO team_members (workspace_id, team_id, user_id) SELECT workspace_id, ?, id FROM u`, n-1, first.ID, w.ventas.ID).Error)
	clients := make([]*testutil.Client, n)
	names := map[string]bool{}
	for i := range n {
		c := w.app.Client()
		c.Login(fmt.Sprintf("agente%02d@acme.pe", i), testutil.Password)
		clients[i] = c
		names[fmt.Sprintf("Agente%02d", i)] = true
	}
	var wg sync.WaitGroup
	results := make([]testutil.Response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = convPost(clients[i], conv.ID, "take", nil)
		}()
	}
	close(start)
	wg.Wait()

	got := w.app.Conversation(conv.ID)
	if got.AssigneeID == nil {
		t.Fatal("nobody got the conversation")
	}
	var winner string
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT name FROM users WHERE id = ?`, *got.AssigneeID).Scan(&winner).Error)
	ok, conflicts := 0, 0
	for _, res := range results {
		switch res.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflicts++
			if res.Body != winner+" ya tomó esta conversación." {
				t.Errorf("409 says %q, want it to name %s", res.Body, winner)
			}
		default:
			t.Errorf("take answered %d: %.200s", res.StatusCode, res.Body)
		}
	}
	if ok != 1 || conflicts != n-1 {
		t.Fatalf("%d agents got it and %d were told who did; want 1 and %d", ok, conflicts, n-1)
	}
	if !names[winner] || got.Status != models.StatusActive {
		t.Errorf("winner %q, status %s", winner, got.Status)
	}
	if k := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ? AND kind = 'activity'`, conv.ID); k != 1 {
		t.Errorf("%d activity lines, want one \"tomó la conversación\"", k)
	}
}

// TestConversationReplyRace: replies sent at the same moment are all kept, in the order
// they were accepted, each with its own outbox row.
func TestConversationReplyRace(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	// Ana in two browser tabs (two sessions: a test client is not safe for
	// concurrent use), and her supervisor.
	ana, ana2, sup := w.app.LoginAs(w.ana), w.app.LoginAs(w.ana), w.app.LoginAs(w.sup)
	convStatus(t, convPost(ana, conv.ID, "take", nil), 200)

	send := func(pairs ...any) []testutil.Response {
		var wg sync.WaitGroup
		out := make([]testutil.Response, len(pairs)/2)
		start := make(chan struct{})
		for i := 0; i < len(pairs); i += 2 {
			c, body := pairs[i].(*testutil.Client), pairs[i+1].(string)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i/2] = convPost(c, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {body}})
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	// One agent twice (two tabs) and, at once, the agent and her supervisor.
	for _, res := range append(send(ana, "uno", ana2, "dos"), send(ana, "tres", sup, "cuatro")...) {
		convStatus(t, res, 200)
	}
	var rows []struct {
		ID        int64
		Body      string
		CreatedAt time.Time
		Outbox    int
	}
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT m.id, m.body, m.created_at,
			(SELECT count(*) FROM outbox o WHERE o.message_id = m.id AND o.kind = 'message') AS outbox
		FROM messages m WHERE m.conversation_id = ? AND m.kind = 'text' AND m.direction = 'out'
		ORDER BY m.created_at, m.id`, conv.ID).Scan(&rows).Error)
	if len(rows) != 4 {
		t.Fatalf("%d replies stored, want 4", len(rows))
	}
	bodies := map[string]bool{}
	for i, r := range rows {
		bodies[r.Body] = true
		if r.Outbox != 1 {
			t.Errorf("reply %q has %d outbox rows", r.Body, r.Outbox)
		}
		// History order (created_at) and acceptance order (id) agree.
		if i > 0 && r.ID < rows[i-1].ID {
			t.Errorf("reply %q is shown before %q but was stored after it", rows[i-1].Body, r.Body)
		}
	}
	for _, b := range []string{"uno", "dos", "tres", "cuatro"} {
		if !bodies[b] {
			t.Errorf("reply %q lost", b)
		}
	}
	// The page shows them in that same order.
	var shown []string
	ana.Get(convURL(conv.ID, "")).Doc(t).Find(`[data-testid="msg"][data-direction="out"] [data-testid="msg-body"]`).Each(func(_ int, s *goquery.Selection) {
		shown = append(shown, convText(s))
	})
	var stored []string
	for _, r := range rows {
		stored = append(stored, r.Body)
	}
	if strings.Join(shown, ",") != strings.Join(stored, ",") {
		t.Errorf("page order %v, stored order %v", shown, stored)
	}
}

// TestConversationReplyOutsideTheWindow: a free-form reply more than 24 h after the
// customer's last message is refused with the reason and nothing is stored; an
// approved template (with {{1}} prefilled with the first name) goes out instead.
func TestConversationReplyOutsideTheWindow(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	old := time.Now().Add(-26 * time.Hour).Truncate(time.Second)
	conv := w.inboundAt(t, "51987654321", "María José Quispe", "wamid.OLD", "Hola", old)
	testutil.Must(t, w.app.DB.Gorm.Exec(`INSERT INTO templates (workspace_id, name, language, category, body)
		VALUES (?, 'seguimiento', 'es', 'utility', ?)`, w.ws.ID, "Hola {{1}}, ¿seguimos con tu cotización de {{2}}?").Error)
	ana := w.app.LoginAs(w.ana)

	page := ana.Get(convURL(conv.ID, ""))
	convStatus(t, page, 200)
	if got := convText(convFind(t, page, `[data-testid="window-closed"]`)); !strings.Contains(got, "La ventana de 24 h está cerrada") {
		t.Errorf("closed window explanation = %q", got)
	}
	if _, disabled := convFind(t, page, `[data-testid="composer-body"]`).Attr("disabled"); !disabled {
		t.Errorf("the reply box is not disabled while the window is closed")
	}
	convFind(t, page, `[data-testid="template-button"]`)
	params := convFind(t, page, `[data-testid="template-form"] [data-testid="template-param"]`)
	if params.Length() != 2 || params.First().AttrOr("value", "") != "María" {
		t.Errorf("template params: %d, {{1}} prefilled with %q", params.Length(), params.First().AttrOr("value", ""))
	}
	if got := convText(convFind(t, page, `[data-testid="template-preview"]`)); !strings.Contains(got, "Hola María") {
		t.Errorf("template preview = %q", got)
	}

	before := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ?`, conv.ID)
	res := convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"¿Sigues interesada?"}})
	convStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "La ventana de 24 h está cerrada") || !strings.Contains(res.Body, "plantilla") {
		t.Errorf("refusal says %q", res.Body)
	}
	if after := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ?`, conv.ID); after != before {
		t.Errorf("a refused reply stored %d row(s)", after-before)
	}
	if n := convCount(t, w, `SELECT count(*) FROM outbox WHERE channel_id = ?`, w.ch.ID); n != 0 {
		t.Errorf("a refused reply queued %d send(s)", n)
	}

	// A template with a missing value is refused; filled in, it is sent.
	var tid int64
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT id FROM templates WHERE name = 'seguimiento'`).Scan(&tid).Error)
	convStatus(t, convPost(ana, conv.ID, "template", url.Values{"template_id": {itoa(tid)}, "params": {"María", ""}}), http.StatusUnprocessableEntity)
	res = convPost(ana, conv.ID, "template", url.Values{"template_id": {itoa(tid)}, "params": {"María", "20 licencias"}})
	convStatus(t, res, 200)
	tpl := convFind(t, res, `[data-testid="msg"][data-kind="template"]`)
	if got := convText(tpl.Find(`[data-testid="msg-body"]`)); got != "Hola María, ¿seguimos con tu cotización de 20 licencias?" {
		t.Errorf("template in the history = %q", got)
	}
	if tpl.Find(`[data-testid="tick"]`).AttrOr("data-status", "") != "queued" {
		t.Errorf("a queued template should show the clock tick")
	}
	var payload string
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT payload::text FROM outbox WHERE channel_id = ? AND kind = 'message'`, w.ch.ID).Scan(&payload).Error)
	if !strings.Contains(payload, `"seguimiento"`) || !strings.Contains(payload, "20 licencias") {
		t.Errorf("outbox payload = %s", payload)
	}
}

// TestConversationNotesNeverReachWhatsApp: a note is stored, shown as a note with its
// author, changes no status and queues nothing for WhatsApp.
func TestConversationNotesNeverReachWhatsApp(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	ana := w.app.LoginAs(w.ana)
	res := convPost(ana, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"Cliente VIP: ofrecer 10% de descuento"}})
	convStatus(t, res, 200)
	note := convFind(t, res, `[data-testid="note"]`)
	if got := convText(note.Find(`[data-testid="msg-body"]`)); got != "Cliente VIP: ofrecer 10% de descuento" {
		t.Errorf("note body = %q", got)
	}
	if got := convText(note); !strings.Contains(got, "Nota interna") || !strings.Contains(got, "Ana") {
		t.Errorf("note header = %q", got)
	}
	if res.Doc(t).Find(`[data-testid="msg"] [data-testid="msg-body"]:contains("descuento")`).Length() != 0 {
		t.Errorf("the note is drawn as a WhatsApp bubble")
	}
	// The composer stays on the note tab after saving a note.
	if _, ok := convFind(t, res, `[data-testid="tab-note"] input`).Attr("checked"); !ok {
		t.Errorf("composer went back to Responder after a note")
	}
	if n := convCount(t, w, `SELECT count(*) FROM outbox`); n != 0 {
		t.Errorf("a note queued %d WhatsApp send(s)", n)
	}
	if got := w.app.Conversation(conv.ID); got.Status != models.StatusNew || got.AssigneeID != nil {
		t.Errorf("a note changed the conversation: status %s assignee %v", got.Status, got.AssigneeID)
	}
	// Notes are allowed with the window closed too.
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE conversations SET last_inbound_at = now() - interval '2 days' WHERE id = ?`, conv.ID).Error)
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"Llamar mañana"}}), 200)
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"   "}}), http.StatusUnprocessableEntity)
}

// TestConversationMarkRead: opening the chat marks it read, which queues one read
// receipt for the customer's latest message, and only once.
func TestConversationMarkRead(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	w.app.Inbound(w.ch, "51987654321", "María José", "¿Hay alguien?")
	ana := w.app.LoginAs(w.ana)
	page := ana.Get(convURL(conv.ID, ""))
	if page.Doc(t).Find(`[hx-post="`+convURL(conv.ID, "/read")+`"][hx-trigger="load"]`).Length() != 1 {
		t.Fatal("the panel does not mark the chat read when it opens")
	}
	convStatus(t, convPost(ana, conv.ID, "read", nil), http.StatusNoContent)
	convStatus(t, convPost(ana, conv.ID, "read", nil), http.StatusNoContent)
	var rows []struct{ Kind, Payload string }
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT kind, payload::text AS payload FROM outbox WHERE channel_id = ?`, w.ch.ID).Scan(&rows).Error)
	if len(rows) != 1 || rows[0].Kind != "read" {
		t.Fatalf("outbox after opening twice: %+v, want one read receipt", rows)
	}
	var last string
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT wamid FROM messages WHERE conversation_id = ? AND direction = 'in' ORDER BY created_at DESC, id DESC LIMIT 1`, conv.ID).Scan(&last).Error)
	if !strings.Contains(rows[0].Payload, last) {
		t.Errorf("read receipt %s is not for the latest message %s", rows[0].Payload, last)
	}
	if got := w.app.Conversation(conv.ID); got.UnreadCount != 0 {
		t.Errorf("unread count = %d after reading", got.UnreadCount)
	}
}

// TestConversationDeliveryTicks: our messages show ✓ sent, ✓✓ delivered, blue ✓✓ read,
// and a failed send its reason in Spanish; 131047 offers the template flow.
func TestConversationDeliveryTicks(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	ana := w.app.LoginAs(w.ana)
	ids := map[string]int64{}
	for _, body := range []string{"enviado", "entregado", "leido", "fallido"} {
		convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {body}}), 200)
		id := lastMessageID(t, w, conv.ID, models.KindText)
		ids[body] = id
		setWamid(t, w, id, "wamid.OUT."+body)
	}
	now := time.Now()
	for _, st := range []struct{ wamid, status string }{
		{"wamid.OUT.entregado", "delivered"}, {"wamid.OUT.leido", "read"}, {"wamid.OUT.leido", "delivered"}, // late and out of order
	} {
		if code := w.app.Webhook(w.ch, statusWebhook(w, st.wamid, st.status, now)); code != 200 {
			t.Fatalf("status webhook answered %d", code)
		}
	}
	fail := map[string]any{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
		"error_data": map[string]any{"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}
	w.app.Webhook(w.ch, statusWebhook(w, "wamid.OUT.fallido", "failed", now, fail))

	doc := ana.Get(convURL(conv.ID, "")).Doc(t)
	for body, want := range map[string]string{"enviado": "sent", "entregado": "delivered", "leido": "read", "fallido": "failed"} {
		m := doc.Find("#msg-" + itoa(ids[body]))
		if got := m.Find(`[data-testid="tick"]`).AttrOr("data-status", ""); got != want {
			t.Errorf("%s: tick %q, want %q", body, got, want)
		}
	}
	failed := doc.Find("#msg-" + itoa(ids["fallido"]))
	if got := convText(failed.Find(`[data-testid="msg-error"]`)); !strings.Contains(got, "Pasaron más de 24 horas") {
		t.Errorf("failure reason = %q", got)
	}
	if failed.Find(`[data-testid="fail-template"]`).Length() != 1 {
		t.Errorf("a 131047 failure does not offer sending a template")
	}
	if l := doc.Find("#msg-"+itoa(ids["leido"])+` [data-testid="tick"]`).AttrOr("aria-label", ""); l != "Leído" {
		t.Errorf("read tick label = %q", l)
	}
}

// TestConversationHistoryPages: the newest page first, "Cargar más" brings the older
// ones through the messages partial, with nothing repeated or lost.
func TestConversationHistoryPages(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "mensaje 0", w.ventas)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE messages SET created_at = now() - interval '3 days' WHERE conversation_id = ?`, conv.ID).Error)
	testutil.Must(t, w.app.DB.Gorm.Exec(`INSERT INTO messages (workspace_id, conversation_id, cycle_id, channel_id, direction, kind, body, sender_type, created_at)
		SELECT ?, ?, ?, ?, 'in', 'text', 'mensaje ' || g, 'contact', now() - interval '2 days' + g * interval '1 minute'
		FROM generate_series(1, 109) g`, w.ws.ID, conv.ID, conv.CycleID, w.ch.ID).Error)
	ana := w.app.LoginAs(w.ana)
	bodies := func(doc *goquery.Document) []string {
		var out []string
		doc.Find(`[data-testid="msg"] [data-testid="msg-body"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, convText(s)) })
		return out
	}
	doc := ana.Get(convURL(conv.ID, "")).Doc(t)
	all := bodies(doc)
	next, _ := doc.Find(`[data-testid="load-more"]`).Attr("data-url")
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("Cargar más never ends")
		}
		res := ana.HTMX(http.MethodGet, next, nil)
		convStatus(t, res, 200)
		d := res.Doc(t)
		all = append(bodies(d), all...)
		next, _ = d.Find(`[data-testid="load-more"]`).Attr("data-url")
		if next == "" && d.Find(`#history-start`).Length() != 1 {
			t.Errorf("the oldest page does not say the history starts there")
		}
	}
	if len(all) != 110 {
		t.Fatalf("%d messages over all pages, want 110", len(all))
	}
	for i, b := range all {
		if b != "mensaje "+strconv.Itoa(i) {
			t.Fatalf("item %d is %q", i, b)
		}
	}
	// Without JavaScript, Cargar más is a link to the page with the older messages.
	href, _ := doc.Find(`[data-testid="load-more"]`).Attr("href")
	older := ana.Get(href)
	convStatus(t, older, 200)
	if got := bodies(older.Doc(t)); len(got) != 50 || got[49] != "mensaje 59" {
		t.Errorf("older page via the link: %d items, last %q", len(got), got[len(got)-1])
	}
	convStatus(t, ana.HTMX(http.MethodGet, convURL(conv.ID, "/messages?before=basura"), nil), 200)
}

// TestConversationMediaIsServedSafely: stored files are served to people who can see
// the conversation, with their type, inline, nosniff and a safe name; what could run
// as a page is a download; not yet fetched files get a placeholder.
func TestConversationMediaIsServedSafely(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	const wa = "51987654321"
	conv := w.inTeam(t, wa, "María José", "Hola", w.ventas)
	now := time.Now()
	w.app.Webhook(w.ch, testutil.InboundMessages(w.ch, waContacts(wa, "María José"),
		waMsg(wa, "wamid.D1", "document", now, map[string]any{"document": map[string]any{"id": "m-pdf", "mime_type": "application/pdf", "sha256": "x", "filename": "../../etc/Factura \"marzo\".pdf"}}),
		waMsg(wa, "wamid.D2", "document", now.Add(time.Second), map[string]any{"document": map[string]any{"id": "m-html", "mime_type": "text/html", "sha256": "x", "filename": "x.html"}}),
		waMsg(wa, "wamid.I1", "image", now.Add(2*time.Second), map[string]any{"image": map[string]any{"id": "m-wait", "mime_type": "image/jpeg", "sha256": "x"}}),
		waMsg(wa, "wamid.D3", "document", now.Add(3*time.Second), map[string]any{"document": map[string]any{"id": "m-wait-doc", "mime_type": "application/pdf", "sha256": "x"}}),
	))
	fillMedia(t, w, "m-pdf", []byte("%PDF-1.7"))
	fillMedia(t, w, "m-html", []byte("<script>alert(1)</script>"))
	row := func(mediaID string) string {
		var id int64
		testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT id FROM media WHERE media_id = ?`, mediaID).Scan(&id).Error)
		return "/media/" + itoa(id)
	}
	ana := w.app.LoginAs(w.ana)

	res := ana.Get(row("m-pdf"))
	convStatus(t, res, 200)
	if res.Header.Get("Content-Type") != "application/pdf" || res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Body != "%PDF-1.7" {
		t.Errorf("pdf served as %q nosniff=%q", res.Header.Get("Content-Type"), res.Header.Get("X-Content-Type-Options"))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") || strings.Contains(cd, "/") || strings.Contains(cd, "..") || !strings.Contains(cd, "Factura") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	res = ana.Get(row("m-html"))
	if res.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("an HTML file is served as %q, %q: it must be a download", res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("media CSP = %q", csp)
	}
	res = ana.Get(row("m-wait"))
	convStatus(t, res, 200)
	if res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(res.Body, "Descargando") || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("placeholder for an image not fetched yet: %q %q", res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	res = ana.Get(row("m-wait-doc"))
	convStatus(t, res, http.StatusServiceUnavailable)
	if !strings.Contains(res.Body, "todavía se está descargando") {
		t.Errorf("document not fetched yet: %.300s", res.Body)
	}
	// Another agent of another team may not fetch it, even knowing the id.
	convStatus(t, w.app.LoginAs(w.luis).Get(row("m-pdf")), http.StatusNotFound)
	_ = conv
}

// TestConversationComposerOffersCannedResponsesAndTemplates: "/" canned responses and
// templates are in the composer; the window countdown is shown while it is open.
func TestConversationComposerOffersCannedResponsesAndTemplates(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José", "Hola", w.ventas)
	testutil.Must(t, w.app.DB.Gorm.Exec(`INSERT INTO canned_responses (workspace_id, shortcut, title, body) VALUES
		(?, 'saludo', 'Saludo', '¡Hola! Gracias por escribir a Acme.'), (?, 'horario', 'Horario', 'Atendemos de 9 a 18 h.')`, w.ws.ID, w.ws.ID).Error)
	other := w.app.Workspace("Otra")
	testutil.Must(t, w.app.DB.Gorm.Exec(`INSERT INTO canned_responses (workspace_id, shortcut, body) VALUES (?, 'ajena', 'no')`, other.ID).Error)
	page := w.app.LoginAs(w.ana).Get(convURL(conv.ID, ""))
	doc := page.Doc(t)
	items := doc.Find(`[data-testid="canned-item"]`)
	if items.Length() != 2 || items.First().AttrOr("data-shortcut", "") != "horario" || items.Last().AttrOr("data-body", "") != "¡Hola! Gracias por escribir a Acme." {
		t.Errorf("canned responses: %d, %q", items.Length(), convText(items))
	}
	if got := convText(doc.Find(`[data-testid="window"]`)); !strings.HasPrefix(got, "Ventana de 24 h: quedan 23 h") {
		t.Errorf("window countdown = %q", got)
	}
	if _, disabled := doc.Find(`[data-testid="composer-body"]`).Attr("disabled"); disabled {
		t.Errorf("reply box disabled inside the window")
	}
	if doc.Find(`[data-testid="window-closed"]`).Length() != 0 {
		t.Errorf("closed-window notice shown inside the window")
	}
	// Contact panel basics.
	if got := convText(doc.Find(`[data-testid="contact-phone"]`)); got != "+51 987 654 321" {
		t.Errorf("contact phone = %q", got)
	}
	if got := convText(doc.Find(`[data-testid="contact-country"]`)); !strings.Contains(got, "Perú") {
		t.Errorf("contact country = %q", got)
	}
	// The htmx partial is the same component without the frame.
	part := w.app.LoginAs(w.ana).HTMX(http.MethodGet, convURL(conv.ID, ""), nil)
	if d := part.Doc(t); d.Find(`#conv`).Length() != 1 || d.Find(`.rail`).Length() != 0 {
		t.Errorf("the partial should be the panel alone")
	}
}
