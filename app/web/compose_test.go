package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
)

// TestLongReplyRefusedOrSplitNeverCut: a reply over WhatsApp's 4,096 characters is
// refused whole (nothing queued) unless the agent chose to split it; split, it goes as
// several messages that read exactly as written. The API refuses it too.
func TestLongReplyRefusedOrSplitNeverCut(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987650101", "Jorge Ramírez", "Mándame la lista completa por favor", w.ventas)
	ana := w.app.LoginAs(w.ana)
	para := strings.Repeat("Tubo PVC de 4 pulgadas, clase 10, por 5 metros: S/ 38,50. ", 40) // ~2.400 characters
	long := strings.TrimSpace(para + "\n\n" + para + "\n\n🙂 *Precios con IGV*")
	n := utf8.RuneCountInString(long)
	if n <= 4096 {
		t.Fatalf("the text has only %d characters", n)
	}

	res := convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {long}})
	convStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.Body, "WhatsApp admite hasta 4096") {
		t.Errorf("refusal says %q", res.Body)
	}
	if got := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, conv.ID); got != 0 {
		t.Fatalf("%d messages stored for a refused reply", got)
	}

	res = convPost(ana, conv.ID, "messages", url.Values{"mode": {"reply"}, "body": {long}, "split": {"1"}})
	convStatus(t, res, http.StatusOK)
	var bodies []string
	testutil.Must(t, w.app.DB.Gorm.Raw(`SELECT body FROM messages WHERE conversation_id = ? AND direction = 'out' ORDER BY id`, conv.ID).Scan(&bodies).Error)
	if len(bodies) != 2 {
		t.Fatalf("split into %d messages", len(bodies))
	}
	for i, b := range bodies {
		if utf8.RuneCountInString(b) > 4096 {
			t.Errorf("part %d has %d characters", i+1, utf8.RuneCountInString(b))
		}
	}
	// Only the whitespace at the cut is left out.
	if !strings.HasPrefix(long, bodies[0]) || !strings.HasSuffix(long, bodies[1]) ||
		strings.TrimSpace(long[len(bodies[0]):len(long)-len(bodies[1])]) != "" {
		t.Errorf("the parts do not read as written:\n%q\n+\n%q", bodies[0][len(bodies[0])-40:], bodies[1][:40])
	}
	if got := convCount(t, w, `SELECT count(*) FROM outbox WHERE kind = 'message'`); got != 2 {
		t.Errorf("%d sends queued", got)
	}

	// The API never cuts either.
	b, _ := json.Marshal(map[string]any{"body": long})
	res2 := w.app.API(w.ana).Do(http.MethodPost, "/api/v1/conversations/"+strconv.FormatInt(conv.ID, 10)+"/messages", string(b))
	if res2.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("API answered %d to a %d-character body", res2.StatusCode, n)
	}
}

// TestWhatsAppFormattingInHistory: formatting shows as WhatsApp shows it, and what a
// customer writes stays text.
func TestWhatsAppFormattingInHistory(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987650102", "Rosa Huamán", "Quiero *2 sacos* de _cemento_ <script>alert(1)</script>\n- entrega ~mañana~ hoy\n> ¿se puede?", w.ventas)
	res := w.app.LoginAs(w.ana).Get(convURL(conv.ID, ""))
	body := convFind(t, res, `[data-testid="msg-body"]`)
	html, _ := body.Html()
	for _, want := range []string{"<strong>2 sacos</strong>", "<em>cemento</em>", "&lt;script&gt;", "<ul class=\"wa-list\"><li>entrega <s>mañana</s> hoy</li></ul>", "<blockquote class=\"wa-quote\">¿se puede?</blockquote>"} {
		if !strings.Contains(html, want) {
			t.Errorf("history lacks %s:\n%s", want, html)
		}
	}
	if body.Find("script").Length() != 0 {
		t.Error("a customer's <script> became markup")
	}
	// The composer's preview renders the same way.
	prev := w.app.LoginAs(w.ana).HTMX(http.MethodPost, "/compose/preview", url.Values{"body": {"*hola* _tú_ <b>"}})
	if prev.StatusCode != http.StatusOK || prev.Body != "<strong>hola</strong> <em>tú</em> &lt;b&gt;" {
		t.Errorf("preview %d %q", prev.StatusCode, prev.Body)
	}
}

// TestComposeBrowserCounterSplitAndPreview: near the limit a count shows; over it,
// sending offers to split instead of cutting; the preview shows the formatting.
func TestComposeBrowserCounterSplitAndPreview(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	conv := w.inTeam(t, "51987650103", "Jorge Ramírez", "Mándame la lista", w.ventas)
	ctx := convBrowser(t, w.app, w.ana, 1366, 800, false, convURL(conv.ID, ""))

	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="preview-toggle"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="composer-body"]`), "*Lista* de _precios_"))
	convWait(t, ctx, "the preview", `(document.querySelector('[data-testid="compose-preview"] strong')||{}).textContent === "Lista"`)
	if c := convEval[bool](t, ctx, `document.querySelector('[data-testid="char-count"]').hidden`); !c {
		t.Error("the count shows for a short text")
	}
	// A pasted price list of ~4.800 characters.
	convDo(t, ctx, chromedp.Evaluate[chromedp.Void](`(function(){
		var ta = document.querySelector('[data-testid="composer-body"]');
		ta.value = Array(110).join("Tubo PVC de 4 pulgadas, clase 10: S/ 38,50.\n");
		ta.dispatchEvent(new Event("input", { bubbles: true }));
	})()`))
	convWait(t, ctx, "the count over the limit", `(function(){var c=document.querySelector('[data-testid="char-count"]');return !c.hidden && c.classList.contains("is-over") && / \/ 4\.096$/.test(c.textContent)})()`)
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="send"]`)))
	convWait(t, ctx, "the offer to split", `!document.querySelector('[data-testid="split-offer"]').hidden`)
	testutil.Screenshot(t, ctx, "compose-split-1366")
	if got := convEval[string](t, ctx, `document.querySelector('[data-testid="send-split"]').textContent`); got != "Enviar en 2 mensajes" {
		t.Errorf("split button %q", got)
	}
	if n := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, conv.ID); n != 0 {
		t.Fatalf("%d messages sent before the agent chose", n)
	}
	convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="send-split"]`)))
	convWait(t, ctx, "two messages in the history", `document.querySelectorAll('.msg-out, [data-direction="out"]').length >= 2 || [...document.querySelectorAll('[data-testid="msg"]')].filter(m => m.textContent.includes("Tubo PVC")).length === 2`)
	if n := convCount(t, w, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, conv.ID); n != 2 {
		t.Errorf("%d messages sent", n)
	}
}
