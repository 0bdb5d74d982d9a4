package whatsapp_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/whatsapp"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestTextBodyIsWhatMetaDocuments(t *testing.T) {
	got := decode(t, whatsapp.TextBody("51987654321", "Le envío la cotización <adjunta> & firmada", ""))
	want := decode(t, []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+51987654321","type":"text","text":{"body":"Le envío la cotización <adjunta> & firmada","preview_url":false}}`))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	reply := decode(t, whatsapp.TextBody("+5215512345678", "Claro", "wamid.ABC"))
	if reply["to"] != "+5215512345678" || reply["context"].(map[string]any)["message_id"] != "wamid.ABC" {
		t.Errorf("reply = %v", reply)
	}
}

func TestValidateText(t *testing.T) {
	if err := whatsapp.ValidateText(strings.Repeat("ñ", whatsapp.MaxTextLen)); err != nil {
		t.Errorf("4096 characters (more bytes) must pass: %v", err)
	}
	if err := whatsapp.ValidateText(strings.Repeat("a", whatsapp.MaxTextLen+1)); !errors.Is(err, whatsapp.ErrTextTooLong) {
		t.Errorf("4097 characters: err = %v", err)
	}
	if err := whatsapp.ValidateText("  \n "); !errors.Is(err, whatsapp.ErrEmptyText) {
		t.Errorf("blank: err = %v", err)
	}
}

func TestTemplateAndReadBodies(t *testing.T) {
	got := decode(t, whatsapp.TemplateBody("573001234567", "recordatorio_pago", "es", []string{"Lucía", "F001-2345"}))
	want := decode(t, []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+573001234567","type":"template",
		"template":{"name":"recordatorio_pago","language":{"code":"es"},"components":[{"type":"body","parameters":[{"type":"text","text":"Lucía"},{"type":"text","text":"F001-2345"}]}]}}`))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("template: got %v\nwant %v", got, want)
	}
	if plain := decode(t, whatsapp.TemplateBody("573001234567", "hola", "es", nil)); plain["template"].(map[string]any)["components"] != nil {
		t.Errorf("a template without parameters has no components: %v", plain)
	}
	read := decode(t, whatsapp.ReadBody("wamid.X"))
	if !reflect.DeepEqual(read, map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}) {
		t.Errorf("read = %v", read)
	}
}

func TestErrorReasonESExplainsEveryCodeOfTheTable(t *testing.T) {
	codes := []int{130429, 131056, 131000, 1, 2, 131016, 133004, 131057, 4, 80007, 131048, 131047, 131026,
		131049, 131050, 100, 131051, 131053, 190, 368, 131042}
	for c := 132000; c <= 132015; c++ {
		codes = append(codes, c)
	}
	seen := map[string]int{}
	for _, c := range codes {
		r := whatsapp.ErrorReasonES(c, "FALLBACK")
		if r == "FALLBACK" || r == "" || !strings.HasSuffix(r, ".") {
			t.Errorf("ErrorReasonES(%d) = %q", c, r)
		}
		if c < 132000 || c > 132015 {
			if prev, ok := seen[r]; ok {
				t.Errorf("codes %d and %d share the reason %q", prev, c, r)
			}
			seen[r] = c
		}
	}
	if got := whatsapp.ErrorReasonES(131047, ""); got != "Pasaron más de 24 horas desde el último mensaje del cliente: envía una plantilla aprobada." {
		t.Errorf("131047: %q", got)
	}
	if got := whatsapp.ErrorReasonES(424242, "Something odd"); got != "Something odd" {
		t.Errorf("unknown code keeps the fallback: %q", got)
	}
	if got := whatsapp.ErrorReasonES(424242, ""); !strings.Contains(got, "424242") {
		t.Errorf("unknown code without fallback names the code: %q", got)
	}
}
