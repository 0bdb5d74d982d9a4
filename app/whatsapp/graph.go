package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMaxMediaBytes caps DownloadMedia: WhatsApp's largest media (documents) are 100 MB.
const DefaultMaxMediaBytes = 100 << 20

// maxAnswerBytes caps JSON answers of the Graph API; real ones are a few hundred bytes.
const maxAnswerBytes = 1 << 20

var (
	// ErrAmbiguous wraps failures after the request was fully written (timeouts, resets,
	// unreadable answers): Meta may have accepted the message, so it must not be re-sent.
	ErrAmbiguous = errors.New("whatsapp: no answer after the request was sent, Meta may have accepted it")
	// ErrNotSent wraps transport failures before the request was written (DNS, refused
	// connection): nothing reached Meta, retrying is safe.
	ErrNotSent = errors.New("whatsapp: request did not reach Meta")
	// ErrMediaTooLarge: the media is bigger than the client's cap.
	ErrMediaTooLarge = errors.New("whatsapp: media larger than the download limit")
)

// Client calls the Graph API of the WhatsApp Cloud API. The zero HTTP uses a client
// with no overall timeout: callers bound each call with their context.
type Client struct {
	BaseURL string // e.g. https://graph.facebook.com/v25.0, or a fake
	HTTP    *http.Client
	// MaxMediaBytes caps DownloadMedia; 0 means DefaultMaxMediaBytes.
	MaxMediaBytes int64
}

// GraphError is an error answer of the Graph API. Decide on Code (Meta's), not on
// HTTPStatus; Code is 0 when the answer carried no Meta error (e.g. a bare 502).
type GraphError struct {
	HTTPStatus int
	Code       int
	Type       string
	Message    string
	Details    string
	FBTraceID  string
}

// Error says what Meta answered; it carries no token and no request body.
func (e *GraphError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("whatsapp: HTTP %d from the Graph API", e.HTTPStatus)
	}
	msg := fmt.Sprintf("whatsapp: error %d (HTTP %d): %s", e.Code, e.HTTPStatus, e.Message)
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return msg
}

// Class says what to do about the error: Classify(Code), except that an answer without
// a Meta code is retried when the server failed (5xx, 429) and final otherwise.
func (e *GraphError) Class() Class {
	if e.Code == 0 {
		if e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests {
			return Retry
		}
		return Terminal
	}
	return Classify(e.Code)
}

// Class is what the sender does about a Graph API error code.
type Class int

// The classes of the error-code table in whatsapp-cloud-api.md.
const (
	Retry      Class = iota + 1 // temporary: retry with exponential backoff
	RetryLong                   // app or spam rate limit: back off longer
	PairLimit                   // too many messages to one recipient: wait 4^n seconds
	Terminal                    // do not retry; show the reason
	AdminAlert                  // do not retry; the account or token needs an admin
)

// String names the class for logs and metrics.
func (c Class) String() string {
	switch c {
	case Retry:
		return "retry"
	case RetryLong:
		return "retry_long"
	case PairLimit:
		return "pair_limit"
	case Terminal:
		return "terminal"
	case AdminAlert:
		return "admin_alert"
	}
	return "unknown"
}

// Classify maps a Meta error code to what to do about it. Codes outside the table are
// Terminal: a message Meta refused for a reason we do not know is not re-sent blindly.
func Classify(code int) Class {
	switch code {
	case 130429, 131000, 1, 2, 131016, 133004, 131057:
		return Retry
	case 4, 80007, 131048:
		return RetryLong
	case 131056:
		return PairLimit
	case 190, 368, 131042:
		return AdminAlert
	}
	return Terminal
}

// sendAnswer is the success answer of POST /{phone_number_id}/messages.
type sendAnswer struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
	Success bool `json:"success"`
}

// Send posts body (a full message request, see TextBody) from phoneNumberID and returns
// the wamid Meta assigned. Errors are *GraphError, or wrap ErrAmbiguous or ErrNotSent.
func (c *Client) Send(ctx context.Context, phoneNumberID, token string, body []byte) (string, error) {
	b, err := c.post(ctx, phoneNumberID, token, body)
	if err != nil {
		return "", err
	}
	var a sendAnswer
	if err := json.Unmarshal(b, &a); err != nil || len(a.Messages) == 0 || a.Messages[0].ID == "" {
		// A 2xx means accepted; without the id we cannot tell which message it was.
		return "", fmt.Errorf("%w: the success answer has no message id", ErrAmbiguous)
	}
	return a.Messages[0].ID, nil
}

