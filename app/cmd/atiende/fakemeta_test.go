package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/outbox"
	"github.com/atiende/atiende/models"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFakeMetaDeliversAndReportsStatusesToTheApp runs the whole loop a developer sees:
// the outbox sends through `atiende fake-meta`, which checks the channel's token and
// posts signed status webhooks that the app applies until the message shows as read.
func TestFakeMetaDeliversAndReportsStatusesToTheApp(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Demo")
	ch := addChannel(t, app, ws, "Ventas", "106540352242922", "token-ventas")

	out := &lockedBuffer{}
	env := &Env{Config: app.Config, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: out, Stderr: out}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cmdFakeMeta(ctx, env, []string{"--port", "0", "--app-url", app.URL, "--status-delay", "20ms"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("fake-meta stopped with %v", err)
		}
	})
	var graphURL string
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for graphURL == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			graphURL = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("fake-meta did not start:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	graph := &whatsapp.Client{BaseURL: graphURL}

	// Another number's token is refused as Meta refuses an expired one.
	_, err := graph.Send(ctx, ch.PhoneNumberID, "token-of-someone-else", whatsapp.TextBody("51987654321", "hola", ""))
	var ge *whatsapp.GraphError
	if !errors.As(err, &ge) || ge.Code != 190 {
		t.Fatalf("wrong token: err = %v, want code 190", err)
	}

	// An agent's reply, through the outbox.
	box, err := secrets.New(app.Config.SecretKey)
	testutil.Must(t, err)
	chans := channels.New(app.DB.Gorm, box, clock.Real{})
	contact := models.Contact{WorkspaceID: ws.ID, WaID: "51987654321", Custom: models.JSON("{}")}
	testutil.Must(t, app.DB.Gorm.Create(&contact).Error)
	conv := models.Conversation{WorkspaceID: ws.ID, ChannelID: ch.ID, ContactID: contact.ID, Status: models.StatusPending}
	testutil.Must(t, app.DB.Gorm.Create(&conv).Error)
	msg := models.Message{WorkspaceID: ws.ID, ConversationID: conv.ID, ChannelID: ch.ID, Direction: models.DirectionOut,
		Kind: models.KindText, Body: "Le envío la cotización en un momento", SenderType: models.SenderAgent,
		Status: models.DeliveryQueued, CreatedAt: time.Now()}
	testutil.Must(t, app.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&msg).Error; err != nil {
			return err
		}
		return outbox.EnqueueMessage(tx, msg, contact.WaID, whatsapp.TextBody(contact.WaID, msg.Body, ""))
	}))
	sender := &outbox.Sender{DB: app.DB.Gorm, Pool: app.DB.Pool, Graph: graph, Channels: chans, Logger: env.Logger, Poll: 50 * time.Millisecond}
	sctx, stopSender := context.WithCancel(context.Background())
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); sender.Run(sctx) }()
	t.Cleanup(func() { stopSender(); <-senderDone })

	deadline = time.Now().Add(30 * time.Second)
	for {
		var m models.Message
		testutil.Must(t, app.DB.Gorm.First(&m, msg.ID).Error)
		if m.Status == models.DeliveryRead && m.Wamid != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message never showed as read: status %q, wamid %v\nfake-meta output:\n%s", m.Status, m.Wamid, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
