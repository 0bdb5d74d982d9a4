package fakemeta

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Upload is one file the fake accepted at POST /{phone-number-id}/media.
type Upload struct {
	ID            string
	PhoneNumberID string
	MimeType      string // the form's type field
	Filename      string
	Size          int64
	SHA256        string
	At            time.Time
}

// maxUpload is the largest file Meta takes (documents).
const maxUpload = 100 << 20

// upload answers POST /{phone-number-id}/media like Meta: a multipart form with
// messaging_product, type and file; the answer is {"id": …}. The file is hashed as it
// streams in, never kept.
func (f *Fake) upload(w http.ResponseWriter, r *http.Request, phoneNumberID string) {
	rec := Request{Method: r.Method, Path: r.URL.Path, PhoneNumberID: phoneNumberID, At: time.Now()}
	fail := func(status, code int, msg, details string) {
		rec.HTTPStatus, rec.Code = status, code
		f.record(rec)
		writeError(w, status, code, msg, details)
	}
	if !f.tokenOK(phoneNumberID, bearer(r)) {
		fail(http.StatusUnauthorized, 190, "Error validating access token: Session has expired.", "")
		return
	}
	f.mu.Lock()
	var code int
	if len(f.failQueue) > 0 {
		code, f.failQueue = f.failQueue[0], f.failQueue[1:]
	}
	f.mu.Unlock()
	switch {
	case code >= 500 && code <= 599:
		rec.HTTPStatus = code
		f.record(rec)
		http.Error(w, http.StatusText(code), code)
		return
	case code == ResetConnection:
		rec.HTTPStatus = 0
		f.record(rec)
		panic(http.ErrAbortHandler)
	case code != 0:
		fail(httpStatusFor(code), code, fmt.Sprintf("(#%d) %s", code, titles[code]), "injected by fake-meta")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail(http.StatusBadRequest, 100, "(#100) Invalid parameter", "The request is not multipart/form-data.")
		return
	}
	up := Upload{PhoneNumberID: phoneNumberID, At: time.Now()}
	product := ""
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(http.StatusBadRequest, 100, "(#100) Invalid parameter", "Unreadable multipart body.")
			return
		}
		switch part.FormName() {
		case "messaging_product":
			b, _ := io.ReadAll(io.LimitReader(part, 100))
			product = string(b)
		case "type":
			b, _ := io.ReadAll(io.LimitReader(part, 200))
			up.MimeType = string(b)
		case "file":
			up.Filename = part.FileName()
			h := sha256.New()
			n, err := io.Copy(h, io.LimitReader(part, maxUpload+1))
			if err != nil {
				fail(http.StatusBadRequest, 100, "(#100) Invalid parameter", "The file could not be read.")
				return
			}
			if n > maxUpload {
				fail(http.StatusBadRequest, 131053, "(#131053) Media upload error", "The file is larger than 100 MB.")
				return
			}
			up.Size, up.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		}
		part.Close()
	}
	switch {
	case product != "whatsapp":
		fail(http.StatusBadRequest, 100, "(#100) The parameter messaging_product is required.", "")
		return
	case up.MimeType == "" || up.Size == 0:
		fail(http.StatusBadRequest, 100, "(#100) The parameters file and type are required.", "")
		return
	}
	f.mu.Lock()
	f.seq++
	up.ID = fmt.Sprintf("%d%06d", 1_700_000_000_000, f.seq)
	if f.uploads == nil {
		f.uploads = map[string]Upload{}
	}
	f.uploads[up.ID] = up
	f.mu.Unlock()
	rec.HTTPStatus = http.StatusOK
	f.record(rec)
	writeJSON(w, http.StatusOK, map[string]string{"id": up.ID})
}

// Uploads returns the files uploaded so far, by media id.
func (f *Fake) Uploads() map[string]Upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Upload, len(f.uploads))
	for k, v := range f.uploads {
		out[k] = v
	}
	return out
}

// knownMedia reports whether a media message's id was uploaded here (or is one of
// the fake's own inbound media ids).
func (f *Fake) knownMedia(id string) bool {
	if mime, _ := MediaContent(id); mime != "" {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.uploads[strings.TrimSpace(id)]
	return ok
}
