package fakemeta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atiende/atiende/app/whatsapp"
)

// The status webhook as Meta sends it; field order follows Meta's payloads.
type statusWebhook struct {
	Object string        `json:"object"`
	Entry  []statusEntry `json:"entry"`
}

type statusEntry struct {
	ID      string         `json:"id"`
	Changes []statusChange `json:"changes"`
}

type statusChange struct {
	Value statusValue `json:"value"`
	Field string      `json:"field"`
}

type statusValue struct {
	MessagingProduct string         `json:"messaging_product"`
	Metadata         statusMetadata `json:"metadata"`
	Statuses         []statusItem   `json:"statuses"`
}

type statusMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type statusItem struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
	// RecipientUserID is set, and RecipientID empty, for a customer known only by a username.
	RecipientUserID string              `json:"recipient_user_id,omitempty"`
	Conversation    *statusConversation `json:"conversation,omitempty"`
	Pricing         *statusPricing      `json:"pricing,omitempty"`
	Errors          []statusError       `json:"errors,omitempty"`
}

type statusConversation struct {
	ID                  string `json:"id"`
	ExpirationTimestamp string `json:"expiration_timestamp,omitempty"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

type statusPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type"`
	Category     string `json:"category"`
}

type statusError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	Href string `json:"href"`
}

// postStatuses posts, in the background, the status webhooks that follow an accepted
// send: sent, delivered, read, or a single failed one when failCode is set.
func (f *Fake) postStatuses(msg SentMessage, failCode int) {
	f.mu.Lock()
	off, delay := f.statusesOff, f.statusDelay
	conv := f.conversations[msg.To]
	if conv == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		conv = hex.EncodeToString(b)
		f.conversations[msg.To] = conv
	}
	f.mu.Unlock()
	if off || f.cfg.Targets == nil {
		return
	}
	steps := []string{"sent", "delivered", "read"}
	if failCode != 0 {
		steps = []string{"failed"}
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for _, st := range steps {
			select {
			case <-f.ctx.Done():
				return
			case <-time.After(delay):
			}
			f.postStatus(msg, st, conv, failCode, delay)
		}
	}()
}

func (f *Fake) postStatus(msg SentMessage, status, conv string, failCode int, pause time.Duration) {
	url, secret, ok := f.cfg.Targets(msg.PhoneNumberID)
	if !ok {
		return
	}
	body := f.statusBody(msg, status, conv, failCode)
	d := WebhookDelivery{PhoneNumberID: msg.PhoneNumberID, Wamid: msg.Wamid, Status: status}
	// Meta retries failed deliveries; the fake tries three times.
	for attempt := 1; ; attempt++ {
		d.HTTPStatus, d.Err = f.post(url, secret, body)
		if d.HTTPStatus == http.StatusOK || attempt == 3 || f.ctx.Err() != nil {
			break
		}
		select {
		case <-f.ctx.Done():
		case <-time.After(pause * time.Duration(attempt)):
		}
	}
	d.At = time.Now()
	if d.HTTPStatus != http.StatusOK {
		f.cfg.Logger.Warn("fake-meta: status webhook not accepted", "url", url, "status", status, "http_status", d.HTTPStatus, "err", d.Err)
	}
	f.mu.Lock()
	f.webhooks = append(f.webhooks, d)
	f.mu.Unlock()
}

func (f *Fake) post(url, secret string, body []byte) (int, string) {
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(secret), body))
	res, err := f.cfg.Client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, ""
}

// statusBody builds one status webhook shaped like fixtures/whatsapp/status_sent.json.
func (f *Fake) statusBody(msg SentMessage, status, conv string, failCode int) []byte {
	waba, display := DefaultWabaID, "15550000000"
	if f.cfg.Numbers != nil {
		if w, d := f.cfg.Numbers(msg.PhoneNumberID); w != "" || d != "" {
			waba, display = orDefault(w, waba), orDefault(digits(d), display)
		}
	}
	now := time.Now()
	item := statusItem{ID: msg.Wamid, Status: status, Timestamp: strconv.FormatInt(now.Unix(), 10), RecipientID: msg.To}
	if whatsapp.IsUserID(msg.To) {
		item.RecipientID, item.RecipientUserID = "", msg.To
	}
	switch status {
	case "sent", "delivered":
		c := &statusConversation{ID: conv, ExpirationTimestamp: strconv.FormatInt(msg.At.Add(24*time.Hour).Unix(), 10)}
		p := &statusPricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
		c.Origin.Type = "service"
		if msg.Type == "template" {
			c.Origin.Type, p.Billable, p.Type, p.Category = "utility", true, "regular", "utility"
		}
		item.Conversation, item.Pricing = c, p
	case "failed":
		e := statusError{Code: failCode, Title: orDefault(titles[failCode], "Error"),
			Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
		e.Message = e.Title
		e.ErrorData.Details = fmt.Sprintf("Message failed to send (code %d).", failCode)
		item.Errors = []statusError{e}
	}
	w := statusWebhook{Object: "whatsapp_business_account", Entry: []statusEntry{{ID: waba, Changes: []statusChange{{
		Field: "messages",
		Value: statusValue{MessagingProduct: "whatsapp", Metadata: statusMetadata{DisplayPhoneNumber: display, PhoneNumberID: msg.PhoneNumberID},
			Statuses: []statusItem{item}},
	}}}}}
	b, _ := json.Marshal(w)
	return b
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
