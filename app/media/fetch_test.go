package media_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/atiende/atiende/app/media"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
	"github.com/atiende/atiende/models"
)

func imageWebhook(ch models.Channel, mediaID string) []byte {
	return testutil.InboundMessages(ch, []map[string]any{{"profile": map[string]any{"name": "Rosa"}, "wa_id": "51987654321"}},
		map[string]any{"from": "51987654321", "id": "wamid.IMG" + mediaID, "timestamp": "1761912003", "type": "image",
			"image": map[string]any{"id": mediaID, "mime_type": "image/jpeg", "sha256": "x", "caption": "comprobante"}})
}

func TestMediaIsFetchedKeptAndServedToWhoMaySeeIt(t *testing.T) {
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	graph := httptest.NewServer(fake)
	t.Cleanup(graph.Close)
	app := testutil.NewApp(t, testutil.WithGraphURL(graph.URL))
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	if code := app.Webhook(ch, imageWebhook(ch, "1479537139650973")); code != http.StatusOK {
		t.Fatal(code)
	}
	f := &media.Fetcher{DB: app.DB.Gorm, Graph: &whatsapp.Client{BaseURL: graph.URL}, Channels: app.Server.Channels, Logger: slog.Default()}
	testutil.Must(t, f.FetchPending(context.Background(), time.Now(), 10))
	var m models.Media
	testutil.Must(t, app.DB.Gorm.Where("media_id = ?", "1479537139650973").First(&m).Error)
	wantMime, wantData := fakemeta.MediaContent("1479537139650973")
	if m.FetchedAt == nil || !bytes.Equal(m.Data, wantData) || m.MimeType != wantMime {
		t.Fatalf("media row: fetched %v, %d bytes, %q", m.FetchedAt, len(m.Data), m.MimeType)
	}

	// Served to an agent who sees the conversation; 404 to one who does not.
	conv := app.Inbound(ch, "51987654321", "Rosa", "¿llegó?")
	testutil.Must(t, app.DB.Gorm.Exec("UPDATE conversations SET team_id = ? WHERE id = ?", ventas.ID, conv.ID).Error)
	get := func(u models.User) (int, []byte) {
		c := app.LoginAs(u)
		res := c.Get("/media/" + itoa(m.ID))
		return res.StatusCode, []byte(res.Body)
	}
	if code, body := get(app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)); code != 200 || !bytes.Equal(body, wantData) {
		t.Errorf("agent of the team: %d, %d bytes", code, len(body))
	}
	if code, _ := get(app.User(ws, "luis@acme.pe", models.RoleAgent, soporte)); code != 404 {
		t.Errorf("agent of another team: %d, want 404", code)
	}
	res, err := http.Get(app.URL + "/media/" + itoa(m.ID))
	testutil.Must(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/login" {
		t.Errorf("a stranger reached %s", res.Request.URL.Path)
	}
}

func TestMediaThatCannotBeFetchedIsMarkedNotRetriedForever(t *testing.T) {
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	graph := httptest.NewServer(fake)
	t.Cleanup(graph.Close)
	app := testutil.NewApp(t)
	ch := app.Channel(app.Workspace("Acme"), "Principal")
	app.Webhook(ch, imageWebhook(ch, "999"))
	// The channel's token cannot be decrypted any more (the key changed): permanent.
	testutil.Must(t, app.DB.Gorm.Exec("UPDATE channels SET access_token_enc = 'garbage'").Error)
	f := &media.Fetcher{DB: app.DB.Gorm, Graph: &whatsapp.Client{BaseURL: graph.URL, HTTP: &http.Client{Timeout: 2 * time.Second}},
		Channels: app.Server.Channels, Logger: slog.Default()}
	testutil.Must(t, f.FetchPending(context.Background(), time.Now(), 10))
	var m models.Media
	testutil.Must(t, app.DB.Gorm.First(&m).Error)
	if m.Error == "" || m.Data != nil {
		t.Errorf("media = error %q, %d bytes; want a recorded failure", m.Error, len(m.Data))
	}
}

func itoa(n int64) string { return fmtInt(n) }

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