// MarkRead marks the customer's message wamid as read (blue ticks).
func (c *Client) MarkRead(ctx context.Context, phoneNumberID, token, wamid string) error {
	_, err := c.post(ctx, phoneNumberID, token, ReadBody(wamid))
	return err
}

func (c *Client) post(ctx context.Context, phoneNumberID, token string, body []byte) ([]byte, error) {
	u := c.BaseURL + "/" + url.PathEscape(phoneNumberID) + "/messages"
	return c.do(ctx, http.MethodPost, u, token, body, maxAnswerBytes, nil)
}

// MediaInfo is the answer of GET /{media-id}. URL expires after five minutes.
type MediaInfo struct {
	URL      string
	MimeType string
	SHA256   string
	FileSize int64
	ID       string
}

type mediaAnswer struct {
	URL      string          `json:"url"`
	MimeType string          `json:"mime_type"`
	SHA256   string          `json:"sha256"`
	FileSize json.RawMessage `json:"file_size"`
	ID       string          `json:"id"`
}

// MediaInfo looks up an inbound media id: where to download it, its type, hash and size.
func (c *Client) MediaInfo(ctx context.Context, token, mediaID string) (MediaInfo, error) {
	b, err := c.do(ctx, http.MethodGet, c.BaseURL+"/"+url.PathEscape(mediaID), token, nil, maxAnswerBytes, nil)
	if err != nil {
		return MediaInfo{}, err
	}
	var a mediaAnswer
	if err := json.Unmarshal(b, &a); err != nil || a.URL == "" {
		return MediaInfo{}, fmt.Errorf("whatsapp: unreadable media answer for %s", mediaID)
	}
	// Meta documents file_size as a number but has sent it as a string.
	size, _ := strconv.ParseInt(strings.Trim(string(a.FileSize), `"`), 10, 64)
	return MediaInfo{URL: a.URL, MimeType: a.MimeType, SHA256: a.SHA256, FileSize: size, ID: a.ID}, nil
}

// DownloadMedia fetches a media URL from MediaInfo with the same token and returns the
// bytes and their Content-Type. Files over MaxMediaBytes fail with ErrMediaTooLarge.
func (c *Client) DownloadMedia(ctx context.Context, token, mediaURL string) ([]byte, string, error) {
	limit := c.MaxMediaBytes
	if limit <= 0 {
		limit = DefaultMaxMediaBytes
	}
	var mime string
	b, err := c.do(ctx, http.MethodGet, mediaURL, token, nil, limit, func(h http.Header) { mime = h.Get("Content-Type") })
	if err != nil {
		return nil, "", err
	}
	return b, mime, nil
}

// do sends one request and returns the answer's body when it is 2xx. It tells apart
// failures before the request was written (ErrNotSent) from those after (ErrAmbiguous).
func (c *Client) do(ctx context.Context, method, u, token string, body []byte, limit int64, header func(http.Header)) ([]byte, error) {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// Meta's media host answers some clients without a User-Agent with an HTML page.
	req.Header.Set("User-Agent", "atiende/1.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.client().Do(req)
	if err != nil {
		return nil, c.transportError(method, wrote.Load(), err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
		return nil, parseGraphError(res.StatusCode, b)
	}
	if res.ContentLength > limit {
		return nil, ErrMediaTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, c.transportError(method, true, err)
	}
	if int64(len(b)) > limit {
		return nil, ErrMediaTooLarge
	}
	if header != nil {
		header(res.Header)
	}
	return b, nil
}

func (c *Client) transportError(method string, written bool, err error) error {
	// url.Error names the URL, never the Authorization header: safe to log.
	if written && method == http.MethodPost {
		return fmt.Errorf("%w: %v", ErrAmbiguous, err)
	}
	return fmt.Errorf("%w: %v", ErrNotSent, err)
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	MaxIdleConnsPerHost:   64,
	IdleConnTimeout:       90 * time.Second,
	TLSHandshakeTimeout:   10 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	ForceAttemptHTTP2:     true,
}}

type errorAnswer struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

func parseGraphError(status int, body []byte) *GraphError {
	e := &GraphError{HTTPStatus: status}
	var a errorAnswer
	if json.Unmarshal(body, &a) == nil && a.Error != nil {
		e.Code, e.Type, e.Message = a.Error.Code, a.Error.Type, a.Error.Message
		e.Details, e.FBTraceID = a.Error.ErrorData.Details, a.Error.FBTraceID
	}
	return e
}
