package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

type apiList struct {
	Data []struct {
		ID       int64   `json:"id"`
		Status   string  `json:"status"`
		Team     *string `json:"team"`
		Assignee *struct {
			Email string `json:"email"`
		} `json:"assignee"`
		Contact struct {
			WaID  string `json:"wa_id"`
			Phone string `json:"phone"`
			Name  string `json:"name"`
		} `json:"contact"`
		WindowExpiresAt *string `json:"window_expires_at"`
	} `json:"data"`
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decode(t *testing.T, r testutil.Response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.StatusCode, r.Body, err)
	}
}

func TestAPIConversationsFollowVisibility(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	luis := app.User(ws, "luis@acme.pe", models.RoleAgent, ventas)
	admin := app.User(ws, "admin@acme.pe", models.RoleAdmin)
	mine := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	theirs := app.Inbound(ch, "51922222222", "Rosa", "Buenas")
	open := app.Inbound(ch, "51933333333", "Juan", "Hola?")

	anaAPI, luisAPI, adminAPI := app.API(ana), app.API(luis), app.API(admin)
	if r := anaAPI.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", mine.ID), ""); r.StatusCode != 200 {
		t.Fatalf("take: %d %s", r.StatusCode, r.Body)
	}
	if r := luisAPI.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", theirs.ID), ""); r.StatusCode != 200 {
		t.Fatalf("take: %d %s", r.StatusCode, r.Body)
	}
	var l apiList
	decode(t, anaAPI.Do("GET", "/api/v1/conversations", ""), &l)
	got := map[int64]bool{}
	for _, c := range l.Data {
		got[c.ID] = true
	}
	if !got[mine.ID] || !got[open.ID] || got[theirs.ID] || len(l.Data) != 2 {
		t.Errorf("Ana's list = %v, want her own and the unassigned one", got)
	}
	decode(t, adminAPI.Do("GET", "/api/v1/conversations?status=active", ""), &l)
	if len(l.Data) != 2 {
		t.Errorf("admin sees %d active conversations, want 2", len(l.Data))
	}
	decode(t, adminAPI.Do("GET", "/api/v1/conversations?assignee=ana@acme.pe", ""), &l)
	if len(l.Data) != 1 || l.Data[0].ID != mine.ID || l.Data[0].Assignee.Email != "ana@acme.pe" {
		t.Errorf("assignee filter: %+v", l.Data)
	}
	decode(t, adminAPI.Do("GET", "/api/v1/conversations?q=Rosa", ""), &l)
	if len(l.Data) != 1 || l.Data[0].ID != theirs.ID {
		t.Errorf("search by name: %+v", l.Data)
	}

	// Ana asking for Luis's conversation gets the same 404 as for one that does not exist.
	for _, path := range []string{
		fmt.Sprintf("/api/v1/conversations/%d", theirs.ID),
		fmt.Sprintf("/api/v1/conversations/%d/messages", theirs.ID),
		"/api/v1/conversations/999999",
	} {
		r := anaAPI.Do("GET", path, "")
		var e apiErr
		decode(t, r, &e)
		if r.StatusCode != 404 || e.Error.Code != "not_found" || e.Error.Message == "" {
			t.Errorf("GET %s: %d %+v", path, r.StatusCode, e)
		}
	}
	r := anaAPI.Do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", theirs.ID), `{"body":"hola"}`)
	if r.StatusCode != 404 {
		t.Errorf("replying to a colleague's conversation: %d", r.StatusCode)
	}

	// Another workspace sees none of it.
	other := app.Workspace("Otra")
	boss := app.API(app.User(other, "boss@otra.pe", models.RoleAdmin))
	decode(t, boss.Do("GET", "/api/v1/conversations", ""), &l)
	if len(l.Data) != 0 {
		t.Errorf("another workspace lists %d conversations", len(l.Data))
	}
	if r := boss.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", mine.ID), ""); r.StatusCode != 404 {
		t.Errorf("another workspace reads a conversation: %d", r.StatusCode)
	}

	// The detail has the documented shape.
	var one struct {
		Data map[string]any `json:"data"`
	}
	decode(t, anaAPI.Do("GET", fmt.Sprintf("/api/v1/conversations/%d", mine.ID), ""), &one)
	for _, k := range []string{"id", "status", "team", "assignee", "contact", "labels", "lead", "sla", "window_expires_at"} {
		if _, ok := one.Data[k]; !ok {
			t.Errorf("conversation JSON lacks %q: %v", k, one.Data)
		}
	}
	contact := one.Data["contact"].(map[string]any)
	if contact["wa_id"] != "51911111111" || contact["phone"] == "" || contact["name"] != "Pedro" {
		t.Errorf("contact = %v", contact)
	}
}

func TestAPITakeRace(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas := app.Team(ws, "Ventas")
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	const n = 20
	apis := make([]*testutil.API, n)
	for i := range apis {
		apis[i] = app.API(app.User(ws, fmt.Sprintf("agente%02d@acme.pe", i), models.RoleAgent, ventas))
	}
	var wg sync.WaitGroup
	results := make([]testutil.Response, n)
	start := make(chan struct{})
	for i := range apis {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = apis[i].Do("POST", fmt.Sprintf("/api/v1/conversations/%d/take", conv.ID), "")
		}(i)
	}
	close(start)
	wg.Wait()
	winners := 0
	for _, r := range results {
		switch r.StatusCode {
		case 200:
			winners++
		case 409:
			var e apiErr
			decode(t, r, &e)
			if !strings.Contains(e.Error.Message, "ya tomó") {
				t.Errorf("409 message %q does not say who took it", e.Error.Message)
			}
		default:
			t.Errorf("take answered %d: %s", r.StatusCode, r.Body)
		}
	}
	if winners != 1 {
		t.Fatalf("%d agents got the conversation, want exactly 1", winners)
	}
}

