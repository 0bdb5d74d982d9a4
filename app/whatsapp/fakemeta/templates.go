package fakemeta

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Template is one message template as GET /{waba-id}/message_templates lists it.
type Template struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Status          string          `json:"status"`
	Category        string          `json:"category"`
	ParameterFormat string          `json:"parameter_format,omitempty"`
	Components      json.RawMessage `json:"components"`
}

// DefaultTemplates are what every WhatsApp Business Account of the fake holds unless
// SetTemplates says otherwise: approved ones with a text, image and document header,
// positional and named parameters and buttons, and one pending and one rejected.
func DefaultTemplates() []Template {
	return []Template{
		{ID: "1000001", Name: "bienvenida", Language: "es", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "POSITIONAL",
			Components: json.RawMessage(`[{"type":"BODY","text":"Hola {{1}}, gracias por escribir a {{2}}. ¿En qué podemos ayudarte hoy?","example":{"body_text":[["Ana","Comercial Andina"]]}}]`)},
		{ID: "1000002", Name: "cotizacion_lista", Language: "es", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "NAMED",
			Components: json.RawMessage(`[{"type":"HEADER","format":"DOCUMENT","example":{"header_handle":["https://example.com/cotizacion.pdf"]}},` +
				`{"type":"BODY","text":"Hola {{nombre}}, adjuntamos la cotización {{numero}}. Tiene validez de 15 días.","example":{"body_text_named_params":[{"param_name":"nombre","example":"Ana"},{"param_name":"numero","example":"C-1042"}]}},` +
				`{"type":"FOOTER","text":"Comercial Andina"},` +
				`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver cotización","url":"https://tienda.example.com/cotizaciones/{{1}}","example":["C-1042"]},{"type":"QUICK_REPLY","text":"Tengo dudas"}]}]`)},
		{ID: "1000003", Name: "novedades_catalogo", Language: "es", Status: "APPROVED", Category: "MARKETING", ParameterFormat: "POSITIONAL",
			Components: json.RawMessage(`[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["https://example.com/catalogo.jpg"]}},` +
				`{"type":"BODY","text":"¡{{1}}, llegó el catálogo de temporada! ¿Quieres que te enviemos los precios?","example":{"body_text":[["Ana"]]}},` +
				`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Sí, envíenlos"},{"type":"QUICK_REPLY","text":"Ahora no"}]}]`)},
		{ID: "1000004", Name: "recordatorio_pago", Language: "es", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "POSITIONAL",
			Components: json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"Recordatorio de pago"},` +
				`{"type":"BODY","text":"Hola {{1}}, te recordamos que tu pago de {{2}} vence el {{3}}.","example":{"body_text":[["Ana","S/ 350","15 de marzo"]]}},` +
				`{"type":"FOOTER","text":"Si ya pagaste, ignora este mensaje."}]`)},
		{ID: "1000005", Name: "encuesta_satisfaccion", Language: "es", Status: "PENDING", Category: "MARKETING",
			Components: json.RawMessage(`[{"type":"BODY","text":"¿Cómo calificarías la atención que recibiste?"}]`)},
		{ID: "1000006", Name: "oferta_relampago", Language: "es", Status: "REJECTED", Category: "MARKETING",
			Components: json.RawMessage(`[{"type":"BODY","text":"¡Solo hoy 70% de descuento!"}]`)},
	}
}

// SetTemplates replaces the templates of a WhatsApp Business Account.
func (f *Fake) SetTemplates(wabaID string, ts []Template) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.templateSets == nil {
		f.templateSets = map[string][]Template{}
	}
	f.templateSets[wabaID] = append([]Template(nil), ts...)
}

// templates answers GET /{waba-id}/message_templates like Meta: pages of ?limit= (25
// by default) with paging.cursors.after and a next link while more remain.
func (f *Fake) templates(w http.ResponseWriter, r *http.Request, wabaID string) {
	rec := Request{Method: r.Method, Path: r.URL.Path, At: time.Now()}
	if !f.tokenOK("", bearer(r)) {
		rec.HTTPStatus, rec.Code = http.StatusUnauthorized, 190
		f.record(rec)
		writeError(w, http.StatusUnauthorized, 190, "Error validating access token: Session has expired.", "")
		return
	}
	f.mu.Lock()
	ts, ok := f.templateSets[wabaID]
	f.mu.Unlock()
	if !ok {
		ts = DefaultTemplates()
	}
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 25
	}
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		if n, err2 := strconv.Atoi(string(b)); err != nil || err2 != nil || n < 0 {
			rec.HTTPStatus, rec.Code = http.StatusBadRequest, 100
			f.record(rec)
			writeError(w, http.StatusBadRequest, 100, "(#100) Invalid parameter", "Bad paging cursor.")
			return
		} else {
			start = n
		}
	}
	end := min(start+limit, len(ts))
	start = min(start, end)
	page := ts[start:end]
	cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(n))) }
	paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
	if end < len(ts) {
		next := *r.URL
		nq := next.Query()
		nq.Set("after", cursor(end))
		next.RawQuery = nq.Encode()
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		paging["next"] = (&url.URL{Scheme: scheme, Host: r.Host, Path: next.Path, RawQuery: next.RawQuery}).String()
	}
	rec.HTTPStatus = http.StatusOK
	f.record(rec)
	writeJSON(w, http.StatusOK, map[string]any{"data": page, "paging": paging})
}
