package outbox_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/db"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

const (
	accessToken = "EAAG-channel-token-SECRET"
	// expiredPhoneID is a number whose stored token Meta no longer accepts.
	expiredPhoneID = "106540352242999"
)

// world is one database with a workspace and a channel, a fake Graph API in front of
// which tests may run a hook (between Meta's answer and its arrival), and helpers that
// write messages as the inbox does. Subtests of one world run one after the other and
// use their own customers.
type world struct {
	DB    *db.DB
	Fake  *fakemeta.Fake
	Graph *whatsapp.Client
	Chans *channels.Service
	WS    models.Workspace
	Ch    models.Channel
	Logs  *syncBuffer
	// beforeAnswer, when set, runs after the fake answered a send and before the sender
	// reads the answer.
	beforeAnswer atomic.Pointer[func()]

	mu    sync.Mutex
	convs map[string]models.Conversation
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	t.Parallel()
	d := testutil.NewDB(t)
	box, err := secrets.New(bytes.Repeat([]byte{7}, 32))
	testutil.Must(t, err)
	w := &world{DB: d, Chans: channels.New(d.Gorm, box, clock.Real{}), Logs: &syncBuffer{}, convs: map[string]models.Conversation{}}
	w.WS = models.Workspace{Name: "Comercial Andina", Timezone: "America/Lima"}
	testutil.Must(t, d.Gorm.Create(&w.WS).Error)
	w.Ch = w.channel(t, "Ventas Lima", "106540352242922")
	w.Fake = fakemeta.New(fakemeta.Config{TokenFor: func(id string) (string, bool) {
		if id == expiredPhoneID {
			return "a-newer-token", true
		}
		return accessToken, true
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		w.Fake.ServeHTTP(rec, r)
		if h := w.beforeAnswer.Load(); h != nil {
			(*h)()
		}
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() { srv.Close(); w.Fake.Close() })
	w.Graph = &whatsapp.Client{BaseURL: srv.URL + "/v25.0", HTTP: srv.Client()}
	return w
}

func (w *world) channel(t testing.TB, name, phoneID string) models.Channel {
	ch, err := w.Chans.Create(context.Background(), w.WS.ID, channels.Input{Name: name, PhoneNumberID: phoneID,
		AccessToken: accessToken, AppSecret: "app-secret", VerifyToken: "verify"})
	testutil.Must(t, err)
	return ch
}

// pairBackoff is the test senders' wait after a pair rate limit. It is long next to
// everything else a send does, so that "waited for the pair backoff" and "did not wait
// for it" stay apart however slowly a loaded CI machine runs the rest.
const pairBackoff = time.Second

// sender is a Sender with test-speed timings. SendTimeout is no test speed: a send
// that outlives it turns ambiguous and is never re-sent, which only the tests about
// timeouts want; the others must not depend on every send being quick under -race on
// a loaded machine.
func (w *world) sender() *outbox.Sender {
	return &outbox.Sender{DB: w.DB.Gorm, Pool: w.DB.Pool, Graph: w.Graph, Channels: w.Chans,
		Logger:      slog.New(slog.NewTextHandler(w.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Concurrency: 4, Poll: 50 * time.Millisecond, SendTimeout: 15 * time.Second, MaxAttempts: 5,
		Backoff:     func(int) time.Duration { return 20 * time.Millisecond },
		PairBackoff: func(int) time.Duration { return pairBackoff }}
}

// run starts s and returns a func that stops it and waits for it.
func (w *world) run(t testing.TB, s *outbox.Sender) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (w *world) conversation(t testing.TB, ch models.Channel, waID string) models.Conversation {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := fmt.Sprint(ch.ID, waID)
	if c, ok := w.convs[key]; ok {
		return c
	}
	var ct models.Contact
	err := w.DB.Gorm.Where(models.Contact{WorkspaceID: w.WS.ID, WaID: waID}).
		Attrs(models.Contact{Phone: "+" + waID, Custom: models.JSON("{}")}).FirstOrCreate(&ct).Error
	testutil.Must(t, err)
	c := models.Conversation{WorkspaceID: w.WS.ID, ChannelID: ch.ID, ContactID: ct.ID, Status: models.StatusNew}
	testutil.Must(t, w.DB.Gorm.Create(&c).Error)
	w.convs[key] = c
	return c
}

// send writes an outbound message and enqueues it in one transaction, as the inbox does.
func (w *world) send(t testing.TB, waID, text string) models.Message {
	t.Helper()
	return w.sendOn(t, w.Ch, waID, text)
}

func (w *world) sendOn(t testing.TB, ch models.Channel, waID, text string) models.Message {
	t.Helper()
	conv := w.conversation(t, ch, waID)
	m := models.Message{WorkspaceID: w.WS.ID, ConversationID: conv.ID, ChannelID: ch.ID, Direction: models.DirectionOut,
		Kind: models.KindText, Body: text, SenderType: models.SenderAgent, Status: models.DeliveryQueued, CreatedAt: time.Now()}
	err := w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		return outbox.EnqueueMessage(tx, m, waID, whatsapp.TextBody(waID, text, ""))
	})
	testutil.Must(t, err)
	return m
}

func (w *world) read(t testing.TB, waID, wamid string) {
	t.Helper()
	testutil.Must(t, w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		return outbox.EnqueueRead(tx, w.WS.ID, w.Ch.ID, waID, wamid)
	}))
}

