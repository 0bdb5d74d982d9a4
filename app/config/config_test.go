package config_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/config"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://postgres@127.0.0.1:5432/atiende?sslmode=disable" || c.Port != 8080 ||
		c.GraphURL != "https://graph.facebook.com/v25.0" || c.Env != config.EnvDevelopment || c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults: %+v", c)
	}
	if len(c.SecretKey) != 32 {
		t.Fatalf("development secret key has %d bytes", len(c.SecretKey))
	}
	if c.Production() || c.FakeGraph() {
		t.Fatalf("defaults: production=%v fake graph=%v", c.Production(), c.FakeGraph())
	}
}

func TestValidValues(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	b64Key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL":       "postgresql://app:secret@db.internal:6432/atiende_prod?sslmode=require",
		"PORT":               "9000",
		"WHATSAPP_GRAPH_URL": "http://localhost:9999/v25.0/",
		"ATIENDE_ENV":        "production",
		"ATIENDE_SECRET_KEY": hexKey,
		"LOG_LEVEL":          "DEBUG",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString(hexKey)
	if c.Port != 9000 || !c.Production() || c.LogLevel != slog.LevelDebug || !bytes.Equal(c.SecretKey, want) {
		t.Fatalf("%+v", c)
	}
	if c.GraphURL != "http://localhost:9999/v25.0" || !c.FakeGraph() {
		t.Fatalf("graph URL %q (trailing slash kept?) fake=%v", c.GraphURL, c.FakeGraph())
	}

	c, err = config.Load(env(map[string]string{"ATIENDE_SECRET_KEY": b64Key}))
	if err != nil || !bytes.Equal(c.SecretKey, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("base64 key: %v %x", err, c.SecretKey)
	}

	a, err1 := config.Load(env(map[string]string{"ATIENDE_SECRET_KEY": "una frase larga de verdad"}))
	b, err2 := config.Load(env(map[string]string{"ATIENDE_SECRET_KEY": "una frase larga de verdad"}))
	o, err3 := config.Load(env(map[string]string{"ATIENDE_SECRET_KEY": "otra frase larga de verdad"}))
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if len(a.SecretKey) != 32 || !bytes.Equal(a.SecretKey, b.SecretKey) || bytes.Equal(a.SecretKey, o.SecretKey) {
		t.Fatal("a passphrase must derive a stable 32-byte key, different per passphrase")
	}

	for lvl, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError} {
		c, err := config.Load(env(map[string]string{"LOG_LEVEL": lvl}))
		if err != nil || c.LogLevel != want {
			t.Errorf("LOG_LEVEL=%s: %v, %v", lvl, c.LogLevel, err)
		}
	}
}

func TestInvalidValuesGiveOneClearParagraph(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string // every fragment must appear in the message
	}{
		{"port not a number", map[string]string{"PORT": "ochenta"}, []string{`PORT="ochenta"`}},
		{"port zero", map[string]string{"PORT": "0"}, []string{`PORT="0"`}},
		{"port too big", map[string]string{"PORT": "70000"}, []string{`PORT="70000"`, "65535"}},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, []string{"LOG_LEVEL", "verbose", "debug, info, warn, error"}},
		{"env", map[string]string{"ATIENDE_ENV": "staging"}, []string{`ATIENDE_ENV="staging"`, "development or production"}},
		{"database scheme", map[string]string{"DATABASE_URL": "mysql://root@localhost/atiende"}, []string{"DATABASE_URL", "postgres://"}},
		{"database name missing", map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/"}, []string{"DATABASE_URL", "name a database"}},
		{"graph url", map[string]string{"WHATSAPP_GRAPH_URL": "graph.facebook.com"}, []string{"WHATSAPP_GRAPH_URL"}},
		{"short secret", map[string]string{"ATIENDE_SECRET_KEY": "corta"}, []string{"ATIENDE_SECRET_KEY", "16 characters"}},
		{"production without a secret", map[string]string{"ATIENDE_ENV": "production"}, []string{"ATIENDE_SECRET_KEY"}},
		{"production with the development secret", map[string]string{"ATIENDE_ENV": "production", "ATIENDE_SECRET_KEY": "atiende-development-key-change-me"}, []string{"ATIENDE_SECRET_KEY", "production"}},
		{"several at once", map[string]string{"PORT": "x", "LOG_LEVEL": "y", "ATIENDE_ENV": "z"}, []string{"PORT", "LOG_LEVEL", "ATIENDE_ENV"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q: %s", w, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one paragraph: %q", msg)
			}
			if !strings.Contains(msg, "README") {
				t.Errorf("message does not say where to read more: %s", msg)
			}
		})
	}
}
