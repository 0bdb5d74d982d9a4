package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Real-browser tests of the conversation: the composer as a person uses it (tabs,
// Ctrl+Enter, "/" canned responses) and the screen as laid out on a laptop and a phone.

func convDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func convEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// convWaitFor bounds a wait for the page to show something it must show. It is long
// because a wait that succeeds ends at once: only a failing test costs all of it.
const convWaitFor = 30 * time.Second

// convWait waits until the JavaScript expression js is true on the page.
func convWait(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(convWaitFor))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// convBrowser opens a browser at the viewport size, signs u in and opens path.
func convBrowser(t *testing.T, app *testutil.App, u models.User, width, height int64, mobile bool, path string) context.Context {
	t.Helper()
	ctx := testutil.NewBrowser(t)
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	convDo(t, ctx,
		chromedp.EmulateViewport(width, height, opts...),
		chromedp.Navigate(app.URL+"/login?next="+url.QueryEscape(path)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), u.Email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="password"]`), testutil.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="composer"]`)),
	)
	return ctx
}

// convShot saves what the screen shows (the viewport: the conversation is laid out to
// fit it) as NAME.png in $ATIENDE_SCREENSHOTS; without that variable it does nothing.
func convShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ATIENDE_SCREENSHOTS")
	if dir == "" {
		return
	}
	testutil.Must(t, os.MkdirAll(dir, 0o755))
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	testutil.Must(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
}

// receiptPNG draws something that looks like a payment receipt photo.
func receiptPNG(t testing.TB) []byte {
	const w, h = 360, 440
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: 214, G: 206, B: 190, A: 255}) // the table
		}
	}
	for y := 30; y < h-30; y++ {
		for x := 60; x < w-60; x++ {
			img.Set(x, y, color.RGBA{R: 252, G: 252, B: 248, A: 255}) // the paper
		}
	}
	line := func(y, from, to int, c color.RGBA) {
		for yy := y; yy < y+6; yy++ {
			for x := from; x < to; x++ {
				img.Set(x, yy, c)
			}
		}
	}
	ink, light := color.RGBA{R: 60, G: 64, B: 72, A: 255}, color.RGBA{R: 170, G: 174, B: 180, A: 255}
	line(60, 110, 250, ink)
	for i, y := 0, 100; y < 320; i, y = i+1, y+22 {
		line(y, 90, 200+(i%3)*20, light)
		line(y, 230, 270, light)
	}
	line(350, 90, 270, ink)
	line(372, 190, 270, color.RGBA{R: 15, G: 118, B: 110, A: 255})
	var b bytes.Buffer
	testutil.Must(t, png.Encode(&b, img))
	return b.Bytes()
}

