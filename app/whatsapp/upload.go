package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// UploadMedia uploads a file for sending (POST /{phone_number_id}/media, multipart
// with file, type and messaging_product) and returns the media id Meta assigned. The
// file is streamed from r, never held whole. An upload that lost its answer is safe
// to repeat (an unused media id just expires), so every transport failure wraps
// ErrNotSent.
func (c *Client) UploadMedia(ctx context.Context, phoneNumberID, token, mimeType, filename string, r io.Reader) (string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := mw.WriteField("messaging_product", "whatsapp"); err != nil {
				return err
			}
			if err := mw.WriteField("type", mimeType); err != nil {
				return err
			}
			h := make(textproto.MIMEHeader)
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteEscaper.Replace(filename)))
			h.Set("Content-Type", mimeType)
			part, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := io.Copy(part, r); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	u := c.BaseURL + "/" + url.PathEscape(phoneNumberID) + "/media"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, pr)
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("whatsapp: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "atiende/1.0")
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.client().Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("%w: %v", ErrNotSent, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotSent, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return "", parseGraphError(res.StatusCode, b)
	}
	var a struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &a); err != nil || a.ID == "" {
		return "", fmt.Errorf("%w: the upload answer has no media id", ErrNotSent)
	}
	return a.ID, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

// MediaLimit is what WhatsApp accepts for one kind of media an agent sends.
type MediaLimit struct {
	Kind     string // image, document, audio, video
	MaxBytes int64
}

// Sendable media types and their limits (images 5 MB, audio and video 16 MB,
// documents 100 MB).
var sendableTypes = map[string]MediaLimit{
	"image/jpeg":                    {"image", 5 << 20},
	"image/png":                     {"image", 5 << 20},
	"audio/aac":                     {"audio", 16 << 20},
	"audio/amr":                     {"audio", 16 << 20},
	"audio/mpeg":                    {"audio", 16 << 20},
	"audio/mp4":                     {"audio", 16 << 20},
	"audio/ogg":                     {"audio", 16 << 20},
	"video/mp4":                     {"video", 16 << 20},
	"video/3gpp":                    {"video", 16 << 20},
	"application/pdf":               {"document", 100 << 20},
	"text/plain":                    {"document", 100 << 20},
	"application/msword":            {"document", 100 << 20},
	"application/vnd.ms-excel":      {"document", 100 << 20},
	"application/vnd.ms-powerpoint": {"document", 100 << 20},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {"document", 100 << 20},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {"document", 100 << 20},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {"document", 100 << 20},
}

// MaxSendBytes is the largest file WhatsApp accepts from a business (a document).
const MaxSendBytes = 100 << 20

// SendableMedia says how WhatsApp takes a file of type mimeType (parameters such as
// "; codecs=opus" ignored), and false when it does not take it at all.
func SendableMedia(mimeType string) (MediaLimit, bool) {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(mimeType, ";", 2)[0]))
	l, ok := sendableTypes[mt]
	return l, ok
}

type mediaPart struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// MediaIDPlaceholder stands for the media id in a queued media message until the
// sender has uploaded the file.
const MediaIDPlaceholder = "{{media_id}}"

// MediaBody is the Graph request body of an image, audio, video or document message
// to wa_id to, carrying mediaID (MediaIDPlaceholder until uploaded). Audio takes no
// caption; documents carry their file name.
func MediaBody(to, kind, mediaID, caption, filename string) []byte {
	p := mediaPart{ID: mediaID}
	if kind != "audio" {
		p.Caption = caption
	}
	if kind == "document" {
		p.Filename = filename
	}
	return marshal(map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": plus(to),
		"type": kind, kind: p})
}

// WithMediaID puts the uploaded media id where a queued body (a media message or a
// template with a media header) carries MediaIDPlaceholder.
func WithMediaID(body []byte, mediaID string) ([]byte, error) {
	ph := []byte(`"` + MediaIDPlaceholder + `"`)
	if !bytes.Contains(body, ph) {
		return nil, fmt.Errorf("whatsapp: the queued message has no media id to fill in")
	}
	id, _ := json.Marshal(mediaID)
	return bytes.Replace(body, ph, id, 1), nil
}
