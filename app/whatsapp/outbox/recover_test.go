package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

// The server dies with sends in flight: Meta had accepted most of them and posts their
// statuses meanwhile; the webhook records them but cannot adopt them (a send to that
// recipient is still "sending"). Before, recovery made those sends ambiguous and, with
// no further status coming, they expired as "Envío sin confirmar": delivered messages
// shown as failed, which agents resend. Now the recorded statuses settle them.
func TestCrashDuringSendsNeverShowsDeliveredAsFailed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const sends, confirmed = 40, 30
	type inflight struct {
		msg       models.Message
		recipient string
		wamid     string
	}
	var all []inflight
	for i := 0; i < sends; i++ {
		r := fmt.Sprintf("51990%06d", i%25) // some recipients have two sends
		m := w.send(t, r, fmt.Sprintf("mensaje %d", i))
		all = append(all, inflight{msg: m, recipient: r, wamid: fmt.Sprintf("wamid.CRASH%03d", i)})
	}
	// The crash: every row was claimed, none got its answer recorded.
	testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET state = 'sending', updated_at = now() - interval '5 minutes'
		WHERE kind = 'message' AND channel_id = ?`, w.Ch.ID).Error)
	// Meanwhile Meta posts sent + delivered for those it had accepted, recorded as the
	// webhook records them.
	at := time.Now()
	for i, s := range all[:confirmed] {
		for j, st := range []string{"sent", "delivered"} {
			testutil.Must(t, w.DB.Gorm.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&models.MessageStatus{ChannelID: w.Ch.ID, Wamid: s.wamid, Status: st,
					At: at.Add(time.Duration(i*10+j) * time.Millisecond), Recipient: s.recipient}).Error; err != nil {
					return err
				}
				ok, err := outbox.AdoptStatus(tx, w.Ch.ID, s.recipient, s.wamid)
				if ok {
					t.Errorf("adopted %s while its send was in flight", s.wamid)
				}
				return err
			}))
		}
	}
	// The process comes back: recovery, then (much later) expiry.
	_, err := outbox.RecoverStuck(ctx, w.DB.Gorm, 2*time.Minute)
	testutil.Must(t, err)
	testutil.Must(t, w.DB.Gorm.Exec(`UPDATE outbox SET updated_at = now() - interval '2 hours' WHERE state = 'ambiguous'`).Error)
	_, err = outbox.ExpireAmbiguous(ctx, w.DB.Gorm, time.Hour)
	testutil.Must(t, err)

	deliveredAsFailed, unconfirmed := 0, 0
	for i, s := range all {
		m := w.message(t, s.msg.ID)
		if i < confirmed {
			if m.Status != models.DeliveryDelivered || m.Wamid == nil || *m.Wamid != s.wamid {
				deliveredAsFailed++
				t.Errorf("send %d (delivered) shows %s with wamid %v", i, m.Status, m.Wamid)
			}
			continue
		}
		if m.Status != models.DeliveryFailed || m.ErrorTitle != "Envío sin confirmar" {
			t.Errorf("send %d (no status ever) shows %s %q", i, m.Status, m.ErrorTitle)
		}
		unconfirmed++
	}
	t.Logf("crash during %d sends: %d delivered shown as failed; %d without any status marked «Envío sin confirmar»",
		sends, deliveredAsFailed, unconfirmed)
}
