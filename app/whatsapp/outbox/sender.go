package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/metrics"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/models"
)

// Defaults of the Sender's tunables.
const (
	DefaultConcurrency  = 8
	DefaultPoll         = time.Second
	DefaultSendTimeout  = 30 * time.Second
	DefaultMaxAttempts  = 10
	DefaultReadAttempts = 3
)

// Sender claims due outbox rows and sends them. Run any number of Senders, in any
// number of processes, on one database: each row is sent by one of them, at most once;
// one recipient never has two sends in flight, and gets them in the order enqueued.
type Sender struct {
	DB       *gorm.DB
	Pool     *pgxpool.Pool // optional: LISTENs for enqueues; without it the sender only polls
	Graph    *whatsapp.Client
	Channels *channels.Service
	Logger   *slog.Logger
	Metrics  *metrics.Metrics // optional

	Concurrency  int           // sends in flight at once (DefaultConcurrency)
	Poll         time.Duration // how often to look for due rows without a notification (DefaultPoll)
	SendTimeout  time.Duration // per Graph call; past it the send is ambiguous (DefaultSendTimeout)
	MaxAttempts  int           // a message that keeps failing temporarily fails after this many (DefaultMaxAttempts)
	ReadAttempts int           // a mark-as-read is dropped after this many (DefaultReadAttempts)
	// Backoff is the wait after the n-th failed attempt of a temporary error (default:
	// exponential from ~1 s, capped at 10 min, jittered). Long backoffs (app and spam
	// rate limits) are 15 times longer, capped at an hour.
	Backoff func(attempt int) time.Duration
	// PairBackoff is the wait after the n-th pair rate limit hit (131056); default 4^n s.
	PairBackoff func(n int) time.Duration

	credMu sync.Mutex
	creds  map[int64]cachedCreds
}

type cachedCreds struct {
	c  channels.Credentials
	at time.Time
}

// credentialsTTL bounds how long a rotated token keeps being used.
const credentialsTTL = 30 * time.Second

// DefaultBackoff doubles from about a second up to ten minutes, with jitter so that
// many rows failing together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := min(time.Second<<min(max(attempt-1, 0), 20), 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// DefaultPairBackoff is 4^n seconds (Meta's advice for 131056), capped at about 17 min.
func DefaultPairBackoff(n int) time.Duration {
	return time.Duration(math.Pow(4, float64(min(max(n, 1), 5)))) * time.Second
}

func (s *Sender) defaults() {
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.Poll <= 0 {
		s.Poll = DefaultPoll
	}
	if s.SendTimeout <= 0 {
		s.SendTimeout = DefaultSendTimeout
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.ReadAttempts <= 0 {
		s.ReadAttempts = DefaultReadAttempts
	}
	if s.Backoff == nil {
		s.Backoff = DefaultBackoff
	}
	if s.PairBackoff == nil {
		s.PairBackoff = DefaultPairBackoff
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run sends until ctx ends, then waits for the sends in flight to finish (each bounded
// by SendTimeout) so that none is left half-recorded.
func (s *Sender) Run(ctx context.Context) {
	s.defaults()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var wg sync.WaitGroup
	if s.Pool != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.listen(ctx, poke) }()
	}
	slots := make(chan struct{}, s.Concurrency)
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	for ctx.Err() == nil {
		if free := s.Concurrency - len(slots); free > 0 {
			rows, err := s.claim(ctx, free)
			if err != nil {
				s.Logger.Warn("outbox: cannot claim rows", "err", err)
			}
			for _, row := range rows {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-slots; poke() }() // the recipient's next row may be due now
					s.process(row)
				}()
			}
			if len(rows) == free {
				continue // there may be more; the loop waits only when every slot is taken
			}
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-tick.C:
		}
	}
	wg.Wait()
}

