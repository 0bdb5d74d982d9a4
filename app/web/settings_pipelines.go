package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/audit"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/models"
	crmview "github.com/atiende/atiende/views/pages/crm"
	"github.com/atiende/atiende/views/pages/settings"
)

// Embudos (Configuración → Embudos): pipelines and their stages; and, on a channel's
// page, whether its new conversations open a lead automatically.

func (s *Server) pipelinesPage(c echo.Context, status int, f crmview.PipelineForm) error {
	ctx := c.Request().Context()
	v := viewer(c)
	ps, err := s.Services.CRM.Pipelines(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	counts, err := s.Services.CRM.LeadCounts(ctx, v.Workspace.ID)
	if err != nil {
		return err
	}
	f.CSRF = s.csrfToken(c)
	if f.Stages == nil {
		f.Stages = emptyStageRows(3)
	}
	return s.render(c, status, s.globals(c, "Embudos", "settings"), settings.Shell("pipelines", crmview.Pipelines(crmview.PipelinesProps{Pipelines: ps, Counts: counts, Form: f})))
}

func emptyStageRows(n int) []crmview.StageRow {
	rows := make([]crmview.StageRow, n)
	for i := range rows {
		rows[i].Kind = models.StageOpen
	}
	return rows
}

func (s *Server) pipelinesList(c echo.Context) error {
	return s.pipelinesPage(c, http.StatusOK, crmview.PipelineForm{Currency: "USD"})
}

func (s *Server) pipelineEdit(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	p, err := s.Services.CRM.Pipeline(c.Request().Context(), viewer(c).Workspace.ID, id)
	if err != nil {
		return err
	}
	f := crmview.PipelineForm{ID: p.ID, Name: p.Name, Currency: p.Currency, Default: p.IsDefault, CSRF: s.csrfToken(c)}
	for _, st := range p.Stages {
		row := crmview.StageRow{ID: st.ID, Name: st.Name, Probability: strconv.Itoa(st.Probability), Kind: st.Kind}
		if st.RotDays != nil {
			row.RotDays = strconv.Itoa(*st.RotDays)
		}
		f.Stages = append(f.Stages, row)
	}
	f.Stages = append(f.Stages, emptyStageRows(2)...)
	return s.render(c, http.StatusOK, s.globals(c, "Editar embudo", "settings"), settings.Shell("pipelines", crmview.PipelineEdit(f)))
}

// pipelineForm reads the form: stages are parallel lists in order; empty new rows are skipped.
func pipelineForm(c echo.Context) (crm.PipelineInput, crmview.PipelineForm, apperr.Validation) {
	form, _ := c.FormParams()
	in := crm.PipelineInput{Name: form.Get("name"), Currency: form.Get("currency"), Default: form.Get("default") == "1"}
	vf := crmview.PipelineForm{Name: in.Name, Currency: in.Currency, Default: in.Default}
	errs := apperr.Validation{}
	ids, names, probs, kinds, rots := form["stage_id"], form["stage_name"], form["stage_probability"], form["stage_kind"], form["stage_rot"]
	at := func(xs []string, i int) string {
		if i < len(xs) {
			return xs[i]
		}
		return ""
	}
	for i := range names {
		row := crmview.StageRow{Name: names[i], Probability: at(probs, i), Kind: at(kinds, i), RotDays: at(rots, i)}
		row.ID, _ = strconv.ParseInt(at(ids, i), 10, 64)
		vf.Stages = append(vf.Stages, row)
		if row.Name == "" {
			continue // an empty row, or a stage being removed
		}
		st := crm.StageInput{ID: row.ID, Name: row.Name, Kind: row.Kind}
		if row.Probability != "" {
			n, err := strconv.Atoi(row.Probability)
			if err != nil {
				errs.Add("stages."+strconv.Itoa(len(in.Stages)), "La probabilidad es un número entre 0 y 100")
			}
			st.Probability = &n
		}
		if row.RotDays != "" {
			n, err := strconv.Atoi(row.RotDays)
			if err != nil {
				errs.Add("stages."+strconv.Itoa(len(in.Stages)), "Los días son un número entero")
			}
			st.RotDays = &n
		}
		in.Stages = append(in.Stages, st)
	}
	return in, vf, errs
}

// stageErrors moves "stages.N" (N = index among the non-empty rows) to the form's row.
func stageErrors(errs apperr.Validation, vf crmview.PipelineForm) apperr.Validation {
	out := apperr.Validation{}
	n := 0
	index := map[int]int{}
	for i, r := range vf.Stages {
		if r.Name != "" {
			index[n] = i
			n++
		}
	}
	for k, msg := range errs {
		if i, ok := stageIndex(k); ok {
			out["stages."+strconv.Itoa(index[i])] = msg
			continue
		}
		out[k] = msg
	}
	return out
}

// stageIndex reads N of a "stages.N" field.
func stageIndex(k string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(k, "stages."))
	return n, err == nil && strings.HasPrefix(k, "stages.")
}

