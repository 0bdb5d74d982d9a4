package web_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// The composer's attachments as an agent uses them: choose a file, see it with a
// caption box, send it, and find it in the history; a file WhatsApp would refuse is
// explained before anything is uploaded.
func TestAttachBrowserPreviewSendAndRefuse(t *testing.T) {
	testutil.NeedBrowser(t)
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro Quispe", "¿Me mandas foto del recibo?")

	dir := t.TempDir()
	photo := filepath.Join(dir, "recibo-marzo.png")
	testutil.Must(t, os.WriteFile(photo, receiptPNG(t), 0o644))
	big := filepath.Join(dir, "catalogo-enorme.png")
	testutil.Must(t, os.WriteFile(big, append(receiptPNG(t), bytes.Repeat([]byte{0}, 6<<20)...), 0o644))
	exe := filepath.Join(dir, "programa.exe")
	testutil.Must(t, os.WriteFile(exe, []byte("MZ"), 0o644))

	for _, vp := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"1366", 1366, 768, false}, {"390", 390, 844, true}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := convBrowser(t, app, ana, vp.w, vp.h, vp.mobile, fmt.Sprintf("/conversations/%d", conv.ID))
			input := chromedp.CSS(`[data-testid="attach-input"]`)

			// Too big: the reason, in Spanish, and no send button.
			convDo(t, ctx, chromedp.SetUploadFiles(input, []string{big}))
			convWait(t, ctx, "the size error", `(() => { const e = document.querySelector('[data-testid="attach-error"]'); return e && !e.hidden && e.textContent.includes("hasta 5 MB"); })()`)
			if convEval[bool](t, ctx, `document.querySelector('[data-testid="attach-send"]').offsetParent !== null`) {
				t.Fatal("a file over the limit can still be sent")
			}
			convDo(t, ctx, chromedp.SetUploadFiles(input, []string{exe}))
			convWait(t, ctx, "the type error", `document.querySelector('[data-testid="attach-error"]').textContent.includes("WhatsApp no admite archivos «.exe»")`)

			// A photo: preview, caption, send.
			convDo(t, ctx, chromedp.SetUploadFiles(input, []string{photo}))
			convWait(t, ctx, "the preview", `(() => { const i = document.querySelector('[data-testid="attach-preview-image"]'); return i && i.complete && i.naturalWidth > 0; })()`)
			convDo(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="attach-caption"]`), "Aquí está el recibo de marzo"))
			convShot(t, ctx, "attach-composer-"+vp.name)
			before := convEval[int](t, ctx, `document.querySelectorAll('[data-testid="media-image"]').length`)
			convDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-testid="attach-send"]`)))
			convWait(t, ctx, "the photo in the history", fmt.Sprintf(`document.querySelectorAll('[data-testid="media-image"]').length > %d && document.querySelector('[data-testid="history"]').textContent.includes("Aquí está el recibo de marzo")`, before))
			// The live stream can show the photo before the send's own answer closes the
			// panel (on a loaded machine): the panel closes once that answer is in.
			convWait(t, ctx, "the attachment panel to close after sending", `document.querySelector('[data-testid="attach-panel"]').hidden`)
		})
	}
	var n int64
	app.DB.Gorm.Model(&models.Message{}).Where("conversation_id = ? AND kind = 'image'", conv.ID).Count(&n)
	if n != 2 {
		t.Errorf("%d images sent, want 2 (one per viewport)", n)
	}
}
