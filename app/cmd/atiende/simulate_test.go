package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/clock"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// addChannel connects a WhatsApp number to ws in app's database, as `channel add` does.
func addChannel(t *testing.T, app *testutil.App, ws models.Workspace, name, phoneID, token string) models.Channel {
	t.Helper()
	box, err := secrets.New(app.Config.SecretKey)
	testutil.Must(t, err)
	ch, err := channels.New(app.DB.Gorm, box, clock.Real{}).Create(context.Background(), ws.ID, channels.Input{
		Name: name, PhoneNumberID: phoneID, DisplayPhone: "+51 1 555 0100", WabaID: "102290129340398",
		AccessToken: token, AppSecret: "secret-of-" + name, VerifyToken: "verify"})
	testutil.Must(t, err)
	return ch
}

func TestSimulateSendsSignedCustomerMessagesTheAppAccepts(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Demo")
	addChannel(t, app, ws, "Ventas", "106540352242922", "token-ventas")
	addChannel(t, app, ws, "Soporte", "106540352242923", "token-soporte")

	out := mustRun(t, map[string]string{"DATABASE_URL": app.DB.URL}, "simulate", "--rate", "60", "--duration", "1s", "--url", app.URL, "--contacts", "25")
	t.Log(out)
	if !strings.Contains(out, "sent 60 webhooks") || !strings.Contains(out, "60 accepted, 0 failed") {
		t.Fatalf("summary:\n%s", out)
	}
	if !regexp.MustCompile(`p50 [0-9.]+[µm]?s · p99 [0-9.]+[µm]?s`).MatchString(out) {
		t.Errorf("no latency figures in:\n%s", out)
	}

	var inbound int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Message{}).Where("direction = 'in'").Count(&inbound).Error)
	if inbound < 60 {
		t.Errorf("the app stored %d customer messages, want at least 60", inbound)
	}
	var perChannel []int64
	testutil.Must(t, app.DB.Gorm.Model(&models.Message{}).Where("direction = 'in'").Group("channel_id").Pluck("count(*)", &perChannel).Error)
	if len(perChannel) != 2 {
		t.Errorf("messages reached %d channels, want both", len(perChannel))
	}
	var waIDs []string
	testutil.Must(t, app.DB.Gorm.Model(&models.Contact{}).Pluck("wa_id", &waIDs).Error)
	countries := map[string]bool{}
	for _, id := range waIDs {
		for _, p := range []string{"519", "521", "573", "549", "569"} {
			if strings.HasPrefix(id, p) {
				countries[p] = true
			}
		}
	}
	if len(countries) < 4 {
		t.Errorf("customers from %d countries (%v), want a LatAm mix", len(countries), waIDs)
	}
	var kinds []string
	testutil.Must(t, app.DB.Gorm.Model(&models.Message{}).Where("direction = 'in'").Distinct("kind").Pluck("kind", &kinds).Error)
	if len(kinds) < 3 {
		t.Errorf("message kinds %v: want texts, media, replies…", kinds)
	}
}

func TestSimulateOnlyTalksToThisMachine(t *testing.T) {
	for _, u := range []string{"http://example.com:8080", "http://10.0.0.5", "ftp://localhost"} {
		code, _, stderr := atiende(t, map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?sslmode=disable"},
			"simulate", "--rate", "1", "--duration", "1s", "--url", u)
		if code == 0 || !(strings.Contains(stderr, "this machine") || strings.Contains(stderr, "must look like")) {
			t.Errorf("%s: exit %d, stderr %q", u, code, stderr)
		}
	}
	code, _, stderr := atiende(t, nil, "simulate", "--rate", "5000", "--duration", "1s")
	if code == 0 || !strings.Contains(stderr, "--rate") {
		t.Errorf("an unbounded rate was accepted: %d %q", code, stderr)
	}
}
