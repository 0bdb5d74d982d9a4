package fakemeta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
)

const (
	token     = "EAAG-fake"
	secret    = "app-secret-for-tests"
	phoneID   = "106540352242922"
	recipient = "51987654321"
)

// inbox is a stand-in for the app's webhook endpoint: it checks signatures as Meta's
// documentation asks and keeps the raw bodies it accepted.
type inbox struct {
	mu     sync.Mutex
	bodies [][]byte
	bad    int
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	in.mu.Lock()
	defer in.mu.Unlock()
	if !whatsapp.VerifySignature([]byte(secret), b, r.Header.Get("X-Hub-Signature-256")) {
		in.bad++
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	in.bodies = append(in.bodies, b)
}

func (in *inbox) statuses(t *testing.T) []whatsapp.Status {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []whatsapp.Status
	for _, b := range in.bodies {
		w, err := whatsapp.Parse(b)
		if err != nil {
			t.Fatalf("the fake posted an unparsable webhook: %v\n%s", err, b)
		}
		for _, e := range w.Entry {
			for _, c := range e.Changes {
				if c.Value.Metadata.PhoneNumberID != phoneID {
					t.Errorf("metadata.phone_number_id = %q", c.Value.Metadata.PhoneNumberID)
				}
				out = append(out, c.Value.Statuses...)
			}
		}
	}
	return out
}

func setup(t *testing.T, cfg fakemeta.Config) (*fakemeta.Fake, *whatsapp.Client, *inbox) {
	t.Helper()
	in := &inbox{}
	app := httptest.NewServer(in)
	t.Cleanup(app.Close)
	if cfg.Token == "" {
		cfg.Token = token
	}
	cfg.StatusDelay = 10 * time.Millisecond
	cfg.Targets = func(id string) (string, string, bool) {
		return app.URL + "/webhooks/whatsapp/key", secret, id == phoneID
	}
	f := fakemeta.New(cfg)
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); f.Close() })
	return f, &whatsapp.Client{BaseURL: srv.URL, HTTP: srv.Client()}, in
}

// waitFor polls cond until it holds. The deadline is generous: a wait that succeeds
// returns at once, and only a failing test pays for all of it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSendPostsSignedStatusWebhooksInOrder(t *testing.T) {
	f, c, in := setup(t, fakemeta.Config{})
	wamid, err := c.Send(context.Background(), phoneID, token, whatsapp.TextBody(recipient, "Buenos días", ""))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three statuses", func() bool { return len(f.Webhooks()) == 3 })
	sts := in.statuses(t)
	var got []string
	for _, s := range sts {
		if s.ID != wamid || s.RecipientID != recipient {
			t.Errorf("status for %s/%s, want %s/%s", s.ID, s.RecipientID, wamid, recipient)
		}
		got = append(got, s.Status)
	}
	if !reflect.DeepEqual(got, []string{"sent", "delivered", "read"}) {
		t.Errorf("statuses = %v", got)
	}
	if in.bad != 0 {
		t.Errorf("%d webhooks had a bad signature", in.bad)
	}
}

// keys lists the JSON object keys along every path of v, to compare shapes.
func keys(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			out[prefix+"."+k] = true
			keys(prefix+"."+k, vv, out)
		}
	case []any:
		for _, vv := range x {
			keys(prefix+"[]", vv, out)
		}
	}
}

