package web

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
	crmview "github.com/atiende/atiende/views/pages/crm"
)

// Oportunidades: the lead board (kanban per pipeline), the list view with CSV export,
// a lead's page, and the leads card of the conversation panel.

// leadFilters reads the board's and list's filters from the URL.
func (s *Server) leadFilters(c echo.Context) (crm.Filter, crmview.Filters) {
	v := viewer(c)
	var f crm.Filter
	var vf crmview.Filters
	q := url.Values{}
	if id, err := strconv.ParseInt(c.QueryParam("pipeline"), 10, 64); err == nil && id > 0 {
		f.PipelineID, vf.PipelineID = id, id
		q.Set("pipeline", strconv.FormatInt(id, 10))
	}
	switch owner := c.QueryParam("owner"); owner {
	case "":
	case "me":
		f.OwnerID, vf.Owner = v.User.ID, "me"
	case "none":
		f.OwnerID, vf.Owner = -1, "none"
	default:
		if id, err := strconv.ParseInt(owner, 10, 64); err == nil && id > 0 {
			f.OwnerID, vf.Owner = id, owner
		}
	}
	if vf.Owner != "" {
		q.Set("owner", vf.Owner)
	}
	if t, err := time.Parse(time.DateOnly, c.QueryParam("close_from")); err == nil {
		f.CloseFrom, vf.CloseFrom = t, c.QueryParam("close_from")
		q.Set("close_from", vf.CloseFrom)
	}
	if t, err := time.Parse(time.DateOnly, c.QueryParam("close_to")); err == nil {
		f.CloseTo, vf.CloseTo = t, c.QueryParam("close_to")
		q.Set("close_to", vf.CloseTo)
	}
	vf.Active = vf.Owner != "" || vf.CloseFrom != "" || vf.CloseTo != ""
	vf.Query = q.Encode()
	return f, vf
}

func (s *Server) leadOwners(c echo.Context) ([]crmview.Option, error) {
	us, err := s.Services.CRM.People(c.Request().Context(), viewer(c).Workspace.ID)
	opts := make([]crmview.Option, len(us))
	for i, u := range us {
		opts[i] = crmview.Option{ID: u.ID, Name: u.Name}
	}
	return opts, err
}

func (s *Server) boardProps(c echo.Context) (crmview.BoardProps, crm.Filter, error) {
	v := viewer(c)
	f, vf := s.leadFilters(c)
	b, err := s.Services.CRM.Board(c.Request().Context(), v, f)
	if err != nil {
		return crmview.BoardProps{}, f, err
	}
	owners, err := s.leadOwners(c)
	if err != nil {
		return crmview.BoardProps{}, f, err
	}
	if vf.PipelineID == 0 { // links keep the pipeline shown
		vf.PipelineID = b.Pipeline.ID
		if vf.Query == "" {
			vf.Query = "pipeline=" + strconv.FormatInt(b.Pipeline.ID, 10)
		} else {
			vf.Query = "pipeline=" + strconv.FormatInt(b.Pipeline.ID, 10) + "&" + vf.Query
		}
	}
	f.PipelineID = b.Pipeline.ID
	return crmview.BoardProps{Board: b, Filters: vf, Owners: owners, CSRF: s.csrfToken(c), Now: s.Clock.Now(),
		Loc: v.Workspace.Location(), IsAdmin: v.IsAdmin()}, f, nil
}

// leadBoard is GET /leads.
func (s *Server) leadBoard(c echo.Context) error {
	p, _, err := s.boardProps(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, s.globals(c, "Oportunidades", "leads"), crmview.BoardPage(p))
}

// leadColumn is GET /leads/columns/:id?after=cursor: the next page of a column.
func (s *Server) leadColumn(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	v := viewer(c)
	f, vf := s.leadFilters(c)
	col, err := s.Services.CRM.ColumnPage(c.Request().Context(), v, f, id, c.QueryParam("after"))
	if err != nil {
		return err
	}
	p := crmview.BoardProps{Filters: vf, CSRF: s.csrfToken(c), Now: s.Clock.Now(), Loc: v.Workspace.Location()}
	return renderComponent(c, http.StatusOK, crmview.ColumnCards(p, col))
}

