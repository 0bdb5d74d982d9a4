package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/atiende/atiende/app/accounts"
	"github.com/atiende/atiende/app/apperr"
	"github.com/atiende/atiende/app/crm"
	"github.com/atiende/atiende/app/inbox"
)

// JSON API v1 for leads and tasks (design.md): create a lead from a conversation or a
// contact with the stage by name, read, patch and list it; list, create and complete tasks.

type apiLeadView struct {
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	Value          float64    `json:"value"`
	Currency       string     `json:"currency"`
	Pipeline       string     `json:"pipeline"`
	Stage          string     `json:"stage"`
	StageKind      string     `json:"stage_kind"`
	Probability    int        `json:"probability"`
	Contact        apiContact `json:"contact"`
	Owner          *apiPerson `json:"owner"`
	ConversationID *int64     `json:"conversation_id"`
	CycleID        *int64     `json:"cycle_id"`
	ExpectedClose  *string    `json:"expected_close"`
	LostReason     string     `json:"lost_reason,omitempty"`
	Rotting        bool       `json:"rotting"`
	StageChangedAt time.Time  `json:"stage_changed_at"`
	ClosedAt       *time.Time `json:"closed_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func toAPILead(l crm.LeadView, now time.Time) apiLeadView {
	out := apiLeadView{ID: l.ID, Title: l.Title, Value: l.Value, Currency: l.Currency, Pipeline: l.PipelineName, Stage: l.StageName,
		StageKind: l.StageKind, Probability: l.Probability, Contact: apiContact{ID: l.ContactID, WaID: nullable(l.ContactWaID), Phone: nullable(l.ContactPhone), Name: l.ContactName},
		ConversationID: l.ConversationID, CycleID: l.CycleID, LostReason: l.LostReason, Rotting: l.Rotting(now),
		StageChangedAt: l.StageChangedAt.UTC(), ClosedAt: l.ClosedAt, CreatedAt: l.CreatedAt.UTC()}
	if l.OwnerID != nil {
		out.Owner = &apiPerson{ID: *l.OwnerID, Name: l.OwnerName, Email: l.OwnerEmail}
	}
	if l.ExpectedClose != nil {
		d := l.ExpectedClose.Format(time.DateOnly)
		out.ExpectedClose = &d
	}
	return out
}

// apiUserRef finds a user of the workspace by id, email or "me".
func (s *Server) apiUserRef(c echo.Context, v accounts.Viewer, ref string, field string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if ref == "me" {
		return v.User.ID, nil
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	u, err := s.Accounts.FindUserByEmail(c.Request().Context(), v.Workspace.ID, ref)
	if err != nil {
		return 0, apperr.Validation{field: "No hay ninguna persona con el correo «" + ref + "»"}
	}
	return u.ID, nil
}

// apiLeads is GET /api/v1/leads?pipeline=&stage=&owner=&after=&limit=.
func (s *Server) apiLeads(c echo.Context) error {
	ctx := c.Request().Context()
	v := viewer(c)
	f := crm.Filter{}
	if c.QueryParam("pipeline") != "" || c.QueryParam("stage") != "" {
		p, err := s.Services.CRM.PipelineByName(ctx, v.Workspace.ID, c.QueryParam("pipeline"))
		if err != nil {
			return err
		}
		f.PipelineID = p.ID
		if c.QueryParam("stage") != "" {
			st, err := crm.StageNamed(p, c.QueryParam("stage"))
			if err != nil {
				return err
			}
			f.StageID = st.ID
		}
	}
	if o := c.QueryParam("owner"); o != "" {
		id, err := s.apiUserRef(c, v, o, "owner")
		if err != nil {
			return err
		}
		f.OwnerID = id
	}
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	page, err := s.Services.CRM.List(ctx, v, f, c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	out := make([]apiLeadView, len(page.Leads))
	for i, l := range page.Leads {
		out[i] = toAPILead(l, now)
	}
	body := map[string]any{"data": out, "next": nil}
	if page.Next != "" {
		body["next"] = page.Next
	}
	return c.JSON(http.StatusOK, body)
}

// apiLeadCreate is POST /api/v1/leads.
func (s *Server) apiLeadCreate(c echo.Context) error {
	v := viewer(c)
	var in struct {
		ConversationID *int64   `json:"conversation_id"`
		ContactID      *int64   `json:"contact_id"`
		Title          string   `json:"title"`
		Value          *float64 `json:"value"`
		Currency       string   `json:"currency"`
		Pipeline       string   `json:"pipeline"`
		Stage          string   `json:"stage"`
		Owner          *string  `json:"owner"`
		ExpectedClose  *string  `json:"expected_close"`
		Reason         string   `json:"reason"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	li := crm.LeadInput{ConversationID: in.ConversationID, ContactID: in.ContactID, Title: in.Title, Value: in.Value,
		Currency: in.Currency, Pipeline: in.Pipeline, Stage: in.Stage, Reason: in.Reason}
	if in.ConversationID == nil && in.ContactID == nil {
		return apperr.Validation{"conversation_id": "Indica conversation_id o contact_id"}
	}
	if in.Owner != nil {
		id, err := s.apiUserRef(c, v, *in.Owner, "owner")
		if err != nil {
			return err
		}
		li.OwnerID = &id
	}
	if in.ExpectedClose != nil && *in.ExpectedClose != "" {
		t, err := time.Parse(time.DateOnly, *in.ExpectedClose)
		if err != nil {
			return apperr.Validation{"expected_close": "expected_close es una fecha AAAA-MM-DD"}
		}
		li.ExpectedClose = &t
	}
	l, err := s.Services.CRM.CreateLead(c.Request().Context(), inbox.ByAPI(v), li)
	if err != nil {
		return err
	}
	lv, err := s.Services.CRM.Lead(c.Request().Context(), v, l.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"data": toAPILead(lv, s.Clock.Now())})
}