func (w *world) message(t testing.TB, id int64) models.Message {
	t.Helper()
	var m models.Message
	testutil.Must(t, w.DB.Gorm.First(&m, id).Error)
	return m
}

func (w *world) row(t testing.TB, messageID int64) models.Outbox {
	t.Helper()
	var o models.Outbox
	testutil.Must(t, w.DB.Gorm.Where("message_id = ?", messageID).First(&o).Error)
	return o
}

// settled waits until no row is pending or sending.
func (w *world) settled(t testing.TB) {
	t.Helper()
	waitFor(t, "the outbox to settle", func() bool {
		var n int64
		testutil.Must(t, w.DB.Gorm.Model(&models.Outbox{}).Where("state IN ('pending','sending')").Count(&n).Error)
		return n == 0
	})
}

// waitFor polls cond until it holds. The deadline is generous: a wait that succeeds
// returns at once, and only a failing test pays for all of it.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// texts lists what the fake accepted for waID, in arrival order.
func (w *world) texts(waID string) []string {
	var out []string
	for _, m := range w.Fake.Sent(waID) {
		out = append(out, m.Text)
	}
	return out
}

// requestsTo counts the Graph requests for waID, refused ones included.
func (w *world) requestsTo(waID string) int {
	n := 0
	for _, r := range w.Fake.Requests() {
		if r.To == waID {
			n++
		}
	}
	return n
}

