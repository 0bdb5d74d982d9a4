package main

import (
	"strings"
	"testing"
)

// TestServeRefusesOpenMetricsInProduction: in production /metrics must be protected
// by METRICS_TOKEN or moved to METRICS_ADDR; otherwise serve does not start, and says
// what to set.
func TestServeRefusesOpenMetricsInProduction(t *testing.T) {
	env := map[string]string{"ATIENDE_ENV": "production", "ATIENDE_SECRET_KEY": "una-clave-de-produccion-bien-larga",
		"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/atiende_no_such_db_for_metrics?sslmode=disable", "PORT": "1"}
	code, out := atiendeProcess(t, env, "serve")
	if code == 0 {
		t.Fatal("serve started in production with /metrics open")
	}
	for _, want := range []string{"METRICS_TOKEN", "METRICS_ADDR", "/metrics"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the refusal does not mention %s:\n%s", want, out)
		}
	}
	assertNoStackTrace(t, out)

	// With a token set, the metrics check passes (serve then fails on the missing database instead).
	env["METRICS_TOKEN"] = "un-token-para-prometheus"
	_, out = atiendeProcess(t, env, "serve")
	if strings.Contains(out, "METRICS_TOKEN") {
		t.Fatalf("serve still refuses with METRICS_TOKEN set:\n%s", out)
	}
}

func TestTrustedProxiesMustBeAddresses(t *testing.T) {
	code, _, stderr := atiende(t, map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, balanceador"}, "migrate")
	if code == 0 || !strings.Contains(stderr, "TRUSTED_PROXIES") || !strings.Contains(stderr, "balanceador") {
		t.Fatalf("a bad TRUSTED_PROXIES was accepted or not named (exit %d):\n%s", code, stderr)
	}
}
