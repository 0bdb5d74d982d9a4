package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// MaxWebhookBody is the largest webhook accepted (Meta sends up to 3 MB).
const MaxWebhookBody = 4 << 20

// channelCache keeps decrypted channel credentials for a short while, so the webhook
// hot path does not query and decrypt on every POST.
type channelCache struct {
	mu      sync.Mutex
	entries map[string]cachedChannel
}

type cachedChannel struct {
	ch      models.Channel
	creds   channels.Credentials
	expires time.Time
}

const channelCacheTTL = 30 * time.Second

func (s *Server) webhookChannel(ctx context.Context, key string) (models.Channel, channels.Credentials, error) {
	now := time.Now()
	s.chCache.mu.Lock()
	e, ok := s.chCache.entries[key]
	s.chCache.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.ch, e.creds, nil
	}
	ch, err := s.Channels.ByWebhookKey(ctx, key)
	if err != nil {
		return ch, channels.Credentials{}, err
	}
	creds, err := s.Channels.Credentials(ch)
	if err != nil {
		return ch, creds, err
	}
	s.chCache.mu.Lock()
	if s.chCache.entries == nil {
		s.chCache.entries = map[string]cachedChannel{}
	}
	s.chCache.entries[key] = cachedChannel{ch: ch, creds: creds, expires: now.Add(channelCacheTTL)}
	s.chCache.mu.Unlock()
	return ch, creds, nil
}

// forgetWebhookChannel drops the webhook handler's cached credentials for key, so a new
// verify token or app secret applies at once in this process (others within channelCacheTTL).
func (s *Server) forgetWebhookChannel(key string) {
	s.chCache.mu.Lock()
	delete(s.chCache.entries, key)
	s.chCache.mu.Unlock()
}

// webhookVerify answers Meta's subscription handshake: the raw challenge as plain
// text when the verify token matches, 403 otherwise.
func (s *Server) webhookVerify(c echo.Context) error {
	_, creds, err := s.webhookChannel(c.Request().Context(), c.Param("key"))
	if err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return c.String(http.StatusNotFound, "unknown webhook")
		}
		return err
	}
	q := c.Request().URL.Query()
	token := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || creds.VerifyToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(creds.VerifyToken)) != 1 {
		return c.String(http.StatusForbidden, "verification failed")
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(q.Get("hub.challenge")))
}

// webhookReceive verifies the signature over the raw bytes, then stores everything
// in the batch; it answers 200 only once that is committed.
func (s *Server) webhookReceive(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return c.String(http.StatusBadRequest, "cannot read body")
	}
	if len(body) > MaxWebhookBody {
		return c.String(http.StatusRequestEntityTooLarge, "body too large")
	}
	ch, creds, err := s.webhookChannel(r.Context(), c.Param("key"))
	if err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return c.String(http.StatusNotFound, "unknown webhook")
		}
		return err
	}
	if !whatsapp.VerifySignature([]byte(creds.AppSecret), body, r.Header.Get("X-Hub-Signature-256")) {
		s.Logger.Warn("webhook signature mismatch", "channel", ch.ID, "ip", c.RealIP())
		return c.String(http.StatusUnauthorized, "invalid signature")
	}
	if _, err := s.Ingest.Apply(r.Context(), ch, body); err != nil {
		if errors.Is(err, whatsapp.ErrBadPayload) {
			return c.String(http.StatusBadRequest, "unparseable payload")
		}
		return err
	}
	return c.NoContent(http.StatusOK)
}