// listen wakes the loop on every NOTIFY from an enqueue, on a dedicated connection.
func (s *Sender) listen(ctx context.Context, poke func()) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
				return err
			}
			poke() // rows enqueued while we were not listening
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				poke()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		s.Logger.Warn("outbox: LISTEN connection lost; polling until it is back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// claimSQL takes up to $1 due rows and marks them sending in one statement. A message
// row is due only when its recipient has no send in flight and no earlier message
// waiting: that keeps one send per recipient and the recipient's order. SKIP LOCKED
// lets concurrent senders take different rows instead of queueing on the same ones.
const claimSQL = `
WITH due AS (
	SELECT o.id FROM outbox o
	WHERE o.state = 'pending' AND o.next_attempt_at <= now()
	  AND (o.kind = 'read' OR NOT EXISTS (
		SELECT 1 FROM outbox p
		WHERE p.channel_id = o.channel_id AND p.recipient = o.recipient AND p.kind = 'message'
		  AND (p.state = 'sending' OR (p.state = 'pending' AND p.id < o.id))))
	ORDER BY o.id
	LIMIT ?
	FOR UPDATE SKIP LOCKED
)
UPDATE outbox SET state = 'sending', attempts = outbox.attempts + 1, updated_at = now()
FROM due WHERE outbox.id = due.id AND outbox.state = 'pending'
RETURNING outbox.*`

func (s *Sender) claim(ctx context.Context, n int) ([]models.Outbox, error) {
	// Not cancelled with ctx: a claim that committed must reach the caller, or its rows
	// would sit in "sending" until the stuck-row job gives up on them.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var rows []models.Outbox
	err := s.DB.WithContext(cctx).Raw(claimSQL, n).Scan(&rows).Error
	return rows, err
}

// process sends one claimed row and records the outcome.
func (s *Sender) process(row models.Outbox) {
	ctx, cancel := context.WithTimeout(context.Background(), s.SendTimeout)
	defer cancel()
	log := s.Logger.With("outbox_id", row.ID, "channel_id", row.ChannelID, "kind", row.Kind, "attempt", row.Attempts)
	if row.MessageID != nil {
		log = log.With("message_id", *row.MessageID)
	}
	creds, err := s.credentials(ctx, row.ChannelID)
	if err != nil {
		s.settleCredentialsError(row, log, err)
		return
	}
	if row.Kind == KindRead {
		var body struct {
			MessageID string `json:"message_id"`
		}
		_ = json.Unmarshal(row.Payload, &body)
		err := s.Graph.MarkRead(ctx, creds.PhoneNumberID, creds.AccessToken, body.MessageID)
		s.settleRead(row, log, err)
		return
	}
	payload := []byte(row.Payload)
	if row.MediaRowID != nil {
		// An attachment: upload its file first (media.go).
		if payload, err = s.withMedia(ctx, row, creds); err != nil {
			s.settleError(row, log, err)
			return
		}
	}
	wamid, err := s.Graph.Send(ctx, creds.PhoneNumberID, creds.AccessToken, payload)
	if err == nil {
		s.settleSent(row, log, wamid)
		return
	}
	s.settleError(row, log, err)
}

func (s *Sender) credentials(ctx context.Context, channelID int64) (channels.Credentials, error) {
	s.credMu.Lock()
	c, ok := s.creds[channelID]
	s.credMu.Unlock()
	if ok && time.Since(c.at) < credentialsTTL {
		return c.c, nil
	}
	cr, err := s.Channels.CredentialsByID(ctx, channelID)
	if err != nil {
		return cr, err
	}
	s.credMu.Lock()
	if s.creds == nil {
		s.creds = map[int64]cachedCreds{}
	}
	s.creds[channelID] = cachedCreds{c: cr, at: time.Now()}
	s.credMu.Unlock()
	return cr, nil
}

func (s *Sender) forgetCredentials(channelID int64) {
	s.credMu.Lock()
	delete(s.creds, channelID)
	s.credMu.Unlock()
}

func (s *Sender) count(result string) {
	if s.Metrics != nil {
		s.Metrics.OutboxSends.WithLabelValues(result).Inc()
	}
}

// dbCtx bounds the bookkeeping after a send; it is independent of the send's context,
// which may have expired.
func dbCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 15*time.Second)
}

// settled is the WHERE clause every outcome update carries: the stuck-row job may have
// turned a slow send ambiguous meanwhile, and what Meta answered is still the truth.
const settled = "id = ? AND state IN ('sending','ambiguous')"

// settleSent stores the wamid on the message and applies any status that arrived
// before it (status webhooks can beat the Graph answer).
func (s *Sender) settleSent(row models.Outbox, log *slog.Logger, wamid string) {
	ctx, cancel := dbCtx()
	defer cancel()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := LockWamid(tx, row.ChannelID, wamid); err != nil {
			return err
		}
		note := ""
		if row.MessageID != nil {
			err := tx.Model(&models.Message{}).Where("id = ?", *row.MessageID).Update("wamid", wamid).Error
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				// Another message holds this wamid (adopted by mistake): keep that one, say so.
				note = "wamid already on another message"
				log.Error("outbox: the wamid Meta returned is already on another message", "wamid", wamid)
			} else if err != nil {
				return err
			} else if err := applyRecordedStatus(tx, *row.MessageID, row.ChannelID, wamid); err != nil {
				return err
			}
		}
		return tx.Model(&models.Outbox{}).Where(settled, row.ID).
			Updates(map[string]any{"state": StateSent, "last_code": nil, "last_error": note, "updated_at": gorm.Expr("now()")}).Error
	})
	if err != nil {
		// The row stays "sending"; the stuck-row job makes it ambiguous and the status
		// webhooks adopt it. Never re-sent.
		log.Error("outbox: sent, but could not record it", "wamid", wamid, "err", err)
		return
	}
	s.count("sent")
	log.Debug("outbox: sent", "wamid", wamid)
}

