package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/catalog"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// The template picker with a template whose header is an image: the agent chooses
// the picture like an attachment, sees it in the preview with the buttons, and sends.
func TestTemplateBrowserHeaderImage(t *testing.T) {
	_, graphURL := fakeGraph(t)
	app := testutil.NewApp(t, testutil.WithGraphURL(graphURL))
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "María Rojas", "¿Tienen catálogo nuevo?")
	syncer := &catalog.TemplateSyncer{Catalog: catalog.New(app.DB.Gorm, nil), Channels: app.Server.Channels, Graph: &whatsapp.Client{BaseURL: graphURL}}
	if _, err := syncer.SyncWorkspace(context.Background(), ws.ID); err != nil {
		t.Fatal(err)
	}
	var tid int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT id FROM templates WHERE name = 'novedades_catalogo'`).Scan(&tid).Error)
	photo := filepath.Join(t.TempDir(), "catalogo-otono.png")
	testutil.Must(t, os.WriteFile(photo, receiptPNG(t), 0o644))

	for _, vp := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"1366", 1366, 768, false}, {"390", 390, 844, true}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := convBrowser(t, app, ana, vp.w, vp.h, vp.mobile, fmt.Sprintf("/conversations/%d", conv.ID))
			form := fmt.Sprintf(`[data-testid="template-form"][data-template-id="%d"]`, tid)
			convDo(t, ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="template-toggle"]`)),
				chromedp.SetValue(chromedp.CSS(`[data-testid="template-select"]`), fmt.Sprint(tid)),
			)
			convEval[bool](t, ctx, `document.querySelector('[data-testid="template-select"]').dispatchEvent(new Event("change", {bubbles: true}))`)
			convWait(t, ctx, "the image template's form", fmt.Sprintf(`!document.querySelector('%s').hidden`, form))
			convDo(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(form+` [data-testid="template-header-file"]`), []string{photo}))
			convWait(t, ctx, "the header picture in the preview", fmt.Sprintf(`(() => { const i = document.querySelector('%s [data-testid="template-header-image"]'); return i && i.complete && i.naturalWidth > 0; })()`, form))
			if got := convEval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s [data-testid="template-preview"]').textContent`, form)); got != "¡María, llegó el catálogo de temporada! ¿Quieres que te enviemos los precios?" {
				t.Errorf("preview = %q", got)
			}
			convShot(t, ctx, "template-picker-header-image-"+vp.name)
			before := convEval[int](t, ctx, `document.querySelectorAll('[data-testid="msg"][data-kind="template"]').length`)
			convDo(t, ctx, chromedp.Click(chromedp.CSS(form+` [data-testid="template-send"]`)))
			convWait(t, ctx, "the template in the history", fmt.Sprintf(`document.querySelectorAll('[data-testid="msg"][data-kind="template"]').length > %d`, before))
		})
	}
}
