package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/views/pages/settings"
)

// Webhooks (Configuración → Webhooks, admins): the latest deliveries from Meta with
// their outcome, and the items that could not be applied, each with «Reintentar».

func (s *Server) webhooksList(c echo.Context) error {
	ctx, v := c.Request().Context(), viewer(c)
	deliveries, err := s.Ingest.Deliveries(ctx, v.Workspace.ID, 50)
	if err != nil {
		return err
	}
	dead, err := s.Ingest.DeadLetters(ctx, v.Workspace.ID, false, 100)
	if err != nil {
		return err
	}
	p := settings.WebhooksPage{CSRFToken: s.csrfToken(c), Now: s.Clock.Now(), Loc: workspaceLocation(v.Workspace.Timezone)}
	for _, d := range deliveries {
		p.Deliveries = append(p.Deliveries, settings.DeliveryRow{ID: d.ID, Channel: d.ChannelName, ReceivedAt: d.ReceivedAt, Bytes: d.Bytes,
			Messages: d.Messages, Statuses: d.Statuses, Duplicates: d.Duplicates, Failed: d.Failed})
	}
	for _, d := range dead {
		p.DeadLetters = append(p.DeadLetters, settings.DeadLetterRow{ID: d.ID, Channel: d.ChannelName, Kind: d.Kind, ItemID: d.ItemID,
			Error: d.Error, ReceivedAt: d.ReceivedAt, Attempts: d.Attempts, NextRetryAt: d.NextRetryAt, ResolvedAt: d.ResolvedAt})
		if d.ResolvedAt == nil {
			p.Pending++
		}
	}
	return s.render(c, http.StatusOK, s.globals(c, "Webhooks", "settings"), settings.Shell("webhooks", settings.Webhooks(p)))
}

func (s *Server) webhookReplay(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	r, err := s.Ingest.Replay(c.Request().Context(), v.Workspace.ID, id, s.Clock.Now())
	if errors.Is(err, apperr.ErrNotFound) {
		return err
	}
	if err != nil {
		return err
	}
	if err := audit.Record(s.DB.Gorm.WithContext(c.Request().Context()), audit.Entry{WorkspaceID: v.Workspace.ID, Action: audit.WebhookReplay,
		TargetType: "webhook_dead_letter", TargetID: id, Data: map[string]any{"resolved": r.Resolved}}); err != nil {
		return err
	}
	if r.Resolved {
		s.flash(c, "Listo: el elemento se guardó.")
	} else {
		s.flash(c, "Volvió a fallar: "+r.Error)
	}
	return seeOther(c, "/settings/webhooks")
}
