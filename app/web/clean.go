package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/whatsapp"
)

// maxFormBody bounds a form the input cleaner parses (the pages' own limit is 10 MB).
const maxFormBody = 10 << 20

// cleanInput cleans every path parameter, query string and form value before any handler reads it:
// NUL removed, invalid UTF-8 replaced. PostgreSQL refuses both in text, so one of them
// typed in a search box, a note or a login email would otherwise be a 500.
// Webhook bodies are left alone: their signature covers the exact bytes, and the
// webhook parser cleans what it reads.
func cleanInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if pv := c.ParamValues(); len(pv) > 0 {
			changed := false
			clean := make([]string, len(pv))
			for i, v := range pv {
				clean[i] = whatsapp.CleanString(v)
				changed = changed || clean[i] != v
			}
			if changed {
				c.SetParamValues(clean...)
			}
		}
		if q := r.URL.RawQuery; q != "" && dirtyQuery(q) {
			vals, _ := url.ParseQuery(q)
			cleanValues(vals)
			r.URL.RawQuery = vals.Encode()
		}
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.URL.Path, "/webhooks/") {
			return next(c)
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		switch ct {
		case echo.MIMEApplicationForm, echo.MIMEMultipartForm:
			r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBody)
			var err error
			if ct == echo.MIMEMultipartForm {
				err = r.ParseMultipartForm(maxFormBody)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return echo.ErrStatusRequestEntityTooLarge
				}
				return echo.NewHTTPError(http.StatusBadRequest, "El formulario llegó incompleto o mal formado.")
			}
			cleanValues(r.Form)
			cleanValues(r.PostForm)
			if r.MultipartForm != nil {
				cleanValues(r.MultipartForm.Value)
				for _, fhs := range r.MultipartForm.File {
					for _, fh := range fhs {
						fh.Filename = whatsapp.CleanString(fh.Filename)
					}
				}
			}
		}
		return next(c)
	}
}

// dirtyQuery reports a raw query that may decode to a NUL or invalid UTF-8.
func dirtyQuery(q string) bool {
	if strings.Contains(q, "%") {
		return true
	}
	for i := 0; i < len(q); i++ {
		if q[i] >= 0x80 || q[i] == 0 {
			return true
		}
	}
	return false
}

func cleanValues(vals url.Values) {
	for k, vs := range vals {
		ck := whatsapp.CleanString(k)
		for i, v := range vs {
			vs[i] = whatsapp.CleanString(v)
		}
		if ck != k {
			delete(vals, k)
			vals[ck] = append(vals[ck], vs...)
		}
	}
}