// leadMove is POST /leads/:id/stage: a drag on the board, the panel's or the lead
// page's stage select. The board gets the card and every column head back; the panel
// gets itself; the page goes back to the lead.
func (s *Server) leadMove(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := viewer(c)
	stageID, _ := strconv.ParseInt(c.FormValue("stage_id"), 10, 64)
	if stageID <= 0 {
		return apperr.Validation{"stage": "Elige una etapa"}
	}
	l, err := s.Services.CRM.MoveLead(ctx, inbox.By(v), id, stageID, c.FormValue("reason"))
	from := c.FormValue("from")
	if err != nil {
		var verr apperr.Validation
		if from == "panel" && errors.As(err, &verr) {
			// The panel again, with the message beside the field (a lost stage asks for its reason).
			lv, lerr := s.Services.CRM.Lead(ctx, v, id)
			if lerr != nil || lv.ConversationID == nil {
				return err
			}
			pp, perr := s.leadPanel(c, *lv.ConversationID, lv.ContactID, verr)
			if perr != nil {
				return perr
			}
			for i := range pp.Leads {
				if pp.Leads[i].ID == id {
					pp.Leads[i].StageID = stageID // keep the choice while asking for the reason
				}
			}
			return renderComponent(c, http.StatusOK, crmview.Panel(pp))
		}
		if from == "page" && errors.As(err, &verr) {
			return s.leadPage(c, id, verr)
		}
		return err
	}
	switch from {
	case "panel":
		if l.ConversationID == nil {
			return c.NoContent(http.StatusNoContent)
		}
		return s.renderLeadPanel(c, *l.ConversationID, l.ContactID, nil)
	case "page":
		s.flash(c, "Etapa actualizada.")
		return seeOther(c, "/leads/"+strconv.FormatInt(id, 10))
	}
	if !isHTMX(c) {
		return seeOther(c, "/leads?pipeline="+strconv.FormatInt(l.PipelineID, 10))
	}
	// The board: totals after the move, and the card as it is now.
	p, f, err := s.boardProps(c)
	if err != nil {
		return err
	}
	col, err := s.Services.CRM.ColumnPage(ctx, v, crm.Filter{PipelineID: f.PipelineID}, l.StageID, "")
	if err != nil {
		return err
	}
	var st models.Stage
	var card *crm.Card
	st = col.Stage
	for i := range col.Cards {
		if col.Cards[i].ID == l.ID {
			card = &col.Cards[i]
		}
	}
	if card == nil {
		lv, err := s.Services.CRM.Lead(ctx, v, l.ID)
		if err != nil {
			return err
		}
		card = &crm.Card{ID: lv.ID, Title: lv.Title, Value: lv.Value, Currency: lv.Currency, ContactName: lv.ContactName, OwnerName: lv.OwnerName,
			ExpectedClose: lv.ExpectedClose, StageChangedAt: lv.StageChangedAt, LostReason: lv.LostReason}
	}
	if err := crmview.Card(p, st, *card).Render(ctx, c.Response()); err != nil {
		return err
	}
	return crmview.Heads(p.Board).Render(ctx, c.Response())
}

// leadList is GET /leads/list: the table view ("Cargar más" answers rows only).
func (s *Server) leadList(c echo.Context) error {
	bp, f, err := s.boardProps(c)
	if err != nil {
		return err
	}
	page, err := s.Services.CRM.List(c.Request().Context(), viewer(c), f, c.QueryParam("after"), 0)
	if err != nil {
		return err
	}
	p := crmview.ListProps{BoardProps: bp, Page: page}
	if c.QueryParam("after") != "" && isHTMX(c) {
		return renderComponent(c, http.StatusOK, crmview.ListRows(p))
	}
	return s.render(c, http.StatusOK, s.globals(c, "Oportunidades", "leads"), crmview.ListPage(p))
}

// leadExport is GET /leads/export.csv: the filtered list as CSV.
func (s *Server) leadExport(c echo.Context) error {
	v := viewer(c)
	f, _ := s.leadFilters(c)
	if f.PipelineID == 0 {
		p, err := s.Services.CRM.PipelineByName(c.Request().Context(), v.Workspace.ID, "")
		if err != nil {
			return err
		}
		f.PipelineID = p.ID
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="oportunidades.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"id", "titulo", "contacto", "telefono", "embudo", "etapa", "valor", "moneda", "responsable", "cierre_previsto",
		"creada", "en_etapa_desde", "motivo_perdida", "conversacion_id"})
	loc := v.Workspace.Location()
	err := s.Services.CRM.Each(c.Request().Context(), v, f, func(l crm.LeadView) error {
		closeDate := ""
		if l.ExpectedClose != nil {
			closeDate = l.ExpectedClose.Format(time.DateOnly)
		}
		conv := ""
		if l.ConversationID != nil {
			conv = strconv.FormatInt(*l.ConversationID, 10)
		}
		return w.Write([]string{strconv.FormatInt(l.ID, 10), csvSafe(l.Title), csvSafe(l.ContactName), l.ContactPhone, csvSafe(l.PipelineName),
			csvSafe(l.StageName), strconv.FormatFloat(l.Value, 'f', 2, 64), l.Currency, csvSafe(l.OwnerName), closeDate,
			l.CreatedAt.In(loc).Format("2006-01-02 15:04"), l.StageChangedAt.In(loc).Format("2006-01-02 15:04"), csvSafe(l.LostReason), conv})
	})
	w.Flush()
	if err != nil {
		s.Logger.Error("lead export failed midway", "err", err)
	}
	return nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.

// leadShow is GET /leads/:id.
func (s *Server) leadShow(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	return s.leadPage(c, id, nil)
}