func TestSendingOutcomes(t *testing.T) {
	w := newWorld(t)
	w.run(t, w.sender())

	t.Run("each message once, in order per recipient", func(t *testing.T) {
		recipients := []string{"51987654321", "5215512345678", "5491122334455"}
		var msgs []models.Message
		for i := range 8 {
			for _, r := range recipients {
				msgs = append(msgs, w.send(t, r, fmt.Sprintf("mensaje %d para %s", i, r)))
			}
		}
		w.settled(t)
		wamids := map[string]string{}
		for _, r := range recipients {
			var want []string
			for i := range 8 {
				want = append(want, fmt.Sprintf("mensaje %d para %s", i, r))
			}
			if got := w.texts(r); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s received %q, want %q", r, got, want)
			}
			for _, s := range w.Fake.Sent(r) {
				wamids[s.Text] = s.Wamid
			}
		}
		for _, m := range msgs {
			got := w.message(t, m.ID)
			if got.Wamid == nil || *got.Wamid != wamids[m.Body] {
				t.Errorf("message %d has wamid %v, the fake gave %q", m.ID, got.Wamid, wamids[m.Body])
			}
			if got.Status != models.DeliveryQueued {
				t.Errorf("message %d status %q: it stays queued until a status webhook arrives", m.ID, got.Status)
			}
			if o := w.row(t, m.ID); o.State != outbox.StateSent || o.Attempts != 1 {
				t.Errorf("outbox row %+v", o)
			}
		}
	})

	t.Run("temporary errors are retried and delivered once", func(t *testing.T) {
		for i, tc := range []struct {
			name  string
			code  int
			times int
		}{
			{"HTTP 500 without a code", 500, 2},
			{"throughput limit 130429", 130429, 3},
			{"something went wrong 131000", 131000, 1},
		} {
			r := fmt.Sprintf("5198700000%d", i)
			w.Fake.Fail(tc.code, tc.times)
			m := w.send(t, r, "Le confirmo el pedido")
			w.settled(t)
			if got := w.texts(r); len(got) != 1 {
				t.Fatalf("%s: the customer received %d copies, want 1", tc.name, len(got))
			}
			got := w.message(t, m.ID)
			if got.Wamid == nil || got.Status != models.DeliveryQueued || got.ErrorCode != nil {
				t.Errorf("%s: message = %+v", tc.name, got)
			}
			if o := w.row(t, m.ID); o.State != outbox.StateSent || o.Attempts != tc.times+1 {
				t.Errorf("%s: outbox row state %s after %d attempts, want sent after %d", tc.name, o.State, o.Attempts, tc.times+1)
			}
		}
	})

	t.Run("terminal errors fail at once with a reason for agents", func(t *testing.T) {
		codes := []int{131047, 131026, 132001}
		var failed []models.Message
		for i, code := range codes {
			r := fmt.Sprintf("57300123456%d", i)
			w.Fake.FailRecipient(r, code)
			failed = append(failed, w.send(t, r, "¿Sigue interesado en la cotización?"))
		}
		w.settled(t)
		w.Fake.Reset()
		for i, code := range codes {
			r := fmt.Sprintf("57300123456%d", i)
			later := w.send(t, r, "Quedo atento")
			w.settled(t)
			got := w.message(t, failed[i].ID)
			if got.Status != models.DeliveryFailed || got.ErrorCode == nil || *got.ErrorCode != code || got.StatusAt == nil {
				t.Fatalf("%d: message = %+v", code, got)
			}
			if got.ErrorDetail != whatsapp.ErrorReasonES(code, "") || got.ErrorTitle == "" {
				t.Errorf("%d: error title %q, detail %q", code, got.ErrorTitle, got.ErrorDetail)
			}
			if o := w.row(t, failed[i].ID); o.Attempts != 1 || o.State != outbox.StateFailed {
				t.Errorf("%d: retried a terminal error: %+v", code, o)
			}
			if texts := w.texts(r); len(texts) != 1 || texts[0] != "Quedo atento" {
				t.Errorf("%d: received %q: the failed one never, the next one once", code, texts)
			}
			if w.message(t, later.ID).Wamid == nil {
				t.Errorf("%d: the next message to the same customer was not sent", code)
			}
		}
	})

	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		const r = "51911122233"
		w.Fake.FailRecipient(r, 131016)
		defer w.Fake.Reset()
		m := w.send(t, r, "Hola")
		w.settled(t)
		got := w.message(t, m.ID)
		if got.Status != models.DeliveryFailed || got.ErrorCode == nil || *got.ErrorCode != 131016 {
			t.Fatalf("message = %+v", got)
		}
		if !strings.Contains(got.ErrorDetail, "tras 5 intentos") {
			t.Errorf("detail = %q", got.ErrorDetail)
		}
		if n := w.requestsTo(r); n != 5 {
			t.Errorf("%d requests, want 5", n)
		}
	})

	t.Run("pair limit holds only that recipient", func(t *testing.T) {
		const r, other = "51987650000", "5215500000000"
		w.Fake.FailRecipient(r, 131056)
		// Only the first attempt is refused: the failure is lifted before the sender even
		// reads Meta's answer, so however late this test gets to run, the next attempt
		// (after the pair backoff) goes through.
		var lift sync.Once
		hook := func() {
			if w.requestsTo(r) >= 1 {
				lift.Do(w.Fake.Reset)
			}
		}
		w.beforeAnswer.Store(&hook)
		defer w.beforeAnswer.Store(nil)
		first := w.send(t, r, "uno")
		w.send(t, r, "dos")
		w.send(t, other, "para otro cliente")
		waitFor(t, "the pair limit", func() bool { return w.requestsTo(r) >= 1 })
		w.settled(t)
		if got := w.texts(r); strings.Join(got, ",") != "uno,dos" {
			t.Errorf("received %q, want uno,dos", got)
		}
		otherSent := w.Fake.Sent(other)
		if len(otherSent) != 1 {
			t.Fatal("the other customer did not get its message")
		}
		// The refused request's own arrival time, not when the test noticed it: the
		// backoff starts after Meta's answer, so it is at least that far in the past.
		var limitedAt time.Time
		for _, req := range w.Fake.Requests() {
			if req.To == r && req.Code == 131056 {
				limitedAt = req.At
				break
			}
		}
		if limitedAt.IsZero() {
			t.Fatal("the fake recorded no pair-limited request")
		}
		okAt := w.Fake.Sent(r)[0].At
		if okAt.Sub(limitedAt) < pairBackoff*9/10 {
			t.Errorf("the pair-limited message was re-sent %v after the limit, before the pair backoff", okAt.Sub(limitedAt))
		}
		if !otherSent[0].At.Before(okAt) {
			t.Error("the other customer waited for the pair-limited one")
		}
		if o := w.row(t, first.ID); o.Attempts != 2 {
			t.Errorf("attempts = %d", o.Attempts)
		}
	})

	t.Run("an expired token fails and alerts the admin without leaking secrets", func(t *testing.T) {
		ch := w.channel(t, "Cobranzas", expiredPhoneID)
		m := w.sendOn(t, ch, "56912345678", "Adjunto factura F001-889")
		w.settled(t)
		got := w.message(t, m.ID)
		if got.Status != models.DeliveryFailed || got.ErrorCode == nil || *got.ErrorCode != 190 {
			t.Fatalf("message = %+v", got)
		}
		if !strings.Contains(got.ErrorDetail, "administrador") {
			t.Errorf("detail %q should send the agent to an admin", got.ErrorDetail)
		}
		logs := w.Logs.String()
		if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "an admin must act") || !strings.Contains(logs, "code=190") {
			t.Errorf("no admin-level error logged:\n%s", logs)
		}
		if strings.Contains(logs, accessToken) || strings.Contains(logs, "F001-889") {
			t.Errorf("the logs leak the token or the message:\n%s", logs)
		}
	})

	t.Run("statuses that arrived before the wamid are applied", func(t *testing.T) {
		recorded := map[string][]string{"51900000001": {"sent", "read", "delivered"}, "51900000002": {"failed"}}
		hook := func() { // a fast webhook recorded these before the Graph answer reached the sender
			for to, sts := range recorded {
				for _, m := range w.Fake.Sent(to) {
					for _, st := range sts {
						testutil.Must(t, w.DB.Gorm.Exec(`INSERT INTO message_statuses (workspace_id, channel_id, wamid, status, at, error_code)
							VALUES (?,?,?,?,now(),131047) ON CONFLICT DO NOTHING`, w.Ch.WorkspaceID, w.Ch.ID, m.Wamid, st).Error)
					}
				}
			}
		}
		w.beforeAnswer.Store(&hook)
		defer w.beforeAnswer.Store(nil)
		read := w.send(t, "51900000001", "hola")
		failed := w.send(t, "51900000002", "hola")
		w.settled(t)
		if got := w.message(t, read.ID); got.Wamid == nil || got.Status != models.DeliveryRead {
			t.Errorf("message status %q wamid %v, want read", got.Status, got.Wamid)
		}
		got := w.message(t, failed.ID)
		if got.Wamid == nil || got.Status != models.DeliveryFailed || got.ErrorCode == nil || *got.ErrorCode != 131047 {
			t.Errorf("message = %+v, want failed with 131047", got)
		}
	})

	t.Run("read receipts are retried a little, then dropped", func(t *testing.T) {
		w.Fake.Fail(131000, 3)
		w.read(t, "51987654321", "wamid.IN1")
		w.settled(t)
		var o models.Outbox
		testutil.Must(t, w.DB.Gorm.Where("kind = 'read' AND payload->>'message_id' = 'wamid.IN1'").First(&o).Error)
		if o.State != outbox.StateFailed || o.Attempts != outbox.DefaultReadAttempts {
			t.Errorf("a failing read receipt should be dropped after %d attempts: %+v", outbox.DefaultReadAttempts, o)
		}
		w.read(t, "51987654321", "wamid.IN2")
		w.settled(t)
		if r := w.Fake.Reads(); len(r) != 1 || r[0] != "wamid.IN2" {
			t.Fatalf("reads = %v", r)
		}
	})

	if p := w.Fake.PeakInFlight(); p != 1 {
		t.Errorf("%d sends were in flight to one recipient at once, want 1", p)
	}
}

