package web

import (
	"mime/multipart"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/whatsapp"
)

// cleanInput hands every handler (and every middleware after it) a context whose path
// parameters, query values and form values are clean: NUL removed, invalid UTF-8
// replaced. PostgreSQL refuses both in text, so one of them typed in a search box, a
// note, a close reason or a login email would otherwise be a 500. The cleaning happens
// as values are read, so no body is parsed here: each route's own body limit still
// applies. Webhook bodies are read raw (their signature covers the exact bytes) and
// cleaned by the webhook parser; the API's JSON bodies by bindJSON.
func cleanInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error { return next(&cleanContext{Context: c}) }
}

type cleanContext struct{ echo.Context }

func (c *cleanContext) Param(name string) string { return whatsapp.CleanString(c.Context.Param(name)) }

func (c *cleanContext) ParamValues() []string {
	vs := c.Context.ParamValues()
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = whatsapp.CleanString(v)
	}
	return out
}

func (c *cleanContext) QueryParam(name string) string {
	return whatsapp.CleanString(c.Context.QueryParam(name))
}

func (c *cleanContext) QueryParams() url.Values { return cleanValues(c.Context.QueryParams()) }

func (c *cleanContext) FormValue(name string) string {
	return whatsapp.CleanString(c.Context.FormValue(name))
}

func (c *cleanContext) FormParams() (url.Values, error) {
	vs, err := c.Context.FormParams()
	return cleanValues(vs), err
}

func (c *cleanContext) FormFile(name string) (*multipart.FileHeader, error) {
	fh, err := c.Context.FormFile(name)
	if fh != nil {
		fh.Filename = whatsapp.CleanString(fh.Filename)
	}
	return fh, err
}

func (c *cleanContext) MultipartForm() (*multipart.Form, error) {
	f, err := c.Context.MultipartForm()
	if f != nil {
		f.Value = cleanValues(f.Value)
		for _, fhs := range f.File {
			for _, fh := range fhs {
				fh.Filename = whatsapp.CleanString(fh.Filename)
			}
		}
	}
	return f, err
}

// cleanValues returns vals with every key and value cleaned (a copy only when needed).
func cleanValues[M ~map[string][]string](vals M) M {
	dirty := false
	for k, vs := range vals {
		if whatsapp.CleanString(k) != k {
			dirty = true
		}
		for _, v := range vs {
			if whatsapp.CleanString(v) != v {
				dirty = true
			}
		}
	}
	if !dirty {
		return vals
	}
	out := make(M, len(vals))
	for k, vs := range vals {
		ck := whatsapp.CleanString(k)
		for _, v := range vs {
			out[ck] = append(out[ck], whatsapp.CleanString(v))
		}
	}
	return out
}