func (s *Server) leadPage(c echo.Context, id int64, errs apperr.Validation) error {
	ctx := c.Request().Context()
	v := viewer(c)
	l, err := s.Services.CRM.Lead(ctx, v, id)
	if err != nil {
		return err
	}
	p, err := s.Services.CRM.Pipeline(ctx, v.Workspace.ID, l.PipelineID)
	if err != nil {
		return err
	}
	tl, err := s.Services.CRM.Timeline(ctx, l.ID)
	if err != nil {
		return err
	}
	tasks, err := s.Services.CRM.Tasks(ctx, adminView(v), crm.TaskFilter{LeadID: l.ID})
	if err != nil {
		return err
	}
	owners, err := s.leadOwners(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, s.globals(c, l.Title, "leads"), crmview.LeadPage(crmview.LeadProps{Lead: l, Stages: p.Stages, Timeline: tl,
		Tasks: tasks, Owners: owners, Errors: errs, CSRF: s.csrfToken(c), Now: s.Clock.Now(), Loc: v.Workspace.Location()}))
}

// adminView widens v to the workspace: for lists whose parent the viewer already may see
// (a visible lead's tasks).
func adminView(v accounts.Viewer) accounts.Viewer {
	v.User.Role = models.RoleAdmin
	return v
}

// leadUpdate is POST /leads/:id: the lead page's edit form.
func (s *Server) leadUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	patch := crm.LeadPatch{}
	title := c.FormValue("title")
	patch.Title = &title
	errs := apperr.Validation{}
	value, ok := parseAmount(c.FormValue("value"))
	if !ok {
		errs.Add("value", "Escribe el valor con números, por ejemplo 1250 o 1250,50")
	}
	patch.Value = &value
	cur := c.FormValue("currency")
	patch.Currency = &cur
	var owner *int64
	if o, err := strconv.ParseInt(c.FormValue("owner_id"), 10, 64); err == nil && o > 0 {
		owner = &o
	}
	patch.OwnerID = &owner
	var closeAt *time.Time
	if raw := c.FormValue("expected_close"); raw != "" {
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			errs.Add("expected_close", "La fecha no es válida")
		}
		closeAt = &t
	}
	patch.ExpectedClose = &closeAt
	if len(errs) > 0 {
		return s.leadPage(c, id, errs)
	}
	if _, err := s.Services.CRM.UpdateLead(c.Request().Context(), inbox.By(viewer(c)), id, patch); err != nil {
		var verr apperr.Validation
		if errors.As(err, &verr) {
			return s.leadPage(c, id, verr)
		}
		return err
	}
	s.flash(c, "Cambios guardados.")
	return seeOther(c, "/leads/"+strconv.FormatInt(id, 10))
}

// parseAmount reads "1250", "1250.5", "1.250,50" or "1,250.50"; "" is 0.
func parseAmount(s string) (float64, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, " ", ""))
	if s == "" {
		return 0, true
	}
	dot, comma := strings.LastIndex(s, "."), strings.LastIndex(s, ",")
	switch {
	case comma > dot: // 1.250,50
		s = strings.ReplaceAll(s, ".", "")
		s = strings.Replace(s, ",", ".", 1)
	case dot > comma && comma >= 0: // 1,250.50
		s = strings.ReplaceAll(s, ",", "")
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && v >= 0
}

// conversationLeadCreate is POST /conversations/:id/leads: "Crear oportunidad" in one
// click (contact prefilled, owner = the agent, the default pipeline's first open stage).
func (s *Server) conversationLeadCreate(c echo.Context) error {
	id, err := convID(c)
	if err != nil {
		return err
	}
	l, err := s.Services.CRM.CreateLead(c.Request().Context(), inbox.By(viewer(c)), crm.LeadInput{ConversationID: &id})
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		s.flash(c, "Oportunidad creada: "+l.Title+".")
		return seeOther(c, "/conversations/"+strconv.FormatInt(id, 10))
	}
	return s.renderLeadPanel(c, id, l.ContactID, nil)
}

// leadPanel builds the conversation panel's leads card.
func (s *Server) leadPanel(c echo.Context, convID, contactID int64, errs apperr.Validation) (crmview.PanelProps, error) {
	ctx := c.Request().Context()
	v := viewer(c)
	leads, err := s.Services.CRM.LeadsOfConversation(ctx, v, convID, contactID)
	if err != nil {
		return crmview.PanelProps{}, err
	}
	p := crmview.PanelProps{ConversationID: convID, Leads: leads, Stages: map[int64][]models.Stage{}, Errors: errs,
		CSRF: s.csrfToken(c), Now: s.Clock.Now()}
	if len(leads) > 0 {
		ps, err := s.Services.CRM.Pipelines(ctx, v.Workspace.ID)
		if err != nil {
			return p, err
		}
		for _, pl := range ps {
			p.Stages[pl.ID] = pl.Stages
		}
	}
	return p, nil
}

func (s *Server) renderLeadPanel(c echo.Context, convID, contactID int64, errs apperr.Validation) error {
	p, err := s.leadPanel(c, convID, contactID, errs)
	if err != nil {
		return err
	}
	return renderComponent(c, http.StatusOK, crmview.Panel(p))
}
