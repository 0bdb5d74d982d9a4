package whatsapp_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atiende/atiende/app/whatsapp"
	"github.com/atiende/atiende/app/whatsapp/fakemeta"
)

const token = "EAAG-test-token"

func newFake(t *testing.T) (*fakemeta.Fake, *whatsapp.Client) {
	t.Helper()
	f := fakemeta.New(fakemeta.Config{Token: token})
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.Close(); f.Close() })
	return f, &whatsapp.Client{BaseURL: srv.URL + "/v25.0", HTTP: srv.Client()}
}

func TestSendReturnsTheWamidMetaAssigned(t *testing.T) {
	f, c := newFake(t)
	wamid, err := c.Send(context.Background(), "106540352242922", token, whatsapp.TextBody("51987654321", "Hola, ¿en qué le ayudo?", "wamid.IN1"))
	if err != nil {
		t.Fatal(err)
	}
	sent := f.Sent("51987654321")
	if len(sent) != 1 {
		t.Fatalf("the fake received %d messages, want 1", len(sent))
	}
	got := sent[0]
	if got.Wamid != wamid || got.Text != "Hola, ¿en qué le ayudo?" || got.ContextID != "wamid.IN1" || got.PhoneNumberID != "106540352242922" {
		t.Errorf("sent %+v, answer wamid %q", got, wamid)
	}
}

func TestGraphErrorsCarryMetasCodeAndClass(t *testing.T) {
	cases := []struct {
		name       string
		inject     int
		token      string
		wantCode   int
		wantStatus int
		wantClass  whatsapp.Class
	}{
		{"outside the 24h window", 131047, token, 131047, 400, whatsapp.Terminal},
		{"throughput", 130429, token, 130429, 429, whatsapp.Retry},
		{"pair limit", 131056, token, 131056, 400, whatsapp.PairLimit},
		{"spam limit", 131048, token, 131048, 403, whatsapp.RetryLong},
		{"bare 502 without a code", 502, token, 0, 502, whatsapp.Retry},
		{"expired token", 0, "wrong-token", 190, 401, whatsapp.AdminAlert},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t)
			if tc.inject != 0 {
				f.Fail(tc.inject, 1)
			}
			_, err := c.Send(context.Background(), "106540352242922", tc.token, whatsapp.TextBody("51987654321", "hola", ""))
			var ge *whatsapp.GraphError
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want a *GraphError", err)
			}
			if ge.Code != tc.wantCode || ge.HTTPStatus != tc.wantStatus || ge.Class() != tc.wantClass {
				t.Errorf("got code %d, HTTP %d, class %v; want %d, %d, %v", ge.Code, ge.HTTPStatus, ge.Class(), tc.wantCode, tc.wantStatus, tc.wantClass)
			}
			if tc.wantCode != 0 && ge.FBTraceID == "" {
				t.Error("the fbtrace_id was lost")
			}
			if errors.Is(err, whatsapp.ErrAmbiguous) {
				t.Error("an error answer is not ambiguous")
			}
			if n := len(f.Sent("51987654321")); n != 0 {
				t.Errorf("a refused message was recorded as sent %d times", n)
			}
		})
	}
}

func TestNoAnswerAfterTheRequestIsAmbiguous(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		f, c := newFake(t)
		// The fake holds its answer far longer than the timeout (and lets go when the
		// client hangs up); the timeout itself leaves the request ample time to be
		// written, which 150 ms did not always do on a loaded machine.
		f.Delay(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.Send(ctx, "106540352242922", token, whatsapp.TextBody("51987654321", "hola", ""))
		if !errors.Is(err, whatsapp.ErrAmbiguous) {
			t.Fatalf("err = %v, want ErrAmbiguous", err)
		}
		// The fake's handler runs on its own goroutine: it may record the message a
		// moment after the client gave up.
		for deadline := time.Now().Add(30 * time.Second); len(f.Sent("51987654321")) == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if n := len(f.Sent("51987654321")); n != 1 {
			t.Fatalf("Meta accepted %d messages, want 1 (that is why it is ambiguous)", n)
		}
	})
	t.Run("connection reset", func(t *testing.T) {
		f, c := newFake(t)
		f.Fail(fakemeta.ResetConnection, 1)
		_, err := c.Send(context.Background(), "106540352242922", token, whatsapp.TextBody("51987654321", "hola", ""))
		if !errors.Is(err, whatsapp.ErrAmbiguous) {
			t.Fatalf("err = %v, want ErrAmbiguous", err)
		}
	})
	t.Run("refused connection is safe to retry", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		c := &whatsapp.Client{BaseURL: u}
		_, err := c.Send(context.Background(), "1", token, whatsapp.TextBody("51987654321", "hola", ""))
		if errors.Is(err, whatsapp.ErrAmbiguous) || !errors.Is(err, whatsapp.ErrNotSent) {
			t.Fatalf("err = %v, want ErrNotSent", err)
		}
	})
}

func TestMarkRead(t *testing.T) {
	f, c := newFake(t)
	if err := c.MarkRead(context.Background(), "106540352242922", token, "wamid.IN42"); err != nil {
		t.Fatal(err)
	}
	if r := f.Reads(); len(r) != 1 || r[0] != "wamid.IN42" {
		t.Fatalf("reads = %v", r)
	}
}

func TestMediaLookupAndDownload(t *testing.T) {
	_, c := newFake(t)
	ctx := context.Background()
	id := fakemeta.MediaID("png", 7)
	info, err := c.MediaInfo(ctx, token, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || info.MimeType != "image/png" || info.FileSize == 0 || info.URL == "" {
		t.Fatalf("info = %+v", info)
	}
	data, mime, err := c.DownloadMedia(ctx, token, info.URL)
	if err != nil {
		t.Fatal(err)
	}
	if mime != "image/png" || int64(len(data)) != info.FileSize || fakemeta.MediaSHA256(data) != info.SHA256 {
		t.Fatalf("downloaded %d bytes of %q; info %+v", len(data), mime, info)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}

	small := &whatsapp.Client{BaseURL: c.BaseURL, HTTP: c.HTTP, MaxMediaBytes: 100}
	if _, _, err := small.DownloadMedia(ctx, token, info.URL); !errors.Is(err, whatsapp.ErrMediaTooLarge) {
		t.Fatalf("err = %v, want ErrMediaTooLarge", err)
	}

	_, err = c.MediaInfo(ctx, token, "not-a-media-id")
	var ge *whatsapp.GraphError
	if !errors.As(err, &ge) || ge.Code != 100 {
		t.Fatalf("unknown media: err = %v, want code 100", err)
	}
}

func TestClassifyFollowsTheErrorTable(t *testing.T) {
	want := map[whatsapp.Class][]int{
		whatsapp.Retry:      {130429, 131000, 1, 2, 131016, 133004, 131057},
		whatsapp.RetryLong:  {4, 80007, 131048},
		whatsapp.PairLimit:  {131056},
		whatsapp.Terminal:   {131047, 131026, 131049, 131050, 100, 131051, 131053, 132000, 132001, 132015, 999999},
		whatsapp.AdminAlert: {190, 368, 131042},
	}
	for class, codes := range want {
		for _, code := range codes {
			if got := whatsapp.Classify(code); got != class {
				t.Errorf("Classify(%d) = %v, want %v", code, got, class)
			}
		}
	}
}