// apiLead is GET /api/v1/leads/:id.
func (s *Server) apiLead(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apperr.NotFound{Msg: "No existe esa oportunidad o no tienes acceso."}
	}
	l, err := s.Services.CRM.Lead(c.Request().Context(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": toAPILead(l, s.Clock.Now())})
}

// apiLeadPatch is PATCH /api/v1/leads/:id: {"stage", "reason", "title", "value",
// "currency", "owner" (email, id or null), "expected_close" (date or null)}.
func (s *Server) apiLeadPatch(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return apperr.NotFound{Msg: "No existe esa oportunidad o no tienes acceso."}
	}
	v := viewer(c)
	var raw map[string]json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		return err
	}
	p := crm.LeadPatch{}
	bad := apperr.Validation{}
	str := func(k string) (*string, bool) {
		r, ok := raw[k]
		if !ok {
			return nil, false
		}
		if bytes.Equal(r, []byte("null")) {
			return nil, true
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			bad.Add(k, k+" debe ser un texto")
		}
		return &s, true
	}
	for k := range raw {
		switch k {
		case "stage", "reason", "title", "value", "currency", "owner", "expected_close":
		default:
			bad.Add(k, "Campo desconocido: "+k)
		}
	}
	if s, ok := str("stage"); ok && s != nil {
		p.Stage = s
	}
	if s, ok := str("reason"); ok && s != nil {
		p.Reason = *s
	}
	if s, ok := str("title"); ok && s != nil {
		p.Title = s
	}
	if s, ok := str("currency"); ok && s != nil {
		p.Currency = s
	}
	if r, ok := raw["value"]; ok {
		var f float64
		if err := json.Unmarshal(r, &f); err != nil {
			bad.Add("value", "value debe ser un número")
		}
		p.Value = &f
	}
	if r, ok := raw["owner"]; ok {
		var owner *int64
		if !bytes.Equal(r, []byte("null")) {
			var ref any
			_ = json.Unmarshal(r, &ref)
			var text string
			switch x := ref.(type) {
			case string:
				text = x
			case float64:
				text = strconv.FormatInt(int64(x), 10)
			}
			uid, err := s.apiUserRef(c, v, text, "owner")
			if err != nil {
				return err
			}
			owner = &uid
		}
		p.OwnerID = &owner
	}
	if s, ok := str("expected_close"); ok {
		var d *time.Time
		if s != nil && *s != "" {
			t, err := time.Parse(time.DateOnly, *s)
			if err != nil {
				bad.Add("expected_close", "expected_close es una fecha AAAA-MM-DD")
			}
			d = &t
		}
		p.ExpectedClose = &d
	}
	if len(bad) > 0 {
		return bad
	}
	if _, err := s.Services.CRM.UpdateLead(c.Request().Context(), inbox.ByAPI(v), id, p); err != nil {
		return err
	}
	l, err := s.Services.CRM.Lead(c.Request().Context(), v, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": toAPILead(l, s.Clock.Now())})
}

