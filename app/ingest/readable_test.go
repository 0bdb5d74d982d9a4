package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atiende/atiende/app/ingest"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

type apiMsg struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	Body      string `json:"body"`
	Direction string `json:"direction"`
	Reactions []struct {
		Emoji, From, At string
	} `json:"reactions"`
	Location *struct {
		Latitude, Longitude float64
		Name, Address       string
	} `json:"location"`
	Order *struct {
		Note  string `json:"note"`
		Items []struct {
			ProductID string  `json:"product_id"`
			Quantity  float64 `json:"quantity"`
			Price     float64 `json:"price"`
			Currency  string  `json:"currency"`
		} `json:"items"`
		Total    float64 `json:"total"`
		Currency string  `json:"currency"`
	} `json:"order"`
	Edited *struct {
		Previous []string `json:"previous"`
	} `json:"edited"`
}

func messagesOf(t *testing.T, api *testutil.API, convID int64) []apiMsg {
	t.Helper()
	r := api.Do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", convID), "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("messages: %d %s", r.StatusCode, r.Body)
	}
	var out struct{ Data []apiMsg }
	testutil.Must(t, json.Unmarshal([]byte(r.Body), &out))
	return out.Data
}

func convOf(t *testing.T, app *testutil.App, where string, args ...any) int64 {
	t.Helper()
	var id int64
	testutil.Must(t, app.DB.Gorm.Raw(`SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE `+where, args...).Scan(&id).Error)
	if id == 0 {
		t.Fatalf("no conversation where %s %v", where, args)
	}
	return id
}

