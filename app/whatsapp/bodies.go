package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxTextLen is the longest text body the Cloud API accepts, in characters.
const MaxTextLen = 4096

// Text validation errors, worded for agents.
var (
	ErrEmptyText   = errors.New("escribe un mensaje antes de enviarlo")
	ErrTextTooLong = fmt.Errorf("el mensaje supera los %d caracteres que permite WhatsApp", MaxTextLen)
)

// ValidateText checks a free-form text body before TextBody builds it: Meta rejects
// empty bodies and bodies over MaxTextLen characters with code 100.
func ValidateText(body string) error {
	if strings.TrimSpace(body) == "" {
		return ErrEmptyText
	}
	if utf8.RuneCountInString(body) > MaxTextLen {
		return ErrTextTooLong
	}
	return nil
}

type messageContext struct {
	MessageID string `json:"message_id"`
}

type textPart struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type textRequest struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to,omitempty"`
	Recipient        string          `json:"recipient,omitempty"`
	Context          *messageContext `json:"context,omitempty"`
	Type             string          `json:"type"`
	Text             textPart        `json:"text"`
}

type templateParameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type templateComponent struct {
	Type       string              `json:"type"`
	Parameters []templateParameter `json:"parameters"`
}

type templateLanguage struct {
	Code string `json:"code"`
}

type templatePart struct {
	Name       string              `json:"name"`
	Language   templateLanguage    `json:"language"`
	Components []templateComponent `json:"components,omitempty"`
}

type templateRequest struct {
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type"`
	To               string       `json:"to,omitempty"`
	Recipient        string       `json:"recipient,omitempty"`
	Type             string       `json:"type"`
	Template         templatePart `json:"template"`
}

type readRequest struct {
	MessagingProduct string `json:"messaging_product"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
}

// TextBody is the Graph request body of a free-form text message to wa_id to, in reply
// to contextWamid when it is not empty. Link previews stay off: agents paste links to
// quotes and invoices that should not unfurl. Call ValidateText on body first.
func TextBody(to, body, contextWamid string) []byte {
	r := textRequest{MessagingProduct: "whatsapp", RecipientType: "individual", Type: "text",
		Text: textPart{Body: body}}
	r.To, r.Recipient = addressee(to)
	if contextWamid != "" {
		r.Context = &messageContext{MessageID: contextWamid}
	}
	return marshal(r)
}

// TemplateBody is the Graph request body of an approved template name in language lang
// (e.g. "es", "es_MX"), with params filling the body's {{1}}, {{2}}… in order.
func TemplateBody(to, name, lang string, params []string) []byte {
	r := templateRequest{MessagingProduct: "whatsapp", RecipientType: "individual", Type: "template",
		Template: templatePart{Name: name, Language: templateLanguage{Code: lang}}}
	r.To, r.Recipient = addressee(to)
	if len(params) > 0 {
		c := templateComponent{Type: "body"}
		for _, p := range params {
			c.Parameters = append(c.Parameters, templateParameter{Type: "text", Text: p})
		}
		r.Template.Components = []templateComponent{c}
	}
	return marshal(r)
}

// ReadBody is the Graph request body that marks the customer's message wamid as read
// (the customer sees blue ticks).
func ReadBody(wamid string) []byte {
	return marshal(readRequest{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid})
}

// IsUserID reports whether id is a business-scoped user id ("user.…", "US.1349…")
// rather than a wa_id (digits, perhaps with a "+").
func IsUserID(id string) bool { return strings.Contains(id, ".") }

// addressee fills "to" with a phone number, or "recipient" with a business-scoped user
// id: Meta sends to a user id only through "recipient" (and "to" wins when both are set).
func addressee(id string) (to, recipient string) {
	if IsUserID(id) {
		return "", strings.TrimSpace(id)
	}
	return plus(id), ""
}

// plus writes a wa_id as Meta's examples do: "+" and digits.
func plus(waID string) string { return "+" + NormalizeWaID(waID) }

// marshal encodes without HTML escaping, so "<" and "&" in a message stay readable in
// the stored outbox payload.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain structs of strings reach here
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// ErrorReasonES explains a Cloud API error code to agents, in Spanish: what happened and
// what to do. Codes it does not know yield fallback (Meta's own message), or a generic
// sentence when fallback is empty.
func ErrorReasonES(code int, fallback string) string {
	if r, ok := reasonsES[code]; ok {
		return r
	}
	if code >= 132000 && code <= 132099 {
		return fmt.Sprintf("WhatsApp rechazó la plantilla (código %d): revísala en el administrador de WhatsApp antes de volver a usarla.", code)
	}
	if fallback = strings.TrimSpace(fallback); fallback != "" {
		return fallback
	}
	if code == 0 {
		return "WhatsApp no aceptó el mensaje."
	}
	return fmt.Sprintf("WhatsApp rechazó el mensaje (código %d).", code)
}

var reasonsES = map[int]string{
	130429: "WhatsApp está limitando la velocidad de envío de este número: hay demasiados mensajes por segundo.",
	131056: "Se enviaron demasiados mensajes seguidos a este cliente en poco tiempo.",
	131000: "WhatsApp tuvo un error inesperado al procesar el mensaje.",
	1:      "La API de WhatsApp tuvo un error temporal.",
	2:      "El servicio de WhatsApp no está disponible por el momento.",
	131016: "WhatsApp está sobrecargado en este momento.",
	133004: "El servidor de WhatsApp de este número no está disponible temporalmente.",
	131057: "La cuenta de WhatsApp Business está en mantenimiento.",
	4:      "La aplicación llegó al límite de llamadas a la API de WhatsApp.",
	80007:  "La cuenta de WhatsApp Business llegó a su límite de envíos.",
	131048: "WhatsApp limitó los envíos de este número porque varios clientes marcaron mensajes como spam.",
	131047: "Pasaron más de 24 horas desde el último mensaje del cliente: envía una plantilla aprobada.",
	131026: "No se pudo entregar: el número no usa WhatsApp o su aplicación está desactualizada.",
	131049: "WhatsApp no entregó esta plantilla de marketing para no saturar al cliente: inténtalo más adelante.",
	131050: "El cliente pidió no recibir mensajes de marketing de tu empresa.",
	100:    "WhatsApp rechazó el mensaje porque la solicitud no es válida (destinatario, texto o formato).",
	131051: "WhatsApp no admite este tipo de mensaje.",
	131053: "No se pudo procesar el archivo adjunto: revisa su formato y tamaño.",
	132000: "La cantidad de variables no coincide con la plantilla aprobada.",
	132001: "La plantilla no existe en ese idioma o todavía no está aprobada.",
	132005: "El texto de la plantilla con sus variables es demasiado largo.",
	132007: "El contenido de la plantilla infringe las políticas de WhatsApp.",
	132012: "Las variables no tienen el formato que espera la plantilla.",
	132015: "La plantilla está pausada por su baja calidad: elige otra.",
	132016: "La plantilla fue desactivada por su baja calidad: elige otra.",
	190:    "El token de acceso del canal venció o fue revocado: un administrador debe renovarlo en la configuración del canal.",
	368:    "Meta restringió temporalmente la cuenta por infringir sus políticas: un administrador debe revisarlo.",
	131042: "Hay un problema con el método de pago de la cuenta de WhatsApp Business: un administrador debe revisarlo.",
}