func (s *Sender) settleError(row models.Outbox, log *slog.Logger, err error) {
	if errors.Is(err, whatsapp.ErrAmbiguous) {
		s.markAmbiguous(row, log, err)
		return
	}
	var ge *whatsapp.GraphError
	if !errors.As(err, &ge) {
		// Nothing reached Meta (refused connection, DNS): safe to retry.
		s.retry(row, log, 0, "Sin conexión con WhatsApp", err.Error(), s.Backoff(row.Attempts),
			"No se pudo conectar con WhatsApp después de varios intentos. Vuelve a intentarlo en unos minutos.")
		return
	}
	if ge.Code == 0 && (ge.HTTPStatus == http.StatusBadGateway || ge.HTTPStatus == http.StatusGatewayTimeout) {
		// A gateway error without Meta's answer: Meta's side may have taken the message.
		s.markAmbiguous(row, log, err)
		return
	}
	reason := whatsapp.ErrorReasonES(ge.Code, "")
	title, lastErr := ge.Message, ge.Error()
	if title == "" {
		title = fmt.Sprintf("HTTP %d", ge.HTTPStatus)
	}
	switch ge.Class() {
	case whatsapp.Retry:
		s.retry(row, log, ge.Code, title, lastErr, s.Backoff(row.Attempts), giveUpReason(reason, row.Attempts))
	case whatsapp.RetryLong:
		s.retry(row, log, ge.Code, title, lastErr, min(15*s.Backoff(row.Attempts), time.Hour), giveUpReason(reason, row.Attempts))
	case whatsapp.PairLimit:
		s.pairLimited(row, log, ge, giveUpReason(reason, row.Attempts))
	case whatsapp.AdminAlert:
		s.forgetCredentials(row.ChannelID)
		// Logged for the admin: Meta's code and trace id, never the token or the body.
		log.Error("outbox: WhatsApp refused the channel's token or account; an admin must act",
			"code", ge.Code, "http_status", ge.HTTPStatus, "meta_message", ge.Message, "fbtrace_id", ge.FBTraceID)
		s.fail(row, log, ge.Code, title, reason, lastErr)
	default:
		s.fail(row, log, ge.Code, title, whatsapp.ErrorReasonES(ge.Code, ge.Details), lastErr)
	}
}

func giveUpReason(reason string, attempts int) string {
	return fmt.Sprintf("%s No se pudo enviar tras %d intentos: vuelve a intentarlo más tarde.", reason, attempts)
}

// retry puts the row back to pending after wait, or fails it for good once it has
// used its attempts.
func (s *Sender) retry(row models.Outbox, log *slog.Logger, code int, title, lastErr string, wait time.Duration, giveUp string) {
	if row.Attempts >= s.MaxAttempts {
		s.fail(row, log, code, title, giveUp, lastErr)
		return
	}
	s.reschedule(row, log, code, lastErr, wait)
}

func (s *Sender) reschedule(row models.Outbox, log *slog.Logger, code int, lastErr string, wait time.Duration) {
	ctx, cancel := dbCtx()
	defer cancel()
	err := s.DB.WithContext(ctx).Model(&models.Outbox{}).Where(settled, row.ID).Updates(map[string]any{
		"state": StatePending, "last_code": nullCode(code), "last_error": lastErr, "updated_at": gorm.Expr("now()"),
		"next_attempt_at": gorm.Expr("now() + make_interval(secs => ?)", wait.Seconds()),
	}).Error
	if err != nil {
		log.Error("outbox: could not reschedule", "err", err)
		return
	}
	s.count("retry")
	log.Warn("outbox: temporary failure; will retry", "code", code, "in", wait.Round(time.Millisecond), "err", lastErr)
}

// pairLimited holds back this recipient's messages: the whole pair is rate limited, not
// just this row.
func (s *Sender) pairLimited(row models.Outbox, log *slog.Logger, ge *whatsapp.GraphError, giveUp string) {
	if row.Attempts >= s.MaxAttempts {
		s.fail(row, log, ge.Code, ge.Message, giveUp, ge.Error())
		return
	}
	wait := s.PairBackoff(row.Attempts)
	s.reschedule(row, log, ge.Code, ge.Error(), wait)
	ctx, cancel := dbCtx()
	defer cancel()
	err := s.DB.WithContext(ctx).Model(&models.Outbox{}).
		Where("channel_id = ? AND recipient = ? AND kind = ? AND state = ? AND id <> ?", row.ChannelID, row.Recipient, KindMessage, StatePending, row.ID).
		Update("next_attempt_at", gorm.Expr("greatest(next_attempt_at, now() + make_interval(secs => ?))", wait.Seconds())).Error
	if err != nil {
		log.Warn("outbox: could not hold back the recipient's other messages", "err", err)
	}
}

