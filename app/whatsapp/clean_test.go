package whatsapp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseCleansEveryString(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"contacts":[{"profile":{"name":"Ro\u0000sa","username":"ro\u0000sa"},"wa_id":"5191\u00001111111","user_id":"PE.1\u00002"}],
		"messages":[{"from":"5191\u00001111111","id":"wamid.\u0000A","timestamp":"1","type":"image",
			"image":{"id":"m\u00001","mime_type":"image/jpeg\u0000","sha256":"ab\u0000c","caption":"hola\ud800 \u0000","filename":"a\u0000.pdf"},
			"context":{"id":"wamid.\u0000B"},"referral":{"headline":"x\u0000y\udc00"}}],
		"statuses":[{"id":"wamid.\u0000C","status":"delivered","timestamp":"1","recipient_id":"51\u00009"}]}}]}]}`
	w, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	v := w.Entry[0].Changes[0].Value
	m := v.Messages[0]
	got := []string{v.Contacts[0].Profile.Name, v.Contacts[0].Profile.Username, v.Contacts[0].WaID, v.Contacts[0].UserID, m.From, m.ID,
		m.Image.ID, m.Image.MimeType, m.Image.SHA256, m.Image.Caption, m.Image.Filename, m.Context.ID, string(m.Referral), v.Statuses[0].ID, v.Statuses[0].RecipientID}
	want := []string{"Rosa", "rosa", "51911111111", "PE.12", "51911111111", "wamid.A", "m1", "image/jpeg", "abc", "hola\uFFFD ", "a.pdf", "wamid.B",
		`{"headline":"xy` + "\uFFFD" + `"}`, "wamid.C", "519"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// BenchmarkParseFixture: parsing and cleaning a six-message batch (tens of µs: nothing
// next to the database).
func BenchmarkParseFixture(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(fixtureDir, "inbound_batch_mixed.json"))
	if err != nil {
		b.Skip("fixtures not found")
	}
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