type apiTaskView struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Title     string     `json:"title"`
	DueAt     time.Time  `json:"due_at"`
	Assignee  apiPerson  `json:"assignee"`
	LeadID    *int64     `json:"lead_id"`
	ContactID *int64     `json:"contact_id"`
	Done      bool       `json:"done"`
	DoneAt    *time.Time `json:"done_at"`
}

func toAPITask(t crm.TaskView) apiTaskView {
	return apiTaskView{ID: t.ID, Kind: t.Kind, Title: t.Title, DueAt: t.DueAt.UTC(), Assignee: apiPerson{ID: t.AssigneeID, Name: t.AssigneeName},
		LeadID: t.LeadID, ContactID: t.ContactID, Done: t.DoneAt != nil, DoneAt: t.DoneAt}
}

// apiTasks is GET /api/v1/tasks?open=true&lead_id=&contact_id=&assignee=.
func (s *Server) apiTasks(c echo.Context) error {
	v := viewer(c)
	f := crm.TaskFilter{Open: c.QueryParam("open") == "true"}
	f.LeadID, _ = strconv.ParseInt(c.QueryParam("lead_id"), 10, 64)
	f.ContactID, _ = strconv.ParseInt(c.QueryParam("contact_id"), 10, 64)
	if a := c.QueryParam("assignee"); a != "" {
		id, err := s.apiUserRef(c, v, a, "assignee")
		if err != nil {
			return err
		}
		f.AssigneeID = id
	}
	rows, err := s.Services.CRM.Tasks(c.Request().Context(), v, f)
	if err != nil {
		return err
	}
	out := make([]apiTaskView, len(rows))
	for i, t := range rows {
		out[i] = toAPITask(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) apiTaskByID(c echo.Context, v accounts.Viewer, id int64) (crm.TaskView, error) {
	return s.Services.CRM.Task(c.Request().Context(), v, id)
}

// apiTaskCreate is POST /api/v1/tasks: {"kind","title","due_at","assignee","lead_id"|"contact_id"}.
func (s *Server) apiTaskCreate(c echo.Context) error {
	v := viewer(c)
	var in struct {
		Kind      string  `json:"kind"`
		Title     string  `json:"title"`
		DueAt     string  `json:"due_at"`
		Assignee  *string `json:"assignee"`
		LeadID    *int64  `json:"lead_id"`
		ContactID *int64  `json:"contact_id"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	due, err := time.Parse(time.RFC3339, in.DueAt)
	if err != nil {
		return apperr.Validation{"due_at": "due_at es una fecha y hora RFC 3339, por ejemplo 2026-12-01T15:00:00-05:00"}
	}
	ti := crm.TaskInput{Kind: in.Kind, Title: in.Title, DueAt: due, LeadID: in.LeadID, ContactID: in.ContactID}
	if in.Assignee != nil {
		id, err := s.apiUserRef(c, v, *in.Assignee, "assignee")
		if err != nil {
			return err
		}
		ti.AssigneeID = &id
	}
	t, err := s.Services.CRM.CreateTask(c.Request().Context(), inbox.ByAPI(v), ti)
	if err != nil {
		return err
	}
	tv, err := s.apiTaskByID(c, v, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"data": toAPITask(tv)})
}

// apiTaskPatch is PATCH /api/v1/tasks/:id: {"done": true|false}.
func (s *Server) apiTaskPatch(c echo.Context) error {
	id, err := paramID(c)
	if err != nil {
		return crm.ErrNoTask
	}
	v := viewer(c)
	var in struct {
		Done *bool `json:"done"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Done == nil {
		return apperr.Validation{"done": "Indica done: true o false"}
	}
	if _, err := s.Services.CRM.SetTaskDone(c.Request().Context(), inbox.ByAPI(v), id, *in.Done); err != nil {
		return err
	}
	tv, err := s.apiTaskByID(c, v, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": toAPITask(tv)})
}