func TestStatusWebhookLooksLikeMetas(t *testing.T) {
	fixture, err := os.ReadFile("../../../../shared/fixtures/whatsapp/status_sent.json")
	if err != nil {
		t.Skip("shared fixture not found beside the repository")
	}
	f, c, in := setup(t, fakemeta.Config{})
	f.SetStatusWebhooks(true, 0)
	if _, err := c.Send(context.Background(), phoneID, token, whatsapp.TextBody(recipient, "hola", "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sent status", func() bool { return len(f.Webhooks()) >= 1 })
	in.mu.Lock()
	first := in.bodies[0]
	in.mu.Unlock()
	var want, got any
	_ = json.Unmarshal(fixture, &want)
	_ = json.Unmarshal(first, &got)
	wk, gk := map[string]bool{}, map[string]bool{}
	keys("", want, wk)
	keys("", got, gk)
	if !reflect.DeepEqual(wk, gk) {
		t.Errorf("shape differs from status_sent.json:\nfixture %v\nfake    %v", sorted(wk), sorted(gk))
	}
}

func sorted(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func TestFailStatusAcceptsThenReportsAFailedStatus(t *testing.T) {
	f, c, in := setup(t, fakemeta.Config{})
	f.FailStatus(recipient, 131047)
	if _, err := c.Send(context.Background(), phoneID, token, whatsapp.TextBody(recipient, "hola", "")); err != nil {
		t.Fatalf("the send itself is accepted: %v", err)
	}
	waitFor(t, "the failed status", func() bool { return len(f.Webhooks()) == 1 })
	sts := in.statuses(t)
	if len(sts) != 1 || sts[0].Status != "failed" || len(sts[0].Errors) != 1 || sts[0].Errors[0].Code != 131047 {
		t.Fatalf("statuses = %+v", sts)
	}
}

func TestAnswersLikeMeta(t *testing.T) {
	f, c, _ := setup(t, fakemeta.Config{NoStatusWebhooks: true})
	base := c.BaseURL
	post := func(path, auth, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	code, m := post("/v25.0/"+phoneID+"/messages", token, `{"messaging_product":"whatsapp","to":"+525512345678","type":"text","text":{"body":"Hola"}}`)
	if code != 200 || m["messaging_product"] != "whatsapp" {
		t.Fatalf("%d %v", code, m)
	}
	contact := m["contacts"].([]any)[0].(map[string]any)
	if contact["input"] != "+525512345678" || contact["wa_id"] != "5215512345678" {
		t.Errorf("contacts = %v (Mexican mobiles gain the 1)", contact)
	}
	if id := m["messages"].([]any)[0].(map[string]any)["id"].(string); !strings.HasPrefix(id, "wamid.") {
		t.Errorf("id = %q", id)
	}
	if len(f.Sent("5215512345678")) != 1 {
		t.Error("the message is recorded under the wa_id")
	}

	code, m = post("/"+phoneID+"/messages", "", `{"messaging_product":"whatsapp","to":"51987654321","type":"text","text":{"body":"Hola"}}`)
	if code != 401 || m["error"].(map[string]any)["code"] != float64(190) {
		t.Errorf("no token: %d %v", code, m)
	}
	code, m = post("/"+phoneID+"/messages", token, `{"messaging_product":"whatsapp","to":"51987654321","type":"text","text":{"body":"`+strings.Repeat("a", 4097)+`"}}`)
	if code != 400 || m["error"].(map[string]any)["code"] != float64(100) {
		t.Errorf("too long: %d %v", code, m)
	}
	code, m = post("/"+phoneID+"/messages", token, `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN"}`)
	if code != 200 || m["success"] != true {
		t.Errorf("read: %d %v", code, m)
	}
}

func TestControlEndpointsInjectFailures(t *testing.T) {
	f, c, _ := setup(t, fakemeta.Config{NoStatusWebhooks: true})
	ctl := func(path, body string) {
		res, err := http.Post(c.BaseURL+"/_fake/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
	}
	send := func(to string) error {
		_, err := c.Send(context.Background(), phoneID, token, whatsapp.TextBody(to, "hola", ""))
		return err
	}
	ctl("fail", `{"code":131026,"times":1}`)
	if ge, ok := send(recipient).(*whatsapp.GraphError); !ok || ge.Code != 131026 {
		t.Fatalf("first send should fail with 131026, got %v", ge)
	}
	if err := send(recipient); err != nil {
		t.Fatalf("the failure was for one send only: %v", err)
	}
	ctl("fail", `{"code":131050,"recipient":"56912345678"}`)
	for range 2 {
		if ge, ok := send("56912345678").(*whatsapp.GraphError); !ok || ge.Code != 131050 {
			t.Fatalf("recipient failure should last, got %v", ge)
		}
	}
	if err := send(recipient); err != nil {
		t.Fatalf("other recipients are unaffected: %v", err)
	}
	ctl("reset", "")
	if err := send("56912345678"); err != nil {
		t.Fatalf("reset lifts the failure: %v", err)
	}
	ctl("delay", `{"ms":300}`)
	start := time.Now()
	_ = send(recipient)
	if time.Since(start) < 300*time.Millisecond {
		t.Error("the delay was not applied")
	}
	f.Delay(0)

	res, err := http.Get(c.BaseURL + "/_fake/sent")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sent map[string][]fakemeta.SentMessage
	if err := json.NewDecoder(res.Body).Decode(&sent); err != nil {
		t.Fatal(err)
	}
	if len(sent[recipient]) != 3 || len(sent["56912345678"]) != 1 {
		t.Errorf("sent = %d to %s, %d to 56912345678", len(sent[recipient]), recipient, len(sent["56912345678"]))
	}
}

func TestMediaIsValidAndStable(t *testing.T) {
	_, c, _ := setup(t, fakemeta.Config{NoStatusWebhooks: true})
	ctx := context.Background()
	for _, tc := range []struct{ kind, mime, magic string }{
		{"image", "image/jpeg", "\xff\xd8\xff"},
		{"png", "image/png", "\x89PNG"},
		{"audio", "audio/ogg; codecs=opus", "OggS"},
		{"document", "application/pdf", "%PDF-"},
	} {
		id := fakemeta.MediaID(tc.kind, 12)
		info, err := c.MediaInfo(ctx, token, id)
		if err != nil {
			t.Fatal(err)
		}
		data, mime, err := c.DownloadMedia(ctx, token, info.URL)
		if err != nil {
			t.Fatal(err)
		}
		if mime != tc.mime || info.MimeType != tc.mime || !strings.HasPrefix(string(data), tc.magic) {
			t.Errorf("%s: %q/%q, starts %q", tc.kind, mime, info.MimeType, data[:min(8, len(data))])
		}
		_, again := fakemeta.MediaContent(id)
		if !bytes.Equal(data, again) || fakemeta.MediaSHA256(data) != info.SHA256 {
			t.Errorf("%s: content is not deterministic or the hash does not match", tc.kind)
		}
		if tc.kind == "image" {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("JPEG does not decode: %v", err)
			}
		}
	}
	if _, _, err := c.DownloadMedia(ctx, "", c.BaseURL+"/_fake/media/"+fakemeta.MediaID("image", 1)); err == nil {
		t.Error("downloads need the token")
	}
}

// A customer known only by a WhatsApp username is written to at their business-scoped
// user id, in "recipient"; the statuses name it in recipient_user_id.
func TestSendToABusinessScopedUserID(t *testing.T) {
	f, c, in := setup(t, fakemeta.Config{})
	const bsuid = "PE.1502576394655843"
	wamid, err := c.Send(context.Background(), phoneID, token, whatsapp.TextBody(bsuid, "Hola", ""))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three statuses", func() bool { return len(f.Webhooks()) == 3 })
	for _, s := range in.statuses(t) {
		if s.ID != wamid || s.RecipientID != "" || s.RecipientUserID != bsuid {
			t.Errorf("status %+v", s)
		}
	}
}
