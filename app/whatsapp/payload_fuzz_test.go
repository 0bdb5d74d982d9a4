package whatsapp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir holds the shared example payloads when the repository sits beside them.
const fixtureDir = "../../../shared/fixtures/whatsapp"

// FuzzParse checks that Parse never panics on any body, and that what it accepts can be
// written back as JSON and read again with the same ids (the webhook code stores and
// re-reads what it parsed).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"5115550100","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5491122334455"}],"messages":[{"from":"5491122334455","id":"wamid.A","timestamp":"1761912000","type":"text","text":{"body":"¿Me podés pasar la factura?"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.B","status":"failed","timestamp":"1","recipient_id":"51987654321","errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"24h"}}]}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"id":"wamid.C","type":"reaction","reaction":{"message_id":"wamid.X","emoji":""}},{"id":"wamid.D","type":"location","location":{"latitude":-12.04,"longitude":-77.03}}]}}]}]}`,
		`{"object":"page"}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"type":"text"}]}}]}]}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	if files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json")); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := Parse(body)
		if err != nil {
			if w != nil {
				t.Fatal("Parse returned a webhook with an error")
			}
			return
		}
		out, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("accepted payload does not re-marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-marshalled payload is rejected: %v\n%s", err, out)
		}
		if ids(again) != ids(w) {
			t.Fatalf("ids changed on the way: %q vs %q", ids(again), ids(w))
		}
	})
}

func ids(w *Webhook) string {
	s := ""
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				s += m.ID + ","
			}
			for _, st := range c.Value.Statuses {
				s += st.ID + "/" + st.Status + ","
			}
		}
	}
	return s
}

// TestFixturesParse keeps the shared examples readable (skipped when they are absent).
func TestFixturesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if len(files) == 0 {
		t.Skip("shared fixtures not found beside the repository")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
}
