package web

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/channels"
	"github.com/atiende/atiende/app/secrets"
	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/views/pages/settings"
)

// Channels (Configuración → Canales): connect WhatsApp numbers. Secrets go in through
// password inputs and never come back out: pages show them masked ("••••abcd").

func (s *Server) channelsPage(c echo.Context, status int, f settings.ChannelForm) error {
	chans, err := s.Channels.List(c.Request().Context(), viewer(c).Workspace.ID)
	if err != nil {
		return err
	}
	rows := make([]settings.ChannelRow, len(chans))
	for i, ch := range chans {
		rows[i] = settings.ChannelRow{ID: ch.ID, Name: ch.Name, DisplayPhone: ch.DisplayPhone, PhoneNumberID: ch.PhoneNumberID,
			WabaID: ch.WabaID, Active: ch.Active, WebhookURL: webhookURL(c, ch), VerifyMasked: s.maskedSecrets(ch).VerifyToken}
	}
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Canales", "settings"), settings.Shell("channels", settings.Channels(rows, f)))
}

func (s *Server) channelsList(c echo.Context) error {
	return s.channelsPage(c, http.StatusOK, settings.ChannelForm{})
}

// channelInput parses the channel form.
func channelInput(c echo.Context) channels.Input {
	return channels.Input{Name: c.FormValue("name"), PhoneNumberID: c.FormValue("phone_number_id"),
		DisplayPhone: c.FormValue("display_phone"), WabaID: c.FormValue("waba_id"), AccessToken: c.FormValue("access_token"),
		AppSecret: c.FormValue("app_secret"), VerifyToken: c.FormValue("verify_token")}
}

// channelFormFrom refills the form after an error with what was typed, except secrets.
func channelFormFrom(id int64, in channels.Input, errs apperr.Validation) settings.ChannelForm {
	return settings.ChannelForm{ID: id, Name: in.Name, PhoneNumberID: in.PhoneNumberID, DisplayPhone: in.DisplayPhone,
		WabaID: in.WabaID, Errors: errs}
}

func (s *Server) channelCreate(c echo.Context) error {
	ctx := c.Request().Context()
	in := channelInput(c)
	ch, err := s.Channels.Create(ctx, viewer(c).Workspace.ID, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.flash(c, "Número conectado: "+ch.Name+". Falta un paso: configura el webhook en Meta con la URL que ves abajo.")
		return seeOther(c, "/settings/channels")
	case errors.As(err, &verr):
		return s.channelsPage(c, http.StatusUnprocessableEntity, channelFormFrom(0, in, s.explainChannelConflict(c, verr, in, 0)))
	}
	return err
}

func (s *Server) channelEditPage(c echo.Context, status int, ch models.Channel, f settings.ChannelForm) error {
	f.ID = ch.ID
	f.WebhookURL = webhookURL(c, ch)
	f.Masked = s.maskedSecrets(ch)
	f.CSRFToken = s.csrfToken(c)
	return s.render(c, status, s.globals(c, "Editar canal", "settings"), settings.Shell("channels", s.withAutoLead(c, ch, settings.ChannelEdit(f))))
}

func (s *Server) channelEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ch, err := s.Channels.Get(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	f := settings.ChannelForm{Name: ch.Name, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone, WabaID: ch.WabaID}
	return s.channelEditPage(c, http.StatusOK, ch, f)
}

func (s *Server) channelUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	wsID := viewer(c).Workspace.ID
	current, err := s.Channels.Get(ctx, wsID, id)
	if err != nil {
		return err
	}
	in := channelInput(c)
	ch, err := s.Channels.Update(ctx, wsID, id, in)
	var verr apperr.Validation
	switch {
	case err == nil:
		s.forgetWebhookChannel(ch.WebhookKey)
		s.flash(c, "Cambios guardados: "+ch.Name)
		return seeOther(c, "/settings/channels")
	case errors.As(err, &verr):
		return s.channelEditPage(c, http.StatusUnprocessableEntity, current, channelFormFrom(id, in, s.explainChannelConflict(c, verr, in, id)))
	}
	return err
}

// webhookURL is the absolute URL Meta must call for ch, as this request reached us.
func webhookURL(c echo.Context, ch models.Channel) string {
	return c.Scheme() + "://" + c.Request().Host + ch.WebhookPath()
}

// maskedSecrets decrypts ch's secrets only to mask them; a secret that cannot be
// decrypted (the key changed) says so instead of failing the page.
func (s *Server) maskedSecrets(ch models.Channel) settings.ChannelSecretsMasked {
	creds, err := s.Channels.Credentials(ch)
	if err != nil {
		const unreadable = "no se puede leer: vuelve a pegarlo"
		return settings.ChannelSecretsMasked{AccessToken: unreadable, AppSecret: unreadable, VerifyToken: unreadable}
	}
	return settings.ChannelSecretsMasked{AccessToken: secrets.Mask(creds.AccessToken), AppSecret: secrets.Mask(creds.AppSecret),
		VerifyToken: secrets.Mask(creds.VerifyToken)}
}

var phoneNumberIDRe = regexp.MustCompile(`^[0-9]{5,30}$`)

// explainChannelConflict puts a uniqueness error under the right field: the channels
// service reports both "phone number id taken" and "name taken" under phone_number_id.
func (s *Server) explainChannelConflict(c echo.Context, v apperr.Validation, in channels.Input, selfID int64) apperr.Validation {
	pid := strings.TrimSpace(in.PhoneNumberID)
	if _, ok := v["phone_number_id"]; !ok || len(v) != 1 || !phoneNumberIDRe.MatchString(pid) {
		return v // a format error, not a conflict
	}
	other, err := s.Channels.ByPhoneNumberID(c.Request().Context(), pid)
	if err == nil && other.ID != selfID {
		return apperr.Validation{"phone_number_id": "Ese Phone number ID ya está conectado en Atiende. Cada número se conecta una sola vez."}
	}
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && other.ID == selfID) {
		return apperr.Validation{"name": "Ya tienes un canal con ese nombre: elige otro"}
	}
	return v
}
