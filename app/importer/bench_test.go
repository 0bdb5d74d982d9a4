package importer_test

import (
	"context"
	"os"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/atiende/atiende/app/importer"
	"github.com/atiende/atiende/app/testutil"
)

// BenchmarkImport replays a 100k-line history file (14,286 conversations, each with
// replies, a note, a transfer and a close) into a fresh database and prints events/s.
// Target: ≥ 2,000 events/s on the 2-core machine.
func BenchmarkImport(b *testing.B) {
	n := 14_285
	if testing.Short() {
		n = 1000
	}
	file := history(n)
	lines := strings.Count(file, "\n")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		app := testutil.NewApp(b)
		b.StartTimer()
		if path := os.Getenv("ATIENDE_IMPORT_CPUPROFILE"); path != "" {
			f, _ := os.Create(path)
			_ = pprof.StartCPUProfile(f)
		}
		res, err := app.Server.Services.Importer.Run(context.Background(), strings.NewReader(file), importer.Options{})
		pprof.StopCPUProfile()
		if err != nil {
			b.Fatal(err)
		}
		rate := float64(res.Applied) / res.Elapsed.Seconds()
		b.ReportMetric(rate, "events/s")
		b.Logf("import: %d lines (%d events) in %.1f s: %.0f events/s (target ≥ 2,000 events/s)", lines, res.Applied, res.Elapsed.Seconds(), rate)
	}
}