// richConversation builds a conversation with two cycles and a bit of everything:
// texts both ways with ticks, a list reply, a reaction, a failed message, a closing,
// a photo, a location, a transfer with its note and an internal note.
func richConversation(t *testing.T, w *convWorld, cobranzas models.Team) models.Conversation {
	t.Helper()
	const wa = "51987654321"
	db := w.app.DB.Gorm
	now := time.Now().Truncate(time.Second)
	day1 := now.Add(-50 * time.Hour)
	at := func(base time.Time, min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	shift := func(id int64, when time.Time) {
		testutil.Must(t, db.Exec(`UPDATE messages SET created_at = ? WHERE id = ?`, when, id).Error)
	}
	hook := func(msgs ...map[string]any) {
		if code := w.app.Webhook(w.ch, testutil.InboundMessages(w.ch, waContacts(wa, "María José Quispe"), msgs...)); code != 200 {
			t.Fatalf("webhook answered %d", code)
		}
	}
	conv := w.inboundAt(t, wa, "María José Quispe", "wamid.R1", "Hola, buenas tardes. Necesito una cotización para 20 licencias de su sistema 🙏", at(day1, 2))
	testutil.Must(t, db.Exec(`UPDATE contacts SET company = 'Quispe Importaciones SAC', email = 'mjquispe@quispe.pe', owner_id = ? WHERE id = ?`, w.ana.ID, conv.ContactID).Error)
	testutil.Must(t, db.Exec(`UPDATE conversations SET team_id = ?, last_inbound_at = now() WHERE id = ?`, w.ventas.ID, conv.ID).Error)
	ana := w.app.LoginAs(w.ana)

	convStatus(t, convPost(ana, conv.ID, "take", nil), 200)
	shift(lastMessageID(t, w, conv.ID, models.KindActivity), at(day1, 5))
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"¡Hola María José! Con gusto. ¿Qué plan le interesa? Le envío las opciones."}}), 200)
	r1 := lastMessageID(t, w, conv.ID, models.KindText)
	shift(r1, at(day1, 6))
	setWamid(t, w, r1, "wamid.OUT.R1")
	w.app.Webhook(w.ch, statusWebhook(w, "wamid.OUT.R1", "read", now))
	hook(waMsg(wa, "wamid.R2", "interactive", at(day1, 9), map[string]any{
		"interactive": map[string]any{"type": "list_reply", "list_reply": map[string]any{"id": "plan_pro", "title": "Plan Pro", "description": "Hasta 25 usuarios · soporte 24/7"}},
		"context":     map[string]any{"from": "5115550100", "id": "wamid.OUT.R1"}}))
	hook(waMsg(wa, "wamid.R3", "reaction", at(day1, 10), map[string]any{"reaction": map[string]any{"message_id": "wamid.OUT.R1", "emoji": "👍"}}))
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"Perfecto. Le acabo de enviar la cotización del Plan Pro a su correo 📄"}}), 200)
	r2 := lastMessageID(t, w, conv.ID, models.KindText)
	shift(r2, at(day1, 15))
	setWamid(t, w, r2, "wamid.OUT.R2")
	w.app.Webhook(w.ch, statusWebhook(w, "wamid.OUT.R2", "delivered", now))
	convStatus(t, convPost(ana, conv.ID, "status", url.Values{"status": {"closed"}, "reason": {"Cotización enviada"}}), 200)
	shift(lastMessageID(t, w, conv.ID, models.KindActivity), at(day1, 20))
	testutil.Must(t, db.Exec(`UPDATE cycles SET closed_at = ? WHERE conversation_id = ?`, at(day1, 20), conv.ID).Error)

	// A follow-up the next day, after the window had closed: WhatsApp refused it.
	convStatus(t, convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {"María José, ¿pudo revisar la cotización?"}}), 200)
	r3 := lastMessageID(t, w, conv.ID, models.KindText)
	shift(r3, now.Add(-20*time.Hour))
	setWamid(t, w, r3, "wamid.OUT.R3")
	w.app.Webhook(w.ch, statusWebhook(w, "wamid.OUT.R3", "failed", now, map[string]any{"code": 131047, "title": "Re-engagement message",
		"error_data": map[string]any{"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}))

	// Today: she pays and writes again — a new cycle.
	day2 := now.Add(-55 * time.Minute)
	hook(waMsg(wa, "wamid.R4", "text", at(day2, 0), map[string]any{"text": map[string]any{"body": "Buenos días. Ya hicimos el pago, les envío el comprobante."}}))
	hook(waMsg(wa, "wamid.R5", "image", at(day2, 1), map[string]any{"image": map[string]any{"id": "media-receipt", "mime_type": "image/png", "sha256": "x", "caption": "Comprobante de transferencia"}}))
	fillMedia(t, w, "media-receipt", receiptPNG(t))
	hook(waMsg(wa, "wamid.R6", "location", at(day2, 2), map[string]any{"location": map[string]any{"latitude": -12.1211, "longitude": -77.0297, "name": "Quispe Importaciones", "address": "Av. Larco 1150, Miraflores, Lima"}}))
	testutil.Must(t, db.Exec(`UPDATE conversations SET last_inbound_at = now() WHERE id = ?`, conv.ID).Error)
	convStatus(t, convPost(ana, conv.ID, "transfer", url.Values{"team_id": {itoa(cobranzas.ID)}, "agent_id": {itoa(w.luis.ID)}, "note": {"Validar el pago y emitir la factura a nombre de la empresa"}}), 200)
	shift(lastMessageID(t, w, conv.ID, models.KindActivity), at(day2, 6))
	testutil.Must(t, db.Exec(`UPDATE conversation_events SET at = ? WHERE conversation_id = ? AND kind = 'transfer'`, at(day2, 6), conv.ID).Error)
	luis := w.app.LoginAs(w.luis)
	convStatus(t, convPost(luis, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"Pago confirmado en el banco (op. 48213). Emito la factura hoy."}}), 200)
	shift(lastMessageID(t, w, conv.ID, models.KindNote), at(day2, 9))
	testutil.Must(t, db.Exec(`UPDATE conversations SET last_inbound_at = ? WHERE id = ?`, at(day2, 2), conv.ID).Error)

	var vip int64
	testutil.Must(t, db.Raw(`INSERT INTO labels (workspace_id, name, color) VALUES (?, 'Cliente VIP', '#b45309') RETURNING id`, w.ws.ID).Scan(&vip).Error)
	testutil.Must(t, db.Exec(`INSERT INTO labels (workspace_id, name, color) VALUES (?, 'Facturación', '#1d4ed8')`, w.ws.ID).Error)
	testutil.Must(t, db.Exec(`INSERT INTO conversation_labels (workspace_id, conversation_id, label_id)
		SELECT ?, ?, id FROM labels WHERE workspace_id = ?`, w.ws.ID, conv.ID, w.ws.ID).Error)
	testutil.Must(t, db.Exec(`INSERT INTO canned_responses (workspace_id, shortcut, title, body) VALUES
		(?, 'factura', 'Factura enviada', 'Le enviamos la factura electrónica a su correo. ¡Gracias por su compra!'),
		(?, 'gracias', 'Agradecimiento', '¡Gracias por escribirnos! Que tenga un excelente día.'),
		(?, 'horario', 'Horario de atención', 'Atendemos de lunes a viernes de 9:00 a 18:00.')`, w.ws.ID, w.ws.ID, w.ws.ID).Error)
	testutil.Must(t, db.Exec(`INSERT INTO templates (workspace_id, name, language, category, body) VALUES (?, 'seguimiento_cotizacion', 'es', 'utility', ?)`,
		w.ws.ID, "Hola {{1}}, le escribimos de Acme por su cotización {{2}}. ¿Podemos ayudarle en algo más?").Error)
	return conv
}

// TestConversationBrowserNoteAndReply: in the browser, an agent writes an internal
// note on the yellow "Nota interna" tab and a reply, each sent with Ctrl+Enter; both
// appear in the history, the note styled as a note, and only the reply goes to
// WhatsApp. The "/" list fills in a canned response from the keyboard.
func TestConversationBrowserNoteAndReply(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	cobranzas := w.app.Team(w.ws, "Cobranzas")
	conv := richConversation(t, w, cobranzas)
	ctx := convBrowser(t, w.app, w.luis, 1280, 800, false, convURL(conv.ID, ""))
	convWait(t, ctx, "the history scrolled to the newest message", `(function(){var h=document.getElementById("history");return h.scrollHeight-h.scrollTop-h.clientHeight<60})()`)

	outboxBefore := convCount(t, w, `SELECT count(*) FROM outbox WHERE kind = 'message'`)

	// The note tab turns the composer yellow.
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="tab-note"]`)))
	convWait(t, ctx, "the composer in note mode", `document.getElementById("conv-composer").classList.contains("is-note")`)
	convWait(t, ctx, "the pale yellow of notes on the composer", `getComputedStyle(document.getElementById("conv-composer")).backgroundColor === "rgb(253, 248, 216)"`)
	convDo(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "Factura F001-2231 emitida"),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
	convWait(t, ctx, "the note in the history", `[...document.querySelectorAll('[data-testid="note"]')].some(n => n.textContent.includes("Factura F001-2231 emitida"))`)
	// The live refresh that the note's own event triggers may show it before the answer
	// to the send arrives; that answer then redraws the whole panel (its composer empty,
	// still on the note tab). Wait for it, or it lands in the middle of what comes next.
	convWait(t, ctx, "the panel redrawn after the note", `document.querySelector('[data-testid="composer-body"]').value === ""`)
	noteBG := convEval[string](t, ctx, `getComputedStyle([...document.querySelectorAll('[data-testid="note"]')].pop()).backgroundColor`)
	if noteBG != "rgb(253, 248, 216)" {
		t.Errorf("the note is not styled as a note: background %s", noteBG)
	}

	// Back to Responder: "/" opens the canned responses, the keyboard picks one.
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="tab-reply"]`)))
	convWait(t, ctx, "the composer in reply mode", `!document.getElementById("conv-composer").classList.contains("is-note")`)
	convDo(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "/fac"))
	convWait(t, ctx, "the canned list", `!document.getElementById("canned-list").hidden`)
	if n := convEval[int](t, ctx, `[...document.querySelectorAll('[data-testid="canned-item"]')].filter(li => !li.hidden).length`); n != 1 {
		t.Errorf("/fac shows %d canned responses, want 1", n)
	}
	convShot(t, ctx, "conversation-canned-1280")
	convDo(t, ctx, chromedp.KeyEvent("\r"))
	convWait(t, ctx, "the canned response in the composer", `document.querySelector('[data-testid="composer-body"]').value.startsWith("Le enviamos la factura")`)
	convDo(t, ctx, chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	convWait(t, ctx, "the reply in the history", `[...document.querySelectorAll('[data-testid="msg"][data-direction="out"]')].some(n => n.textContent.includes("Le enviamos la factura electrónica"))`)
	convWait(t, ctx, "an empty composer", `document.querySelector('[data-testid="composer-body"]').value === ""`)
	if last := convEval[string](t, ctx, `[...document.querySelectorAll('#history-list > [id^="msg-"]')].pop().dataset.testid`); last != "msg" {
		t.Errorf("the reply is not the last item of the history (last is %s)", last)
	}

	var rows []struct{ Kind, Body string }
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT kind, body FROM messages WHERE conversation_id = ? AND sender_user_id = ? ORDER BY created_at DESC, id DESC LIMIT 2`, conv.ID, w.luis.ID).Scan(&rows).Error)
	if len(rows) != 2 || rows[0].Kind != "text" || rows[1].Kind != "note" || rows[1].Body != "Factura F001-2231 emitida" {
		t.Errorf("stored: %+v", rows)
	}
	if n := convCount(t, w, `SELECT count(*) FROM outbox WHERE kind = 'message'`) - outboxBefore; n != 1 {
		t.Errorf("%d sends queued, want 1 (the reply; the note never goes to WhatsApp)", n)
	}
	convShot(t, ctx, "conversation-after-send-1280")

	// The template picker opens over the composer with {{1}} filled in.
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="template-toggle"]`)))
	convWait(t, ctx, "the template picker", `document.getElementById("tpl-picker").open`)
	if v := convEval[string](t, ctx, `document.querySelector('[data-testid="template-param"]').value`); v != "María" {
		t.Errorf("{{1}} prefilled with %q", v)
	}
	convShot(t, ctx, "conversation-templates-1280")
}