func (s *Server) pipelineSave(c echo.Context, id int64) error {
	in, vf, errs := pipelineForm(c)
	vf.ID = id
	if len(errs) == 0 {
		p, err := s.Services.CRM.SavePipeline(c.Request().Context(), viewer(c).Workspace.ID, id, in)
		var verr apperr.Validation
		switch {
		case err == nil:
			if id == 0 {
				s.auditSetting(c, "pipeline.create", "pipeline", p.ID)
				s.flash(c, "Embudo creado: "+p.Name+".")
			} else {
				s.auditSetting(c, "pipeline.update", "pipeline", p.ID)
				s.flash(c, "Embudo guardado.")
			}
			return seeOther(c, "/settings/pipelines")
		case errors.As(err, &verr):
			errs = verr
		default:
			return err
		}
	}
	vf.Errors = stageErrors(errs, vf)
	vf.CSRF = s.csrfToken(c)
	if id == 0 {
		return s.pipelinesPage(c, http.StatusUnprocessableEntity, vf)
	}
	return s.render(c, http.StatusUnprocessableEntity, s.globals(c, "Editar embudo", "settings"), settings.Shell("pipelines", crmview.PipelineEdit(vf)))
}

func (s *Server) pipelineCreate(c echo.Context) error { return s.pipelineSave(c, 0) }

func (s *Server) pipelineUpdate(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	return s.pipelineSave(c, id)
}

// withAutoLead adds the channel's automatic-lead form under its edit form.
func (s *Server) withAutoLead(c echo.Context, ch models.Channel, edit templ.Component) templ.Component {
	ps, err := s.Services.CRM.Pipelines(c.Request().Context(), ch.WorkspaceID)
	if err != nil || ch.ID == 0 {
		return edit
	}
	return templ.Join(edit, crmview.AutoLead(crmview.AutoLeadProps{ChannelID: ch.ID, PipelineID: ch.AutoLeadPipelineID, Pipelines: ps, CSRF: s.csrfToken(c)}))
}

// channelAutoLead is POST /settings/channels/:id/auto-lead.
func (s *Server) channelAutoLead(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := viewer(c)
	ch, err := s.Channels.Get(ctx, v.Workspace.ID, id)
	if err != nil {
		return err
	}
	var pipeline *int64
	if pid, err := strconv.ParseInt(c.FormValue("pipeline_id"), 10, 64); err == nil && pid > 0 {
		if _, err := s.Services.CRM.Pipeline(ctx, v.Workspace.ID, pid); err != nil {
			return apperr.Validation{"pipeline_id": "Ese embudo ya no existe: vuelve a cargar la página"}
		}
		pipeline = &pid
	}
	if err := s.Services.CRM.SetAutoLead(ctx, v.Workspace.ID, ch.ID, pipeline); err != nil {
		return err
	}
	s.forgetWebhookChannel(ch.WebhookKey)
	s.auditSetting(c, "channel.auto_lead", "channel", ch.ID)
	if pipeline == nil {
		s.flash(c, "Listo: las conversaciones nuevas de "+ch.Name+" ya no crean oportunidades.")
	} else {
		s.flash(c, "Listo: cada conversación nueva de "+ch.Name+" creará su oportunidad.")
	}
	return seeOther(c, "/settings/channels/"+strconv.FormatInt(ch.ID, 10))
}

// auditSetting writes a settings change made on a page in the audit log. (A failure to
// write it is logged: the change itself is already saved.)
func (s *Server) auditSetting(c echo.Context, change, targetType string, id int64) {
	if err := audit.Record(s.DB.Gorm.WithContext(c.Request().Context()), audit.Entry{WorkspaceID: viewer(c).Workspace.ID,
		Action: audit.SettingsChange, TargetType: targetType, TargetID: id, Data: map[string]any{"change": change}}); err != nil {
		s.Logger.Error("audit not written", "change", change, "err", err)
	}
}