func TestUsernameOnlyCustomer(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Ventas")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	api := app.API(admin)
	now := time.Now()
	// As Meta sends it: from and wa_id empty, the business-scoped user id instead.
	body := testutil.InboundMessages(ch,
		[]map[string]any{{"profile": map[string]any{"name": "", "username": "vale.rios", "country_code": "PE"}, "wa_id": "", "user_id": "PE.1502576394655843"}},
		map[string]any{"from": "", "from_user_id": "PE.1502576394655843", "id": "wamid.U1", "timestamp": fmt.Sprint(now.Unix()),
			"type": "text", "text": map[string]any{"body": "Hola, ¿tienen stock?"}})
	if code := app.Webhook(ch, body); code != http.StatusOK {
		t.Fatal(code)
	}
	conv := convOf(t, app, "k.user_id = ?", "PE.1502576394655843")
	r := api.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", conv), "")
	var view struct {
		Data struct {
			Contact map[string]any `json:"contact"`
		}
	}
	testutil.Must(t, json.Unmarshal([]byte(r.Body), &view))
	c := view.Data.Contact
	if c["wa_id"] != nil || c["phone"] != nil || c["user_id"] != "PE.1502576394655843" || c["username"] != "vale.rios" || c["name"] != "@vale.rios" {
		t.Errorf("contact = %v", c)
	}
	// The reply goes to the user id, in "recipient".
	if r := api.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), `{"body":"¡Sí! ¿Qué talla?"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("reply: %d %s", r.StatusCode, r.Body)
	}
	var ob models.Outbox
	testutil.Must(t, app.DB.Gorm.Where("kind = 'message'").First(&ob).Error)
	var payload map[string]any
	testutil.Must(t, json.Unmarshal(ob.Payload, &payload))
	if payload["recipient"] != "PE.1502576394655843" || payload["to"] != nil || ob.Recipient != "PE.1502576394655843" {
		t.Errorf("send = %s to %q", ob.Payload, ob.Recipient)
	}
	// Its statuses carry the same id.
	testutil.Must(t, app.DB.Gorm.Exec(`UPDATE messages SET wamid = 'wamid.OUTU1', status = 'sent' WHERE id = ?`, *ob.MessageID).Error)
	st, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": "1", "changes": []any{map[string]any{
		"field": "messages", "value": map[string]any{"metadata": map[string]any{"phone_number_id": ch.PhoneNumberID},
			"statuses": []any{map[string]any{"id": "wamid.OUTU1", "status": "delivered", "timestamp": fmt.Sprint(now.Unix() + 5),
				"recipient_id": "", "recipient_user_id": "PE.1502576394655843"}}}}}}}})
	if code := app.Webhook(ch, st); code != http.StatusOK {
		t.Fatal(code)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE wamid = 'wamid.OUTU1' AND status = 'delivered'"); n != 1 {
		t.Error("status to a username-only customer not applied")
	}
	// Later the phone is revealed alongside the user id: same contact, same conversation.
	later := testutil.InboundMessages(ch,
		[]map[string]any{{"profile": map[string]any{"name": "Valeria Ríos", "username": "vale.rios"}, "wa_id": "51987000111", "user_id": "PE.1502576394655843"}},
		map[string]any{"from": "51987000111", "from_user_id": "PE.1502576394655843", "id": "wamid.U2", "timestamp": fmt.Sprint(now.Unix() + 60),
			"type": "text", "text": map[string]any{"body": "La M"}})
	if code := app.Webhook(ch, later); code != http.StatusOK {
		t.Fatal(code)
	}
	if n := count(t, app, "SELECT count(*) FROM contacts"); n != 1 {
		t.Errorf("contacts = %d, want 1 (the phone attached to the same contact)", n)
	}
	var k models.Contact
	testutil.Must(t, app.DB.Gorm.First(&k).Error)
	if k.WaID != "51987000111" || k.Phone != "+51987000111" || k.UserID != "PE.1502576394655843" || k.ProfileName != "Valeria Ríos" {
		t.Errorf("contact = %+v", k)
	}
	if n := count(t, app, "SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'in'", conv); n != 2 {
		t.Errorf("messages in the conversation = %d, want 2", n)
	}
}

func TestEverythingACustomerSendsIsReadable(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Ventas")
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	api := app.API(admin)
	ts := time.Now().Unix() - 600
	msg := func(id, typ string, part map[string]any) map[string]any {
		ts++
		m := map[string]any{"from": "51911111111", "id": id, "timestamp": fmt.Sprint(ts), "type": typ}
		for k, v := range part {
			m[k] = v
		}
		return m
	}
	contacts := []map[string]any{{"wa_id": "51911111111", "profile": map[string]any{"name": "Rosa"}}}
	send := func(ms ...map[string]any) {
		t.Helper()
		if code := app.Webhook(ch, testutil.InboundMessages(ch, contacts, ms...)); code != http.StatusOK {
			t.Fatal(code)
		}
	}
	send(
		msg("wamid.T1", "text", map[string]any{"text": map[string]any{"body": "Quiero 2 polos"}}),
		msg("wamid.O1", "order", map[string]any{"order": map[string]any{"catalog_id": "cat1", "text": "Para el viernes, por favor",
			"product_items": []any{
				map[string]any{"product_retailer_id": "POLO-M-AZUL", "quantity": 2, "item_price": 35.5, "currency": "PEN"},
				map[string]any{"product_retailer_id": "GORRA-01", "quantity": 1, "item_price": 20, "currency": "PEN"}}}}),
		msg("wamid.L1", "location", map[string]any{"location": map[string]any{"latitude": -12.0464, "longitude": -77.0428}}),
		msg("wamid.I1", "interactive", map[string]any{"errors": []any{map[string]any{"code": 131000, "title": "Something went wrong"}}}),
		msg("wamid.R1", "reaction", map[string]any{"reaction": map[string]any{"message_id": "wamid.T1", "emoji": "❤️"}}),
		msg("wamid.E1", "edit", map[string]any{"edit": map[string]any{"original_message_id": "wamid.T1",
			"message": map[string]any{"type": "text", "text": map[string]any{"body": "Quiero 3 polos"}}}}),
	)
	conv := convOf(t, app, "k.wa_id = ?", "51911111111")
	byID := map[string]apiMsg{}
	for _, m := range messagesOf(t, api, conv) {
		byID[m.Kind+":"+m.Body] = m
		byID[m.Kind] = m
	}
	text := byID["text"]
	if text.Body != "Quiero 3 polos" || text.Edited == nil || len(text.Edited.Previous) != 1 || text.Edited.Previous[0] != "Quiero 2 polos" {
		t.Errorf("edited text = %+v", text)
	}
	if len(text.Reactions) != 1 || text.Reactions[0].Emoji != "❤️" || text.Reactions[0].From != "contact" || text.Reactions[0].At == "" {
		t.Errorf("reactions = %+v", text.Reactions)
	}
	o := byID["order"].Order
	if o == nil || o.Note != "Para el viernes, por favor" || len(o.Items) != 2 || o.Items[0].ProductID != "POLO-M-AZUL" ||
		o.Items[0].Quantity != 2 || o.Items[0].Price != 35.5 || o.Total != 91 || o.Currency != "PEN" {
		t.Errorf("order = %+v", o)
	}
	if byID["order"].Body != "Para el viernes, por favor" {
		t.Errorf("order note not in the body: %q", byID["order"].Body)
	}
	l := byID["location"]
	if l.Location == nil || l.Location.Latitude != -12.0464 || l.Location.Longitude != -77.0428 || !strings.Contains(l.Body, "-12.0464") {
		t.Errorf("location = %+v", l)
	}
	if i := byID["interactive"]; i.Body != ingest.MissingInteractive {
		t.Errorf("interactive without content = %q", i.Body)
	}
	// The page says the same.
	page := app.LoginAs(admin).Get(fmt.Sprintf("/conversations/%d", conv))
	for _, want := range []string{"El cliente respondió un mensaje interactivo que WhatsApp no nos entregó", "POLO-M-AZUL", "Para el viernes",
		"-12.04640, -77.04280", "Quiero 3 polos", "Antes: Quiero 2 polos"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("conversation page lacks %q", want)
		}
	}
	if strings.Contains(page.Body, "Tocó el botón") {
		t.Error("an undelivered interactive reply still reads «Tocó el botón»")
	}
	// The edit retried, and the reaction withdrawn.
	send(msg("wamid.E1", "edit", map[string]any{"edit": map[string]any{"original_message_id": "wamid.T1",
		"message": map[string]any{"type": "text", "text": map[string]any{"body": "Quiero 3 polos"}}}}),
		msg("wamid.R2", "reaction", map[string]any{"reaction": map[string]any{"message_id": "wamid.T1", "emoji": ""}}))
	for _, m := range messagesOf(t, api, conv) {
		if m.Kind == "text" && (len(m.Reactions) != 0 || len(m.Edited.Previous) != 1) {
			t.Errorf("after removal and a retried edit: %+v", m)
		}
	}
}

func TestCustomerChangedNumber(t *testing.T) {
	for _, field := range []string{"wa_id", "new_wa_id"} { // current payloads, older ones
		t.Run(field, func(t *testing.T) {
			app := testutil.NewApp(t)
			ws := app.Workspace("Acme")
			ch := app.Channel(ws, "Ventas")
			admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
			conv := app.Inbound(ch, "51911111111", "Rosa", "Hola")
			body := testutil.InboundMessages(ch, nil, map[string]any{"from": "51911111111", "id": "wamid.SYS1", "timestamp": fmt.Sprint(time.Now().Unix()),
				"type": "system", "system": map[string]any{"body": "User Rosa changed from 51911111111 to 51922222222", field: "51922222222", "type": "user_changed_number"}})
			if code := app.Webhook(ch, body); code != http.StatusOK {
				t.Fatal(code)
			}
			var k models.Contact
			testutil.Must(t, app.DB.Gorm.First(&k).Error)
			if k.WaID != "51922222222" || k.Phone != "+51922222222" {
				t.Fatalf("contact = %+v", k)
			}
			ms := messagesOf(t, app.API(admin), conv.ID)
			last := ms[len(ms)-1]
			if last.Kind != "system" || !strings.Contains(last.Body, "cambió su número") || !strings.Contains(last.Body, "+51 922 222 222") {
				t.Errorf("history says %q", last.Body)
			}
			c := app.LoginAs(admin)
			page := c.Get(fmt.Sprintf("/conversations/%d", conv.ID))
			if !strings.Contains(page.Body, "cambió su número de WhatsApp de +51 911 111 111 a +51 922 222 222") {
				t.Error("the page does not say the number changed")
			}
			// The next reply goes to the new number.
			if r := app.API(admin).Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), `{"body":"Anotado"}`); r.StatusCode != http.StatusCreated {
				t.Fatalf("reply: %d %s", r.StatusCode, r.Body)
			}
			var ob models.Outbox
			testutil.Must(t, app.DB.Gorm.Where("kind = 'message'").First(&ob).Error)
			var payload struct{ To string }
			testutil.Must(t, json.Unmarshal(ob.Payload, &payload))
			if ob.Recipient != "51922222222" || payload.To != "+51922222222" {
				t.Errorf("reply went to %q: %s", ob.Recipient, ob.Payload)
			}
		})
	}
}