func TestAPIRepliesNotesAssignAndStatus(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ventas, soporte := app.Team(ws, "Ventas"), app.Team(ws, "Soporte")
	ch := app.Channel(ws, "Principal")
	ana := app.User(ws, "ana@acme.pe", models.RoleAgent, ventas)
	app.User(ws, "luis@acme.pe", models.RoleAgent, soporte)
	sup := app.User(ws, "sup@acme.pe", models.RoleSupervisor, ventas, soporte)
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	api, supAPI := app.API(ana), app.API(sup)
	path := fmt.Sprintf("/api/v1/conversations/%d", conv.ID)

	r := api.Do("POST", path+"/messages", `{"body":"¡Hola Pedro! ¿En qué te ayudo?"}`)
	if r.StatusCode != 201 {
		t.Fatalf("reply: %d %s", r.StatusCode, r.Body)
	}
	r = api.Do("POST", path+"/messages", `{"body":"cliente VIP","private":true}`)
	if r.StatusCode != 201 {
		t.Fatalf("note: %d %s", r.StatusCode, r.Body)
	}
	var outbox int64
	app.DB.Gorm.Model(&models.Outbox{}).Where("kind = 'message'").Count(&outbox)
	if outbox != 1 {
		t.Errorf("outbox rows = %d, want 1 (the reply; never the note)", outbox)
	}
	var msgs struct {
		Data []struct {
			Direction string `json:"direction"`
			Kind      string `json:"kind"`
			Body      string `json:"body"`
			Private   bool   `json:"private"`
			Status    string `json:"status"`
		} `json:"data"`
	}
	decode(t, api.Do("GET", path+"/messages", ""), &msgs)
	var kinds []string
	for _, m := range msgs.Data {
		kinds = append(kinds, m.Direction+":"+m.Kind)
	}
	if strings.Join(kinds, ",") != "in:text,out:text,out:note" {
		t.Errorf("history = %v", kinds)
	}
	if msgs.Data[1].Status != "queued" || !msgs.Data[2].Private {
		t.Errorf("reply status %q, note private %v", msgs.Data[1].Status, msgs.Data[2].Private)
	}

	// A transfer needs a note; with one, it moves the conversation to the team.
	r = supAPI.Do("POST", path+"/assign", `{"team":"Soporte"}`)
	var e apiErr
	decode(t, r, &e)
	if r.StatusCode != 422 || !strings.Contains(e.Error.Message, "nota") {
		t.Errorf("transfer without note: %d %+v", r.StatusCode, e)
	}
	r = supAPI.Do("POST", path+"/assign", `{"team":"Soporte","agent":"luis@acme.pe","note":"pide factura"}`)
	var one struct {
		Data struct {
			Team     string `json:"team"`
			Assignee struct {
				Email string `json:"email"`
			} `json:"assignee"`
			Status string `json:"status"`
		} `json:"data"`
	}
	decode(t, r, &one)
	if r.StatusCode != 200 || one.Data.Team != "Soporte" || one.Data.Assignee.Email != "luis@acme.pe" {
		t.Errorf("transfer: %d %+v", r.StatusCode, one.Data)
	}
	r = supAPI.Do("POST", path+"/status", `{"status":"closed","reason":"Resuelto"}`)
	decode(t, r, &one)
	if r.StatusCode != 200 || one.Data.Status != "closed" {
		t.Errorf("close: %d %s", r.StatusCode, r.Body)
	}
	r = supAPI.Do("POST", path+"/status", `{"status":"archived"}`)
	if r.StatusCode != 422 {
		t.Errorf("unknown status: %d", r.StatusCode)
	}
}

func TestAPIErrors(t *testing.T) {
	app := testutil.NewApp(t)
	ws := app.Workspace("Acme")
	ch := app.Channel(ws, "Principal")
	conv := app.Inbound(ch, "51911111111", "Pedro", "Hola")
	api := app.API(app.User(ws, "admin@acme.pe", models.RoleAdmin))
	cases := []struct {
		name, method, path, body string
		token                    string
		status                   int
		code                     string
	}{
		{"no token", "GET", "/api/v1/conversations", "", "-", 401, "unauthorized"},
		{"bad token", "GET", "/api/v1/conversations", "", "atk_nope", 401, "unauthorized"},
		{"bad JSON", "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), `{"body":`, "", 400, "bad_request"},
		{"unknown field", "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), `{"text":"hola"}`, "", 400, "bad_request"},
		{"empty body", "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), `{"body":"  "}`, "", 422, "invalid"},
		{"bad status filter", "GET", "/api/v1/conversations?status=open", "", "", 422, "invalid"},
		{"unknown team", "GET", "/api/v1/conversations?team=Marte", "", "", 422, "invalid"},
		{"bad id", "GET", "/api/v1/conversations/abc", "", "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := *api
			switch c.token {
			case "-":
				p.Token = ""
			case "":
			default:
				p.Token = c.token
			}
			r := p.Do(c.method, c.path, c.body)
			var e apiErr
			decode(t, r, &e)
			if r.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
				t.Errorf("%d %+v, want %d %s", r.StatusCode, e, c.status, c.code)
			}
		})
	}
}
