package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// TestProfileEveryUserEditsThemselves: an agent changes name, colour and
// notifications; bad input is refused in Spanish without changing anything.
func TestProfileEveryUserEditsThemselves(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	ana := w.app.LoginAs(w.ana)
	res := ana.Get("/profile")
	convStatus(t, res, http.StatusOK)
	convFind(t, res, `[data-testid="profile-form"]`)
	if got := convFind(t, res, `[data-testid="me"]`).AttrOr("href", ""); got != "/profile" {
		t.Errorf("the rail's avatar links to %q", got)
	}

	res = ana.PostForm("/profile", url.Values{"name": {"Ana Torres"}, "avatar_color": {"violet"}, "notify_mentions": {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, res.Body)
	}
	var u models.User
	testutil.Must(t, w.app.DB.Gorm.First(&u, w.ana.ID).Error)
	if u.Name != "Ana Torres" || u.AvatarColor != "violet" || u.NotifyAssigned || !u.NotifyMentions || u.NotifyTasks {
		t.Errorf("saved %+v", u)
	}
	page := ana.Get("/profile?saved=profile")
	convFind(t, page, `[data-testid="profile-saved"]`)
	if style := convFind(t, page, `[data-testid="me"] .avatar`).AttrOr("style", ""); !strings.Contains(style, "#6d28d9") {
		t.Errorf("rail avatar style %q", style)
	}
	if n := convFind(t, page, `body`).AttrOr("data-notify", ""); n != "mentions" {
		t.Errorf("data-notify %q", n)
	}

	res = ana.PostForm("/profile", url.Values{"name": {"  "}, "avatar_color": {"fucsia-neon"}})
	convStatus(t, res, http.StatusUnprocessableEntity)
	for field, msg := range map[string]string{"name": "Escribe tu nombre", "avatar_color": "Elige uno de los colores de la lista"} {
		if got := convFind(t, res, `[data-testid="error-`+field+`"]`).Text(); got != msg {
			t.Errorf("%s error %q", field, got)
		}
	}
	testutil.Must(t, w.app.DB.Gorm.First(&u, w.ana.ID).Error)
	if u.Name != "Ana Torres" {
		t.Errorf("a refused form changed the name to %q", u.Name)
	}
	// Without the CSRF token nothing changes.
	res = ana.PostForm("/profile", url.Values{"_csrf": {"x"}, "name": {"Intrusa"}, "avatar_color": {""}})
	convStatus(t, res, http.StatusForbidden)
}

// TestProfilePasswordNeedsTheCurrentOne: a wrong current password, a short or
// mismatched new one are refused; the right one changes it and the new one signs in.
func TestProfilePasswordNeedsTheCurrentOne(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	ana := w.app.LoginAs(w.ana)
	ana.Get("/profile")
	cases := []struct {
		form  url.Values
		field string
		msg   string
	}{
		{url.Values{"current_password": {"equivocada-1"}, "new_password": {"nueva-clave-2026"}, "confirm_password": {"nueva-clave-2026"}}, "current_password", "La contraseña actual no es correcta"},
		{url.Values{"current_password": {testutil.Password}, "new_password": {"corta"}, "confirm_password": {"corta"}}, "new_password", "La nueva contraseña debe tener al menos 8 caracteres"},
		{url.Values{"current_password": {testutil.Password}, "new_password": {"nueva-clave-2026"}, "confirm_password": {"otra-clave-2026"}}, "confirm_password", "Las dos contraseñas nuevas no coinciden"},
	}
	for _, c := range cases {
		res := ana.PostForm("/profile/password", c.form)
		convStatus(t, res, http.StatusUnprocessableEntity)
		if got := convFind(t, res, `[data-testid="error-`+c.field+`"]`).Text(); got != c.msg {
			t.Errorf("%s: %q", c.field, got)
		}
	}
	w.app.Client().Login(w.ana.Email, testutil.Password) // still the old one

	res := ana.PostForm("/profile/password", url.Values{"current_password": {testutil.Password}, "new_password": {"nueva-clave-2026"}, "confirm_password": {"nueva-clave-2026"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile?saved=password" {
		t.Fatalf("change: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	w.app.Client().Login(w.ana.Email, "nueva-clave-2026")
	if n := convCount(t, w, `SELECT count(*) FROM audit_events WHERE action = 'password_changed' AND user_id = ?`, w.ana.ID); n != 1 {
		t.Errorf("%d audit events", n)
	}
}

// TestRailBadges: my unread chats, and the unassigned open ones of my teams.
func TestRailBadges(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	mine := w.inTeam(t, "51987650201", "Pedro", "Hola", w.ventas)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE conversations SET assignee_id = ?, status = 'active', unread_count = 2 WHERE id = ?`, w.ana.ID, mine.ID).Error)
	w.inTeam(t, "51987650202", "Rosa", "Hola", w.ventas)
	w.inTeam(t, "51987650203", "Jorge", "Hola", w.ventas)
	w.inTeam(t, "51987650204", "Lucía", "Hola", w.soporte) // not Ana's team
	var b struct{ Mine, Unassigned int }
	res := w.app.LoginAs(w.ana).HTMX(http.MethodGet, "/me/badges", nil)
	convStatus(t, res, http.StatusOK)
	testutil.Must(t, json.Unmarshal([]byte(res.Body), &b))
	if b.Mine != 1 || b.Unassigned != 2 {
		t.Errorf("Ana's badges %+v, want mine 1, unassigned 2", b)
	}
	res = w.app.LoginAs(w.admin).HTMX(http.MethodGet, "/me/badges", nil)
	testutil.Must(t, json.Unmarshal([]byte(res.Body), &b))
	if b.Mine != 0 || b.Unassigned != 3 {
		t.Errorf("admin's badges %+v, want mine 0, unassigned 3", b)
	}
}

// TestNotFoundKeepsTheFrame: a page that does not exist keeps the rail when signed in.
func TestNotFoundKeepsTheFrame(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	res := w.app.LoginAs(w.ana).Get("/no-existe")
	convStatus(t, res, http.StatusNotFound)
	convFind(t, res, `.rail [data-testid="nav-board"]`)
	anon := w.app.Client().Get("/no-existe")
	convStatus(t, anon, http.StatusNotFound)
	if strings.Contains(anon.Body, `data-testid="nav-board"`) {
		t.Error("a stranger sees the app frame")
	}
}

// TestProfileBrowserMentionAndScreens: Ana mentions Luis in a note; Luis, on his
// board, gets a toast linking to the chat. The profile page at 1366 and 390 px.
func TestProfileBrowserMentionAndScreens(t *testing.T) {
	t.Parallel()
	w := newConvWorld(t)
	testutil.Must(t, w.app.DB.Gorm.Exec(`UPDATE users SET name = 'Luis Pérez' WHERE id = ?`, w.luis.ID).Error)
	conv := w.inTeam(t, "51987650301", "Carmen Díaz", "¿Me ayudan con la factura?", w.soporte)
	ctx := pageBrowser(t, w.app, w.luis, 1366, 800, false, "/board", `[data-testid="board"]`)
	convWait(t, ctx, "Luis's stream", `!!window.atiendeLive && window.atiendeLive.state === "on"`)
	convWait(t, ctx, "the rail badge", `!document.querySelector('[data-testid="badge-unassigned"]').hidden && document.querySelector('[data-testid="badge-unassigned"]').textContent === "1"`)

	sup := w.app.LoginAs(w.sup)
	res := convPost(sup, conv.ID, "messages", url.Values{"mode": {"note"}, "body": {"@Luis revisa el RUC antes de emitir"}})
	convStatus(t, res, http.StatusOK)
	convWait(t, ctx, "the mention toast", `[...document.querySelectorAll(".toast a")].some(a => a.textContent.indexOf("te mencionó en una nota") > 0 && a.getAttribute("href") === "/conversations/`+itoa(conv.ID)+`")`)

	convDo(t, ctx, chromedp.Navigate(w.app.URL+"/profile"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="profile-form"]`)))
	convDo(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="color-rose"]').click()`))
	convWait(t, ctx, "the colour previewed", `getComputedStyle(document.querySelector('[data-testid="profile-avatar"]')).backgroundColor === "rgb(190, 24, 93)"`)
	testutil.Screenshot(t, ctx, "profile-1366")
	phone := pageBrowser(t, w.app, w.luis, 390, 844, true, "/profile", `[data-testid="profile-form"]`)
	convWait(t, phone, "the profile", `!!document.querySelector('[data-testid="password-form"]')`)
	testutil.Screenshot(t, phone, "profile-390")
}

// pageBrowser opens a browser at the viewport size, signs u in, opens path and waits
// for css to show.
func pageBrowser(t *testing.T, app *testutil.App, u models.User, width, height int64, mobile bool, path, css string) context.Context {
	t.Helper()
	ctx := testutil.NewBrowser(t)
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	convDo(t, ctx,
		chromedp.EmulateViewport(width, height, opts...),
		chromedp.Navigate(app.URL+"/login?next="+url.QueryEscape(path)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), u.Email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="password"]`), testutil.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(css)),
	)
	return ctx
}

// TestBrowserRequiredFieldsSpeakSpanish: an empty required field says so in Spanish,
// not in the browser's language.
func TestBrowserRequiredFieldsSpeakSpanish(t *testing.T) {
	t.Parallel()
	app := testutil.NewApp(t)
	ctx := testutil.NewBrowser(t)
	convDo(t, ctx, chromedp.Navigate(app.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)))
	convWait(t, ctx, "a Spanish message", `document.querySelector('[data-testid="login-form"] input[name="email"]').validationMessage === "Completa este campo."`)
	convDo(t, ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), "ana"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)))
	convWait(t, ctx, "the email message", `document.querySelector('[data-testid="login-form"] input[name="email"]').validationMessage === "Escribe un correo válido, por ejemplo ana@empresa.com."`)
}
