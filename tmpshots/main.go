package main

import (
	"context"
	"os"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
)

func main() {
	base := "http://127.0.0.1:18086"
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(testutil.ChromiumPath), chromedp.NoSandbox, chromedp.Flag("headless", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	defer cancel3()
	must(chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(`input[name=email]`, "admin@demo.atiende.app"), chromedp.SendKeys(`input[name=password]`, "atiende-demo"),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`body`), chromedp.Sleep(time.Second)))
	for _, s := range []struct {
		name, path string
		w, h int64
	}{{"webhooks-1366", "/settings/webhooks", 1366, 900}, {"webhooks-390", "/settings/webhooks", 390, 844}} {
		must(chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), chromedp.Navigate(base+s.path), chromedp.WaitVisible(`[data-testid="dead-letters"]`),
			chromedp.Sleep(500*time.Millisecond)))
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must(err)
		must(os.WriteFile("/tmp/"+s.name+".png", buf, 0o644))
	}
	if len(os.Args) > 1 {
		must(chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(base+os.Args[1]), chromedp.Sleep(time.Second)))
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		must(err)
		must(os.WriteFile("/tmp/extra.png", buf, 0o644))
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