// fail ends the row and marks its message failed with Meta's code and a reason for agents.
func (s *Sender) fail(row models.Outbox, log *slog.Logger, code int, title, reason, lastErr string) {
	ctx, cancel := dbCtx()
	defer cancel()
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Outbox{}).Where(settled, row.ID).Updates(map[string]any{
			"state": StateFailed, "last_code": nullCode(code), "last_error": lastErr, "updated_at": gorm.Expr("now()")})
		if res.Error != nil || res.RowsAffected == 0 || row.MessageID == nil {
			return res.Error
		}
		return tx.Model(&models.Message{}).Where("id = ? AND status <> ?", *row.MessageID, models.DeliveryFailed).
			Updates(map[string]any{"status": models.DeliveryFailed, "error_code": nullCode(code), "error_title": title,
				"error_detail": reason, "status_at": gorm.Expr("now()")}).Error
	})
	if err != nil {
		log.Error("outbox: could not record the failure", "err", err)
		return
	}
	s.count("failed")
	log.Warn("outbox: message failed", "code", code, "err", lastErr)
}

// markAmbiguous parks a send whose answer never came. It is not retried: Meta may have
// delivered it. AdoptStatus or ExpireAmbiguous settle it.
func (s *Sender) markAmbiguous(row models.Outbox, log *slog.Logger, cause error) {
	ctx, cancel := dbCtx()
	defer cancel()
	err := s.DB.WithContext(ctx).Model(&models.Outbox{}).Where("id = ? AND state = ?", row.ID, StateSending).
		Updates(map[string]any{"state": StateAmbiguous, "last_error": cause.Error(), "updated_at": gorm.Expr("now()")}).Error
	if err != nil {
		log.Error("outbox: could not mark the send ambiguous", "err", err)
		return
	}
	s.count("ambiguous")
	log.Warn("outbox: no answer from Meta; waiting for a status webhook instead of re-sending", "err", cause)
}

// settleRead records a mark-as-read. Re-sending one is harmless, so even ambiguous
// failures retry; after ReadAttempts it is dropped.
func (s *Sender) settleRead(row models.Outbox, log *slog.Logger, err error) {
	ctx, cancel := dbCtx()
	defer cancel()
	if err == nil {
		if err := s.DB.WithContext(ctx).Model(&models.Outbox{}).Where(settled, row.ID).
			Updates(map[string]any{"state": StateSent, "last_error": "", "updated_at": gorm.Expr("now()")}).Error; err != nil {
			log.Error("outbox: could not record the read receipt", "err", err)
		}
		s.count("read")
		return
	}
	code := 0
	var ge *whatsapp.GraphError
	if errors.As(err, &ge) {
		code = ge.Code
	}
	final := row.Attempts >= s.ReadAttempts || (ge != nil && (ge.Class() == whatsapp.Terminal || ge.Class() == whatsapp.AdminAlert))
	up := map[string]any{"last_code": nullCode(code), "last_error": err.Error(), "updated_at": gorm.Expr("now()")}
	if final {
		up["state"] = StateFailed
	} else {
		up["state"] = StatePending
		up["next_attempt_at"] = gorm.Expr("now() + make_interval(secs => ?)", s.Backoff(row.Attempts).Seconds())
	}
	if err := s.DB.WithContext(ctx).Model(&models.Outbox{}).Where(settled, row.ID).Updates(up).Error; err != nil {
		log.Error("outbox: could not record the read receipt failure", "err", err)
	}
	if final {
		s.count("read_dropped")
		log.Info("outbox: read receipt dropped", "err", err)
	}
}

// settleCredentialsError handles a channel whose secrets cannot be read: a database
// hiccup is retried, an undecryptable secret (ATIENDE_SECRET_KEY changed) fails the row.
func (s *Sender) settleCredentialsError(row models.Outbox, log *slog.Logger, err error) {
	if errors.Is(err, secrets.ErrUndecryptable) || errors.Is(err, apperr.ErrNotFound) {
		log.Error("outbox: the channel's credentials cannot be read; an admin must re-enter them", "err", err)
		s.fail(row, log, 0, "Credenciales del canal ilegibles",
			"No se pudieron leer las credenciales del canal: un administrador debe volver a ingresarlas.", err.Error())
		return
	}
	if row.Kind == KindRead {
		s.settleRead(row, log, err)
		return
	}
	s.retry(row, log, 0, "No se pudo preparar el envío", err.Error(), s.Backoff(row.Attempts),
		"No se pudo preparar el envío después de varios intentos. Vuelve a intentarlo en unos minutos.")
}

func nullCode(code int) any {
	if code == 0 {
		return nil
	}
	return code
}