func TestAmbiguousSends(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	t.Run("a timeout is ambiguous, never re-sent, and adopted by its status", func(t *testing.T) {
		const r = "5491122334455"
		// The timeout must be long enough for the request to reach the fake (a channel
		// lookup and a connection first: on a loaded machine 200 ms were not always
		// enough, and a send that times out before Meta has it is no ambiguous send);
		// the fake holds its answer far longer, and lets go when the sender hangs up.
		w.Fake.DelayRecipient(r, time.Minute)
		s := w.sender()
		s.SendTimeout = 2 * time.Second
		stop := w.run(t, s)
		defer stop()
		first := w.send(t, r, "¿Me confirmás la dirección de entrega?")
		waitFor(t, "the send to turn ambiguous", func() bool { return w.row(t, first.ID).State == outbox.StateAmbiguous })
		w.Fake.DelayRecipient(r, 0)
		second := w.send(t, r, "Gracias")
		w.settled(t)
		time.Sleep(200 * time.Millisecond) // a few polls: an ambiguous send must stay unsent
		if got := w.texts(r); strings.Join(got, "|") != "¿Me confirmás la dirección de entrega?|Gracias" {
			t.Fatalf("received %q: each message exactly once", got)
		}
		if m := w.message(t, first.ID); m.Wamid != nil || m.Status != models.DeliveryQueued {
			t.Fatalf("ambiguous message = %+v", m)
		}

		// Meta's status webhook for the first message arrives: the webhook code records
		// it and asks the outbox to adopt the unknown wamid.
		wamid := w.Fake.Sent(r)[0].Wamid
		var adopted bool
		testutil.Must(t, w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&models.MessageStatus{WorkspaceID: w.Ch.WorkspaceID, ChannelID: w.Ch.ID, Wamid: wamid, Status: "delivered", At: time.Now()}).Error; err != nil {
				return err
			}
			var err error
			adopted, err = outbox.AdoptStatus(tx, w.Ch.ID, "+"+r, wamid)
			return err
		}))
		if !adopted {
			t.Fatal("the ambiguous send was not adopted")
		}
		m := w.message(t, first.ID)
		if m.Wamid == nil || *m.Wamid != wamid || m.Status != models.DeliveryDelivered {
			t.Errorf("adopted message = %+v", m)
		}
		if o := w.row(t, first.ID); o.State != outbox.StateSent {
			t.Errorf("row state = %s", o.State)
		}
		if w.message(t, second.ID).Wamid == nil {
			t.Error("the second message was not sent")
		}
		testutil.Must(t, w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
			again, err := outbox.AdoptStatus(tx, w.Ch.ID, r, wamid)
			if !again {
				t.Error("a wamid already on a message should report true")
			}
			return err
		}))
	})

	// No sender runs from here on: the tests set row states by hand.
	t.Run("a status does not adopt while a send to the recipient is in flight", func(t *testing.T) {
		const r = "51987654321"
		amb := w.send(t, r, "uno")
		inflight := w.send(t, r, "dos")
		testutil.Must(t, w.DB.Gorm.Exec("UPDATE outbox SET state = 'ambiguous' WHERE message_id = ?", amb.ID).Error)
		testutil.Must(t, w.DB.Gorm.Exec("UPDATE outbox SET state = 'sending' WHERE message_id = ?", inflight.ID).Error)
		testutil.Must(t, w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
			ok, err := outbox.AdoptStatus(tx, w.Ch.ID, r, "wamid.UNKNOWN")
			if ok {
				t.Error("adopted a wamid that is most likely the in-flight send's")
			}
			return err
		}))
		if m := w.message(t, amb.ID); m.Wamid != nil {
			t.Errorf("ambiguous message took wamid %s", *m.Wamid)
		}
	})

	t.Run("stuck sends become ambiguous, then expire", func(t *testing.T) {
		requests := len(w.Fake.Requests())
		stuck := w.send(t, "51955555555", "el proceso murió enviando esto")
		fresh := w.send(t, "5215566666666", "este sigue en curso")
		w.read(t, "51955555555", "wamid.IN9")
		testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET state = 'sending', updated_at = now() - interval '5 minutes'
			WHERE message_id = ? OR payload->>'message_id' = 'wamid.IN9'`, stuck.ID).Error)
		testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET state = 'sending' WHERE message_id = ?`, fresh.ID).Error)

		n, err := outbox.RecoverStuck(ctx, w.DB.Gorm, 2*time.Minute)
		testutil.Must(t, err)
		if n != 2 {
			t.Errorf("recovered %d rows, want 2", n)
		}
		if o := w.row(t, stuck.ID); o.State != outbox.StateAmbiguous {
			t.Errorf("stuck message row is %s, want ambiguous (never re-sent)", o.State)
		}
		if o := w.row(t, fresh.ID); o.State != outbox.StateSending {
			t.Errorf("a recent send was touched: %s", o.State)
		}
		var read models.Outbox
		testutil.Must(t, w.DB.Gorm.Where("payload->>'message_id' = 'wamid.IN9'").First(&read).Error)
		if read.State != outbox.StatePending {
			t.Errorf("stuck read receipt is %s, want pending (harmless to repeat)", read.State)
		}

		if n, _ := outbox.ExpireAmbiguous(ctx, w.DB.Gorm, time.Hour); n != 0 {
			t.Errorf("expired %d rows that are still young", n)
		}
		testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET updated_at = now() - interval '2 hours' WHERE message_id = ?`, stuck.ID).Error)
		n, err = outbox.ExpireAmbiguous(ctx, w.DB.Gorm, time.Hour)
		testutil.Must(t, err)
		m := w.message(t, stuck.ID)
		if n != 1 || m.Status != models.DeliveryFailed || m.ErrorDetail != outbox.ReasonUnconfirmed {
			t.Errorf("expired %d; message = %+v", n, m)
		}
		if len(w.Fake.Requests()) != requests {
			t.Error("recovery must not send anything")
		}

		testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET updated_at = now() - interval '40 days' WHERE message_id = ?`, stuck.ID).Error)
		if n, err := outbox.PurgeFinished(ctx, w.DB.Gorm, 30*24*time.Hour); err != nil || n != 1 {
			t.Errorf("purged %d (%v), want 1", n, err)
		}
	})

	// The SQL guard against moving a status backwards must rank exactly as StatusRank does.
	t.Run("status ranks agree in SQL and Go", func(t *testing.T) {
		for _, s := range []string{"", "queued", "sent", "delivered", "read", "played", "failed", "bogus"} {
			var got int
			testutil.Must(t, w.DB.Gorm.Raw("SELECT "+outbox.RankSQL("?::text"), s).Scan(&got).Error)
			if want := whatsapp.StatusRank(s); got != want {
				t.Errorf("rank(%q) = %d in SQL, %d in Go", s, got, want)
			}
		}
	})
}

