package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// MetaTemplate is one message template of a WhatsApp Business Account, as
// GET /{waba-id}/message_templates lists it.
type MetaTemplate struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Language        string          `json:"language"`
	Status          string          `json:"status"`
	Category        string          `json:"category"`
	ParameterFormat string          `json:"parameter_format"`
	Components      json.RawMessage `json:"components"`
}

type templatesAnswer struct {
	Data   []MetaTemplate `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// maxTemplatePages bounds a listing (250 templates a page): Meta allows 250 templates
// per account, so a longer listing is a cursor that never ends.
const maxTemplatePages = 100

// ListTemplates returns every template of the WhatsApp Business Account wabaID,
// following the pages' after cursors.
func (c *Client) ListTemplates(ctx context.Context, wabaID, token string) ([]MetaTemplate, error) {
	var out []MetaTemplate
	after := ""
	for range maxTemplatePages {
		q := url.Values{"fields": {"id,name,status,category,language,parameter_format,components"}, "limit": {"250"}}
		if after != "" {
			q.Set("after", after)
		}
		u := c.BaseURL + "/" + url.PathEscape(wabaID) + "/message_templates?" + q.Encode()
		b, err := c.do(ctx, "GET", u, token, nil, 16<<20, nil)
		if err != nil {
			return nil, err
		}
		var a templatesAnswer
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("whatsapp: unreadable template list: %w", err)
		}
		out = append(out, a.Data...)
		if a.Paging.Next == "" || a.Paging.Cursors.After == "" || len(a.Data) == 0 {
			return out, nil
		}
		after = a.Paging.Cursors.After
	}
	return nil, fmt.Errorf("whatsapp: the template list of %s did not end after %d pages", wabaID, maxTemplatePages)
}

// TemplateSpec is what a template asks for when it is sent: its header (text or
// media), the body's variables (positional "1", "2"… or named), footer and buttons.
type TemplateSpec struct {
	HeaderFormat string // "", TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	HeaderText   string
	HeaderParams []string // variables of a text header
	Body         string
	BodyParams   []string // "1", "2"… or names, in order of first appearance
	Named        bool
	Footer       string
	Buttons      []TemplateButton
}

// TemplateButton is one button of a template. A URL button whose address ends in a
// variable takes a value when sent (Dynamic).
type TemplateButton struct {
	Type    string // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE…
	Text    string
	URL     string
	Dynamic bool
}

// MediaHeader reports whether the header is a file chosen when sending.
func (s TemplateSpec) MediaHeader() bool {
	switch s.HeaderFormat {
	case "IMAGE", "VIDEO", "DOCUMENT":
		return true
	}
	return false
}

// HeaderKind is the media kind of a media header: image, video or document.
func (s TemplateSpec) HeaderKind() string { return strings.ToLower(s.HeaderFormat) }

// DynamicButtons counts the buttons that take a value when sent.
func (s TemplateSpec) DynamicButtons() int {
	n := 0
	for _, b := range s.Buttons {
		if b.Dynamic {
			n++
		}
	}
	return n
}

var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// TemplateVars lists the variables of a text in order of first appearance.
func TemplateVars(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range templateVar.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// FillVars replaces each {{name}} of text with values[name].
func FillVars(text string, values map[string]string) string {
	return templateVar.ReplaceAllStringFunc(text, func(m string) string {
		k := templateVar.FindStringSubmatch(m)[1]
		if v, ok := values[k]; ok {
			return v
		}
		return m
	})
}

type rawComponent struct {
	Type    string `json:"type"`
	Format  string `json:"format"`
	Text    string `json:"text"`
	Buttons []struct {
		Type string `json:"type"`
		Text string `json:"text"`
		URL  string `json:"url"`
	} `json:"buttons"`
}

// ParseTemplate reads Meta's components; body is used when there are none (templates
// registered by hand, with positional variables).
func ParseTemplate(components []byte, body string) TemplateSpec {
	var cs []rawComponent
	_ = json.Unmarshal(components, &cs)
	spec := TemplateSpec{Body: body}
	for _, c := range cs {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			spec.HeaderFormat, spec.HeaderText = strings.ToUpper(c.Format), c.Text
			if spec.HeaderFormat == "TEXT" {
				spec.HeaderParams = TemplateVars(c.Text)
			}
		case "BODY":
			spec.Body = c.Text
		case "FOOTER":
			spec.Footer = c.Text
		case "BUTTONS":
			for _, b := range c.Buttons {
				tb := TemplateButton{Type: strings.ToUpper(b.Type), Text: b.Text, URL: b.URL}
				tb.Dynamic = tb.Type == "URL" && len(TemplateVars(b.URL)) > 0
				spec.Buttons = append(spec.Buttons, tb)
			}
		}
	}
	spec.BodyParams = TemplateVars(spec.Body)
	for _, p := range spec.BodyParams {
		if _, err := strconv.Atoi(p); err != nil {
			spec.Named = true
		}
	}
	return spec
}

// TemplateValues are what an agent fills in to send a template.
type TemplateValues struct {
	Header  []string          // text header variables, in order
	MediaID string            // media header: the uploaded id (MediaIDPlaceholder until uploaded)
	Caption string            // unused by Meta for headers; kept for documents' file name
	Body    map[string]string // body variables by name or number
	Buttons map[int]string    // dynamic URL buttons' values by button index
}

type tplParam struct {
	Type          string         `json:"type"`
	ParameterName string         `json:"parameter_name,omitempty"`
	Text          string         `json:"text,omitempty"`
	Image         map[string]any `json:"image,omitempty"`
	Video         map[string]any `json:"video,omitempty"`
	Document      map[string]any `json:"document,omitempty"`
}

type tplComponent struct {
	Type       string     `json:"type"`
	SubType    string     `json:"sub_type,omitempty"`
	Index      string     `json:"index,omitempty"`
	Parameters []tplParam `json:"parameters"`
}

// TemplateMessageBody is the Graph request body of template name in lang to wa_id to,
// with spec's header, body and button parameters filled from vals.
func TemplateMessageBody(to, name, lang string, spec TemplateSpec, vals TemplateValues) []byte {
	var comps []tplComponent
	if spec.MediaHeader() {
		media := map[string]any{"id": vals.MediaID}
		if spec.HeaderFormat == "DOCUMENT" && vals.Caption != "" {
			media["filename"] = vals.Caption
		}
		p := tplParam{Type: spec.HeaderKind()}
		switch spec.HeaderFormat {
		case "IMAGE":
			p.Image = media
		case "VIDEO":
			p.Video = media
		case "DOCUMENT":
			p.Document = media
		}
		comps = append(comps, tplComponent{Type: "header", Parameters: []tplParam{p}})
	} else if len(spec.HeaderParams) > 0 {
		c := tplComponent{Type: "header"}
		for _, v := range vals.Header {
			c.Parameters = append(c.Parameters, tplParam{Type: "text", Text: v})
		}
		comps = append(comps, c)
	}
	if len(spec.BodyParams) > 0 {
		c := tplComponent{Type: "body"}
		for _, k := range spec.BodyParams {
			p := tplParam{Type: "text", Text: vals.Body[k]}
			if spec.Named {
				p.ParameterName = k
			}
			c.Parameters = append(c.Parameters, p)
		}
		comps = append(comps, c)
	}
	for i, b := range spec.Buttons {
		if b.Dynamic {
			comps = append(comps, tplComponent{Type: "button", SubType: "url", Index: strconv.Itoa(i),
				Parameters: []tplParam{{Type: "text", Text: vals.Buttons[i]}}})
		}
	}
	type tpl struct {
		Name       string           `json:"name"`
		Language   templateLanguage `json:"language"`
		Components []tplComponent   `json:"components,omitempty"`
	}
	return marshal(map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": plus(to),
		"type": "template", "template": tpl{Name: name, Language: templateLanguage{Code: lang}, Components: comps}})
}
