package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// AppSecret is the Meta app secret of every channel the harness creates.
const AppSecret = "test-app-secret"

// VerifyToken is the webhook verify token of every channel the harness creates.
const VerifyToken = "test-verify-token"

var phoneSeq atomic.Int64

// Channel connects a WhatsApp number to the workspace.
func (a *App) Channel(ws models.Workspace, name string) models.Channel {
	a.T.Helper()
	n := phoneSeq.Add(1)
	ch, err := a.Server.Channels.Create(context.Background(), ws.ID, channels.Input{
		Name: name, PhoneNumberID: fmt.Sprintf("1065403522%05d", n), DisplayPhone: fmt.Sprintf("+51 1 555 %04d", n),
		WabaID: "102290129340398", AccessToken: "test-access-token", AppSecret: AppSecret, VerifyToken: VerifyToken})
	if err != nil {
		a.T.Fatal(err)
	}
	return ch
}

// Webhook posts body signed with AppSecret to the channel's webhook and returns the status code.
func (a *App) Webhook(ch models.Channel, body []byte) int {
	a.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.URL+ch.WebhookPath(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(AppSecret), body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.T.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// InboundText builds a webhook body with one text message from waID.
func InboundText(ch models.Channel, waID, name, wamid, text string, at time.Time) []byte {
	msg := map[string]any{"from": waID, "id": wamid, "timestamp": strconv.FormatInt(at.Unix(), 10), "type": "text", "text": map[string]any{"body": text}}
	return InboundMessages(ch, []map[string]any{{"profile": map[string]any{"name": name}, "wa_id": waID}}, msg)
}

// InboundMessages builds a webhook body with the given contacts and raw messages.
func InboundMessages(ch models.Channel, contacts []map[string]any, messages ...map[string]any) []byte {
	body := map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": ch.WabaID, "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": ch.DisplayPhone, "phone_number_id": ch.PhoneNumberID},
			"contacts":          contacts,
			"messages":          messages,
		}}}}}}
	b, _ := json.Marshal(body)
	return b
}

var wamidSeq atomic.Int64

// Inbound makes the customer waID write text now, through a signed webhook, and
// returns the conversation it landed in.
func (a *App) Inbound(ch models.Channel, waID, name, text string) models.Conversation {
	a.T.Helper()
	wamid := fmt.Sprintf("wamid.TEST%d.%d", time.Now().UnixNano(), wamidSeq.Add(1))
	if code := a.Webhook(ch, InboundText(ch, waID, name, wamid, text, time.Now())); code != http.StatusOK {
		a.T.Fatalf("webhook answered %d", code)
	}
	var c models.Conversation
	if err := a.DB.Gorm.Raw(`SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id
		WHERE c.channel_id = ? AND k.wa_id = ?`, ch.ID, waID).Scan(&c).Error; err != nil || c.ID == 0 {
		a.T.Fatalf("conversation for %s not found: %v", waID, err)
	}
	return c
}

// Conversation reloads a conversation.
func (a *App) Conversation(id int64) models.Conversation {
	a.T.Helper()
	var c models.Conversation
	if err := a.DB.Gorm.First(&c, id).Error; err != nil {
		a.T.Fatal(err)
	}
	return c
}