func TestSeveralSendersShareTheOutboxWithoutDuplicates(t *testing.T) {
	w := newWorld(t)
	w.Fake.Delay(3 * time.Millisecond) // overlap sends so that races have room
	w.Fake.Fail(500, 10)
	var recipients []string
	for i := range 10 {
		recipients = append(recipients, fmt.Sprintf("5198765%04d", i))
	}
	const perRecipient = 12
	for i := range perRecipient {
		for _, r := range recipients {
			w.send(t, r, fmt.Sprintf("%s #%02d", r, i))
		}
	}
	// Three "processes", each with its own connection pool.
	for range 3 {
		d, err := db.Open(context.Background(), w.DB.URL)
		testutil.Must(t, err)
		t.Cleanup(d.Close)
		s := w.sender()
		s.DB, s.Pool = d.Gorm, d.Pool
		w.run(t, s)
	}
	w.settled(t)
	for _, r := range recipients {
		got := w.texts(r)
		if len(got) != perRecipient {
			t.Errorf("%s received %d messages, want %d", r, len(got), perRecipient)
			continue
		}
		for i, text := range got {
			if want := fmt.Sprintf("%s #%02d", r, i); text != want {
				t.Errorf("%s: message %d is %q, want %q (order per recipient)", r, i, text, want)
				break
			}
		}
	}
	if p := w.Fake.PeakInFlight(); p != 1 {
		t.Errorf("%d sends in flight to one recipient at once, want 1", p)
	}
	var notSent int64
	testutil.Must(t, w.DB.Gorm.Model(&models.Outbox{}).Where("state <> 'sent'").Count(&notSent).Error)
	if notSent != 0 {
		t.Errorf("%d rows did not end sent", notSent)
	}
}