// TestConversationBrowserLayout: three panes side by side on a laptop, one at a time
// on a phone (the contact panel behind a button), nothing wider than the screen.
func TestConversationBrowserLayout(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	cobranzas := w.app.Team(w.ws, "Cobranzas")
	conv := richConversation(t, w, cobranzas)
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"1280", 1280, 800, false}, {"390", 390, 844, true}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := convBrowser(t, w.app, w.luis, vp.width, vp.height, vp.mobile, convURL(conv.ID, ""))
			convWait(t, ctx, "the photo", `(function(){var i=document.querySelector('[data-testid="media-image"]');return !!i&&i.complete&&i.naturalWidth>0})()`)
			if over := convEval[int](t, ctx, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); over > 0 {
				t.Errorf("the page is %dpx wider than the screen", over)
			}
			side := convEval[bool](t, ctx, `getComputedStyle(document.getElementById("conv-side")).display !== "none"`)
			history := convEval[bool](t, ctx, `getComputedStyle(document.querySelector(".cv-main")).display !== "none"`)
			if vp.mobile {
				if side || !history {
					t.Errorf("phone: contact panel shown=%v, history shown=%v; want only the history", side, history)
				}
				convShot(t, ctx, "conversation-"+vp.name)
				convDo(t, ctx, chromedp.Click(chromedp.CSS(`.cv-head [data-action="toggle-side"]`)))
				convWait(t, ctx, "the contact panel", `getComputedStyle(document.getElementById("conv-side")).display !== "none" && getComputedStyle(document.querySelector(".cv-main")).display === "none"`)
				convShot(t, ctx, "conversation-contact-"+vp.name)
			} else {
				if !side || !history {
					t.Errorf("laptop: contact panel shown=%v, history shown=%v; want both", side, history)
				}
				convShot(t, ctx, "conversation-"+vp.name)
				// The whole history at once, for a person reviewing the design.
				if os.Getenv("ATIENDE_SCREENSHOTS") != "" {
					convDo(t, ctx, chromedp.EmulateViewport(1280, 2200))
					convWait(t, ctx, "the tall layout", `document.getElementById("history").clientHeight > 1500`)
					convDo(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("history").scrollTop = 0`))
					convShot(t, ctx, "conversation-whole-history")
				}
			}
			// The page itself does not scroll: the history does.
			if d := convEval[int](t, ctx, `document.documentElement.scrollHeight - document.documentElement.clientHeight`); d > 1 {
				t.Errorf("the page scrolls by %dpx; only the history should", d)
			}
		})
	}
}

// TestConversationBrowserClosedWindow: with the 24-hour window closed the reply box is
// disabled with the reason, a note can still be written, and "Enviar plantilla" opens
// the picker whose preview follows what the agent types; the template is sent.
func TestConversationBrowserClosedWindow(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inboundAt(t, "51987654321", "María José Quispe", "wamid.OLD", "Hola, ¿me envían la cotización?", time.Now().Add(-30*time.Hour))
	testutil.Must(t, w.app.DB.Gorm.Exec(`INSERT INTO templates (workspace_id, name, language, category, body) VALUES
		(?, 'seguimiento_cotizacion', 'es', 'utility', ?), (?, 'recordatorio_pago', 'es', 'utility', ?)`,
		w.ws.ID, "Hola {{1}}, le escribimos de Acme por su cotización {{2}}. ¿Podemos ayudarle en algo más?",
		w.ws.ID, "Hola {{1}}, le recordamos que su pago vence el {{2}}.").Error)
	ctx := convBrowser(t, w.app, w.ana, 1280, 800, false, convURL(conv.ID, ""))

	if !convEval[bool](t, ctx, `document.querySelector('[data-testid="composer-body"]').disabled`) {
		t.Fatal("the reply box is enabled with the window closed")
	}
	if txt := convEval[string](t, ctx, `document.querySelector('[data-testid="window-closed"]').innerText`); !strings.Contains(txt, "La ventana de 24 h está cerrada") {
		t.Errorf("reason shown: %q", txt)
	}
	convShot(t, ctx, "conversation-window-closed-1280")
	// A note is still possible.
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="tab-note"]`)))
	convWait(t, ctx, "the note box enabled", `!document.querySelector('[data-testid="composer-body"]').disabled`)
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="tab-reply"]`)))
	convWait(t, ctx, "the reply box disabled again", `document.querySelector('[data-testid="composer-body"]').disabled`)

	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="template-button"]`)))
	convWait(t, ctx, "the template picker", `document.getElementById("tpl-picker").open`)
	// Only the chosen template's form shows; the other one appears when chosen.
	if n := convEval[int](t, ctx, `[...document.querySelectorAll('[data-testid="template-form"]')].filter(f => !f.hidden).length`); n != 1 {
		t.Errorf("%d template forms visible at once", n)
	}
	convDo(t, ctx, chromedp.SendKeys(chromedp.CSS(`.cv-tpl-form:not([hidden]) [data-param="2"]`), "30 de noviembre"))
	convWait(t, ctx, "the live preview", `document.querySelector('.cv-tpl-form:not([hidden]) [data-testid="template-preview"]').textContent.includes("Hola María, le recordamos que su pago vence el 30 de noviembre.")`)
	convShot(t, ctx, "conversation-template-picker-1280")
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`.cv-tpl-form:not([hidden]) [data-testid="template-send"]`)))
	convWait(t, ctx, "the template in the history", `[...document.querySelectorAll('[data-testid="msg"][data-kind="template"]')].some(n => n.textContent.includes("vence el 30 de noviembre"))`)
	if n := convCount(t, w, `SELECT count(*) FROM outbox WHERE kind = 'message'`); n != 1 {
		t.Errorf("%d sends queued for the template", n)
	}
}

