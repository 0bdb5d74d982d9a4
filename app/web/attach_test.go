package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// multipartBody builds a form with the file first and the caption after it (the
// order curl -F file=@… -F caption=… gives).
func multipartBody(t *testing.T, filename, mimeType string, data []byte, caption string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, filename))
	h.Set("Content-Type", mimeType)
	p, err := w.CreatePart(h)
	testutil.Must(t, err)
	_, _ = p.Write(data)
	if caption != "" {
		testutil.Must(t, w.WriteField("caption", caption))
	}
	testutil.Must(t, w.Close())
	return &b, w.FormDataContentType()
}

func apiUpload(t *testing.T, app *testutil.App, token string, convID int64, body io.Reader, ct string) testutil.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", app.URL, convID), body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	testutil.Must(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return testutil.Response{Response: res, Body: string(b)}
}

func TestAttachmentGoesThroughTheOutboxAsAnUploadedImage(t *testing.T) {
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	app := testutil.NewApp(t, testutil.WithGraphURL(srv.URL+"/v25.0"))
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro", "¿Me mandas la foto del producto?")
	token := app.Token(ana)

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 300_000)...)
	body, ct := multipartBody(t, "silla-roble.png", "image/png", png, "Así queda la silla en roble")
	r := apiUpload(t, app, token, conv.ID, body, ct)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	var m models.Message
	testutil.Must(t, app.DB.Gorm.Where("conversation_id = ? AND direction = 'out'", conv.ID).First(&m).Error)
	if m.Kind != "image" || m.Body != "Así queda la silla en roble" || m.Status != "queued" || m.MediaMime != "image/png" {
		t.Fatalf("message = kind %q body %q status %q mime %q", m.Kind, m.Body, m.Status, m.MediaMime)
	}
	var md models.Media
	testutil.Must(t, app.DB.Gorm.Where("channel_id = ? AND media_id = ?", ch.ID, m.MediaID).First(&md).Error)
	if !bytes.Equal(md.Data, png) || md.Size != int64(len(png)) || md.Filename != "silla-roble.png" || !md.Outgoing {
		t.Fatalf("stored file: %d bytes (size %d), name %q", len(md.Data), md.Size, md.Filename)
	}

	// The outbox sender uploads the file to the Graph API, then sends the image by id.
	sender := &outbox.Sender{DB: app.DB.Gorm, Pool: app.DB.Pool, Channels: app.Server.Channels,
		Graph: &whatsapp.Client{BaseURL: srv.URL + "/v25.0"}, Poll: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for {
		testutil.Must(t, app.DB.Gorm.First(&m, m.ID).Error)
		if m.Wamid != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.Wamid == nil {
		t.Fatalf("the attachment was not sent within 30 s (status %q, %s)", m.Status, m.ErrorDetail)
	}
	sent := fake.Sent("51911111111")
	if len(sent) != 1 || sent[0].Type != "image" || sent[0].Caption != "Así queda la silla en roble" {
		t.Fatalf("Meta got %+v", sent)
	}
	up, ok := fake.Uploads()[sent[0].MediaID]
	if !ok || up.Size != int64(len(png)) || up.MimeType != "image/png" || up.Filename != "silla-roble.png" {
		t.Fatalf("upload for %q = %+v (ok %v)", sent[0].MediaID, up, ok)
	}

	// The history shows the picture the agent sent, served from Atiende.
	page := app.LoginAs(ana).Get(fmt.Sprintf("/conversations/%d", conv.ID))
	img := page.Doc(t).Find(`[data-testid="media-image"]`)
	src, _ := img.Attr("src")
	if img.Length() != 1 || !strings.HasPrefix(src, "/media/") {
		t.Fatalf("history has %d images (src %q)", img.Length(), src)
	}
	got := app.LoginAs(ana).Get(src)
	if got.StatusCode != 200 || got.Body != string(png) {
		t.Fatalf("GET %s: %d, %d bytes", src, got.StatusCode, len(got.Body))
	}
}

func TestAttachmentLimitsAreWhatsApps(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	token := app.Token(ana)

	cases := []struct {
		name, file, mime string
		size             int
		want             string
	}{
		{"image over 5 MB", "foto.jpg", "image/jpeg", 5<<20 + 1, "Las imágenes pueden pesar hasta 5 MB"},
		{"audio over 16 MB", "nota.mp3", "audio/mpeg", 16<<20 + 1, "Los audios pueden pesar hasta 16 MB"},
		{"unsupported type", "virus.exe", "application/x-msdownload", 10, "WhatsApp no admite este tipo de archivo"},
		{"empty file", "vacio.pdf", "application/pdf", 0, "El archivo está vacío"},
	}
	for _, tc := range cases {
		body, ct := multipartBody(t, tc.file, tc.mime, bytes.Repeat([]byte{1}, tc.size), "")
		r := apiUpload(t, app, token, conv.ID, body, ct)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, r.StatusCode, r.Body)
		}
	}
	// A PDF of 6 MB is fine: documents may weigh up to 100 MB.
	body, ct := multipartBody(t, "cotizacion.pdf", "application/octet-stream", bytes.Repeat([]byte{1}, 6<<20), "Cotización C-1042")
	if r := apiUpload(t, app, token, conv.ID, body, ct); r.StatusCode != http.StatusCreated || !strings.Contains(r.Body, `"document"`) {
		t.Fatalf("6 MB PDF: %d %s", r.StatusCode, r.Body)
	}
	var n int64
	app.DB.Gorm.Model(&models.Media{}).Where("outgoing").Count(&n)
	if n != 1 {
		t.Errorf("%d outgoing files stored, want only the PDF (refused files are not kept)", n)
	}
	// JSON replies still work on the same route.
	if r := app.API(ana).Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), `{"body":"Te envié la cotización"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("JSON reply: %d %s", r.StatusCode, r.Body)
	}
}

// An upload that fails is retried like any send; once uploaded, a retried send
// reuses Meta's media id instead of uploading the file again.
func TestAttachmentUploadRetriesAndIsUploadedOnce(t *testing.T) {
	fake := fakemeta.New(fakemeta.Config{NoStatusWebhooks: true})
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	app := testutil.NewApp(t, testutil.WithGraphURL(srv.URL+"/v25.0"))
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent)
	conv := app.Inbound(ch, "51922222222", "Rosa", "¿Me mandas la factura?")

	fake.Fail(503, 1)                         // the upload: a bare 503, retried
	fake.FailRecipient("51922222222", 131000) // then every send to Rosa, until reset
	body, ct := multipartBody(t, "factura-F001.pdf", "application/pdf", []byte("%PDF-1.4 factura"), "Tu factura")
	if r := apiUpload(t, app, app.Token(ana), conv.ID, body, ct); r.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	sender := &outbox.Sender{DB: app.DB.Gorm, Pool: app.DB.Pool, Channels: app.Server.Channels,
		Graph: &whatsapp.Client{BaseURL: srv.URL + "/v25.0"}, Poll: 20 * time.Millisecond, MaxAttempts: 50,
		Backoff: func(int) time.Duration { return 20 * time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	failedSends := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if strings.HasSuffix(r.Path, "/messages") && r.Code == 131000 {
				n++
			}
		}
		return n
	}
	wait("two refused sends", func() bool { return failedSends() >= 2 })
	fake.Reset()
	wait("the document sent", func() bool { return len(fake.Sent("51922222222")) == 1 })
	if n := len(fake.Uploads()); n != 1 {
		t.Errorf("the file was uploaded %d times, want once (retries reuse the media id)", n)
	}
	uploads := 0
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/media") {
			uploads++
		}
	}
	if uploads != 2 {
		t.Errorf("%d upload requests, want 2 (the 503 and the retry)", uploads)
	}
	s := fake.Sent("51922222222")[0]
	if s.Type != "document" || s.Filename != "factura-F001.pdf" || s.Caption != "Tu factura" {
		t.Fatalf("sent %+v", s)
	}
}