func TestSenderLifecycle(t *testing.T) {
	w := newWorld(t)
	s := w.sender()
	s.Poll = time.Minute // only NOTIFY can wake it in time
	stop := w.run(t, s)
	// Let LISTEN happen first (a fixed sleep was not always enough on a loaded machine).
	waitFor(t, "the sender to LISTEN", func() bool {
		var n int64
		testutil.Must(t, w.DB.Gorm.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = ?`,
			"LISTEN "+outbox.Channel).Scan(&n).Error)
		return n > 0
	})

	t.Run("NOTIFY wakes the sender without waiting for the poll", func(t *testing.T) {
		const r = "51987654321"
		start := time.Now()
		m := w.send(t, r, "al toque")
		waitFor(t, "the send", func() bool { return w.message(t, m.ID).Wamid != nil })
		// When Meta got it, not when this test noticed; far below the minute of the poll
		// even on a slow machine.
		if d := w.Fake.Sent(r)[0].At.Sub(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
	})

	t.Run("a rolled-back enqueue never leaves", func(t *testing.T) {
		const r = "5215512345678"
		conv := w.conversation(t, w.Ch, r)
		_ = w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
			m := models.Message{WorkspaceID: w.WS.ID, ConversationID: conv.ID, ChannelID: w.Ch.ID, Direction: models.DirectionOut,
				Kind: models.KindText, Body: "x", SenderType: models.SenderAgent, Status: models.DeliveryQueued, CreatedAt: time.Now()}
			testutil.Must(t, tx.Create(&m).Error)
			testutil.Must(t, outbox.EnqueueMessage(tx, m, r, whatsapp.TextBody(r, "x", "")))
			return fmt.Errorf("the agent's action failed")
		})
		w.send(t, r, "y")
		w.settled(t)
		if got := w.texts(r); strings.Join(got, ",") != "y" {
			t.Errorf("received %q: a rolled-back message must never leave", got)
		}
	})

	t.Run("shutdown waits for the sends in flight", func(t *testing.T) {
		w.Fake.Delay(300 * time.Millisecond)
		m := w.send(t, "573001234567", "último mensaje antes del deploy")
		waitFor(t, "the send to start", func() bool { return len(w.Fake.Sent("573001234567")) == 1 })
		stop()
		if o := w.row(t, m.ID); o.State != outbox.StateSent {
			t.Fatalf("after Run returned the row is %s, want sent", o.State)
		}
	})
}