// TestConversationBrowserLiveUpdates: a customer message arriving while the chat is
// open appears without reloading, and the chat is marked read again.
func TestConversationBrowserLiveUpdates(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987654321", "María José Quispe", "Hola", w.ventas)
	ctx := convBrowser(t, w.app, w.ana, 1280, 800, false, convURL(conv.ID, ""))
	convWait(t, ctx, "the read receipt of the opening", `true`)
	// Give the stream a moment to connect, then the customer writes.
	convWait(t, ctx, "the event stream", `!!window.atiendeLive && window.atiendeLive.state === "on"`)
	w.app.Inbound(w.ch, "51987654321", "María José Quispe", "¿Siguen ahí? Necesito la cotización hoy")
	convWait(t, ctx, "the new message", `[...document.querySelectorAll('[data-testid="msg"]')].some(n => n.textContent.includes("Necesito la cotización hoy"))`)
	// A typed draft survives the refresh.
	convDo(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "Sí, aquí estamos"))
	w.app.Inbound(w.ch, "51987654321", "María José Quispe", "Gracias")
	convWait(t, ctx, "the second message", `[...document.querySelectorAll('[data-testid="msg"]')].some(n => n.textContent.includes("Gracias"))`)
	if v := convEval[string](t, ctx, `document.querySelector('[data-testid="composer-body"]').value`); v != "Sí, aquí estamos" {
		t.Errorf("draft after a live refresh = %q", v)
	}
	convWait(t, ctx, "the chat marked read", `true`)
	deadline := time.Now().Add(convWaitFor)
	for w.app.Conversation(conv.ID).UnreadCount != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := w.app.Conversation(conv.ID).UnreadCount; n != 0 {
		t.Errorf("unread count = %d with the chat open", n)
	}
}
