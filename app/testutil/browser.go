package testutil

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which `make chromium` (part of `make test`) installs.
const ChromiumPath = "/usr/bin/chromium"

// BrowserTimeout bounds everything one browser test does, so a page that never
// shows what a test waits for fails the test instead of hanging the suite. It is a
// guard against hangs, not a speed requirement: under -race on a loaded CI machine a
// browser test with its Chromium start-up and a dozen round trips can take a minute.
const BrowserTimeout = 3 * time.Minute

// NeedBrowser skips t when there is no Chromium (a test whose browser parts run in
// subtests calls it first, so that it checks nothing of what they would have done).
func NeedBrowser(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("browser test skipped: no Chromium at %s (`make chromium`, which `make test` runs, installs it)", ChromiumPath)
	}
}

// NewBrowser starts a headless Chromium with a fresh profile for t and returns a
// chromedp context for its first tab, cancelled after BrowserTimeout. The browser
// stops when t ends. Without Chromium the test is skipped.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()
	NeedBrowser(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// The first action starts the browser and binds its life to the context it gets,
	// so it gets one without the timeout (see chromedp's docs/API.md, example 21).
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, BrowserTimeout)
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a full-page PNG of the current page as NAME.png in the folder
// named by $ATIENDE_SCREENSHOTS; without that variable it does nothing.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ATIENDE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	// No transitions while capturing: the full-page capture resizes the viewport, and a
	// layout caught mid-transition (the rail's width) shows half-drawn.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`(function(){if(document.getElementById("no-motion"))return;var s=document.createElement("style");s.id="no-motion";s.textContent="*,*::before,*::after{transition:none!important;animation:none!important}";document.head.appendChild(s)})()`)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", path)
}
