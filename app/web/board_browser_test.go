package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/app/testutil"
	"github.com/atiende/atiende/models"
)

// Real-browser tests of the board: what only a browser shows (dragging, live updates,
// the layout itself).

// boardBrowser signs u in through the login form and opens the board.
func boardBrowser(t *testing.T, app *testutil.App, u models.User) context.Context {
	t.Helper()
	ctx := testutil.NewBrowser(t)
	boardDo(t, ctx,
		chromedp.Navigate(app.URL+"/login?next=/board"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="email"]`), u.Email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-form"] input[name="password"]`), testutil.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)),
	)
	boardWaitLive(t, ctx)
	return ctx
}

// boardWaitLive waits until the board's event stream is open, so what happens next
// is seen live.
func boardWaitLive(t *testing.T, ctx context.Context) {
	t.Helper()
	boardPoll(t, ctx, `(document.querySelector("[data-live-state]")||{dataset:{}}).dataset.liveState === "on"`, boardWait)
}

// boardWait bounds a wait for the page to show something it must show. It is long
// because a wait that succeeds ends at once: only a failing test costs all of it, and
// under -race on a loaded CI machine a live update can take seconds to arrive.
const boardWait = 30 * time.Second

// boardPoll waits until the JavaScript expression js is true on the page.
func boardPoll(t *testing.T, ctx context.Context, js string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("waiting for %s: %v", js, err)
	}
}

func boardDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func boardEval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// cardColumn says in which column the card of conversation id sits ("" if none).
func cardColumn(t *testing.T, ctx context.Context, id int64) string {
	t.Helper()
	return boardEval[string](t, ctx, fmt.Sprintf(`(function(){var c=document.getElementById("card-%d");return c?c.closest(".column-body").dataset.status:""})()`, id))
}

// cardIn waits until conversation id's card sits in the column of status, as the
// server answered it (data-status follows the server, not the drop).
func cardIn(t *testing.T, ctx context.Context, id int64, status string) {
	t.Helper()
	boardPoll(t, ctx, fmt.Sprintf(`(function(){var c=document.getElementById("card-%d");return !!c && c.dataset.status==="%s" && c.closest(".column-body").dataset.status==="%s" && !c.classList.contains("is-saving")})()`, id, status, status), boardWait)
}

func dragCard(id int64, status string) chromedp.Action[chromedp.Void] {
	return chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`#card-%d .bcard-name`, id)), chromedp.CSS(`[data-testid="cards-`+status+`"]`))
}

// TestBoardBrowserDragToPendingStaysAfterReload: a card dragged from Nuevos to
// Pendientes is moved on the server, so it is still there after a reload.
func TestBoardBrowserDragToPendingStaysAfterReload(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Pedro Quispe", "Hola, ¿tienen taladros?", 5*time.Minute)
	other := f.customer(t, "Rosa Huamán", "Buenas", 2*time.Minute)
	ctx := boardBrowser(t, f.app, f.ana)

	boardDo(t, ctx, dragCard(conv.ID, "pending"))
	cardIn(t, ctx, conv.ID, "pending")
	if got := f.app.Conversation(conv.ID).Status; got != models.StatusPending {
		t.Fatalf("after the drop the conversation is %s", got)
	}
	if got := boardEval[string](t, ctx, `document.querySelector('[data-testid="count-pending"]').textContent`); got != "1" {
		t.Errorf("Pendientes count after the drop: %q", got)
	}
	boardDo(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	if got := cardColumn(t, ctx, conv.ID); got != "pending" {
		t.Errorf("after reload the card is in %q", got)
	}
	if got := cardColumn(t, ctx, other.ID); got != "new" {
		t.Errorf("the other card moved to %q", got)
	}
}

// TestBoardBrowserRefusedMoveSnapsBack: the server refuses a move (nothing answered
// goes back to Nuevos); the card returns to its column and the reason is shown.
func TestBoardBrowserRefusedMoveSnapsBack(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Jorge Ramírez", "¿Y mi pedido?", 5*time.Minute)
	testutil.Must(t, f.app.Server.Inbox.Take(context.Background(), inbox.By(f.viewer(t, f.ana)), conv.ID))
	ctx := boardBrowser(t, f.app, f.ana)

	boardDo(t, ctx, dragCard(conv.ID, "new"))
	boardPoll(t, ctx, `!!document.querySelector(".toast-error")`, boardWait)
	if got := boardEval[string](t, ctx, `document.querySelector(".toast-error").textContent`); !strings.Contains(got, "no vuelve a Nuevos") {
		t.Errorf("toast says %q", got)
	}
	cardIn(t, ctx, conv.ID, "active")
	if got := f.app.Conversation(conv.ID).Status; got != models.StatusActive {
		t.Errorf("refused move changed the status to %s", got)
	}
}

// TestBoardBrowserClosingAsksForAReason: dropping into Cerrados asks for an optional
// reason; Esc cancels and the card goes back.
func TestBoardBrowserClosingAsksForAReason(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	first := f.customer(t, "Carlos Mendoza", "Gracias, todo listo", 5*time.Minute)
	second := f.customer(t, "Valeria Paredes", "Ok", 3*time.Minute)
	ctx := boardBrowser(t, f.app, f.ana)

	// Esc: nothing happens.
	boardDo(t, ctx, dragCard(second.ID, "closed"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="close-dialog"]`)))
	testutil.Screenshot(t, ctx, "board-close-dialog")
	boardDo(t, ctx, chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="close-dialog"]`)))
	cardIn(t, ctx, second.ID, "new")
	if got := f.app.Conversation(second.ID).Status; got != models.StatusNew {
		t.Fatalf("cancelled close left it %s", got)
	}

	// A reason: closed with it.
	boardDo(t, ctx, dragCard(first.ID, "closed"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="close-dialog"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="close-reason"]`), "Pedido entregado"),
		chromedp.Click(chromedp.CSS(`[data-testid="close-confirm"]`)))
	cardIn(t, ctx, first.ID, "closed")
	var reason string
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT close_reason FROM conversations WHERE id = ?`, first.ID).Scan(&reason).Error)
	if reason != "Pedido entregado" {
		t.Errorf("close reason %q", reason)
	}
}

// TestBoardBrowserMoveByKeyboard: "Mover a…" does what dragging does, keyboard only.
func TestBoardBrowserMoveByKeyboard(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	conv := f.customer(t, "Lucía Torres", "No puedo ingresar", 5*time.Minute)
	ctx := boardBrowser(t, f.app, f.ana)

	boardDo(t, ctx,
		chromedp.Focus(chromedp.CSS(fmt.Sprintf(`#card-%d .move-toggle`, conv.ID))),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#card-%d [data-testid="move-active"]`, conv.ID))),
	)
	// The menu takes the focus: the first choice, En atención; Tab to Pendientes. The
	// focus moves in the menu's toggle event, a task of its own after it opens: wait.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement && document.activeElement.value === "active"`,
		chromedp.WithPollingTimeout(boardWait))); err != nil {
		t.Fatalf("focus after opening the menu: %q (%v)", boardEval[string](t, ctx, `document.activeElement.value || document.activeElement.tagName`), err)
	}
	testutil.Screenshot(t, ctx, "board-move-menu")
	boardDo(t, ctx, chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	cardIn(t, ctx, conv.ID, "pending")
	// The card may first be redrawn by the live update of the move, before the move's
	// own answer puts the focus on it: wait for that answer.
	focused := `document.activeElement.closest(".bcard") ? document.activeElement.closest(".bcard").id : ""`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`(%s) === "card-%d"`, focused, conv.ID), chromedp.WithPollingTimeout(boardWait))); err != nil {
		t.Errorf("after the move the focus is on %q, want the moved card", boardEval[string](t, ctx, focused))
	}
	if got := f.app.Conversation(conv.ID).Status; got != models.StatusPending {
		t.Errorf("status %s", got)
	}
}

// TestBoardBrowserLiveUpdates: what happens elsewhere shows on an open board without
// reload: a new customer, a message in an existing chat, someone else's move.
func TestBoardBrowserLiveUpdates(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	existing := f.customer(t, "Rosa Huamán", "Hola", 30*time.Minute)
	ctx := boardBrowser(t, f.app, f.ana)

	conv := f.app.Inbound(f.ch, "51999888777", "Cliente Nuevo", "Hola, quiero una cotización")
	cardIn(t, ctx, conv.ID, "new")
	if got := boardEval[string](t, ctx, fmt.Sprintf(`document.querySelector("#card-%d .bcard-preview").textContent.trim()`, conv.ID)); got != "Hola, quiero una cotización" {
		t.Errorf("live card preview %q", got)
	}
	if got := boardEval[string](t, ctx, `document.querySelector('[data-testid="count-new"]').textContent`); got != "2" {
		t.Errorf("Nuevos count %q", got)
	}
	// The newest conversation is on top.
	if got := boardEval[string](t, ctx, `document.querySelector('[data-testid="cards-new"] .bcard').id`); got != fmt.Sprintf("card-%d", conv.ID) {
		t.Errorf("top card %s", got)
	}
	// The supervisor moves Rosa's chat: it moves on Ana's board too.
	testutil.Must(t, f.app.Server.Inbox.SetStatus(context.Background(), inbox.By(f.viewer(t, f.admin)), existing.ID, models.StatusPending, ""))
	cardIn(t, ctx, existing.ID, "pending")
	// It goes to Carla: it leaves Ana's board.
	f.assign(t, existing, f.carla)
	boardPoll(t, ctx, fmt.Sprintf(`!document.getElementById("card-%d")`, existing.ID), boardWait)
	if got := boardEval[string](t, ctx, `document.querySelector('[data-testid="count-pending"]').textContent`); got != "0" {
		t.Errorf("Pendientes count %q", got)
	}
}

// TestBoardBrowserFiltersLiveInTheURL: choosing a filter narrows the board and puts
// it in the URL; Back brings the previous view; the board stays live.
func TestBoardBrowserFiltersLiveInTheURL(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	mine := f.customer(t, "Pedro Quispe", "Hola", 5*time.Minute)
	f.assign(t, mine, f.ana)
	free := f.customer(t, "Rosa Huamán", "Buenas", 3*time.Minute)
	ctx := boardBrowser(t, f.app, f.ana)

	boardDo(t, ctx, chromedp.Click(chromedp.CSS(`label:has([data-testid="view-mine"])`)))
	boardPoll(t, ctx, `location.search === "?view=mine"`, boardWait)
	boardPoll(t, ctx, fmt.Sprintf(`!document.getElementById("card-%d") && !!document.getElementById("card-%d")`, free.ID, mine.ID), boardWait)
	boardWaitLive(t, ctx)

	// Live updates follow the filter: a new customer is not "mine", a message in mine is.
	f.write(t, boardWaOf(t, f, mine), "Pedro Quispe", "¿Me confirmas el precio?", 0)
	boardPoll(t, ctx, fmt.Sprintf(`document.querySelector("#card-%d .bcard-preview").textContent.indexOf("precio") >= 0`, mine.ID), boardWait)
	// The tab title counts my conversations with unread messages.
	boardPoll(t, ctx, `document.title.indexOf("(1) ") === 0`, boardWait)

	boardDo(t, ctx, chromedp.NavigateBack())
	boardPoll(t, ctx, fmt.Sprintf(`location.search === "" && !!document.getElementById("card-%d")`, free.ID), boardWait)
	// Coming back refetches every column: a column that answers after the new card is
	// placed would replace it with one fetched before the customer wrote.
	boardPoll(t, ctx, `!document.querySelector("[data-board][data-syncing]")`, boardWait)
	boardWaitLive(t, ctx)
	// Still live after coming back.
	conv := f.app.Inbound(f.ch, "51999000111", "Cliente Nuevo", "Hola")
	cardIn(t, ctx, conv.ID, "new")
}

// TestBoardBrowserLoadMore: "Cargar más" brings the next page of a column in place.
func TestBoardBrowserLoadMore(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	total := inbox.DefaultColumnLimit + 4
	for i := range total {
		f.customer(t, fmt.Sprintf("Cliente %02d", i), "Hola", time.Duration(total-i)*time.Minute)
	}
	ctx := boardBrowser(t, f.app, f.ana)
	count := `document.querySelectorAll('[data-testid="cards-new"] .bcard').length`
	if got := boardEval[int](t, ctx, count); got != inbox.DefaultColumnLimit {
		t.Fatalf("first page: %d cards", got)
	}
	boardDo(t, ctx, chromedp.ScrollIntoView(chromedp.CSS(`[data-testid="more-new"]`)), chromedp.Click(chromedp.CSS(`[data-testid="more-new"]`)))
	boardPoll(t, ctx, count+fmt.Sprintf(` === %d && !document.querySelector('[data-testid="more-new"]')`, total), boardWait)
}

// TestBoardBrowserPanelFollowsTheURL: a card opens its conversation in the side panel,
// the URL follows and Back closes it. With ATIENDE_SCREENSHOTS set it also saves the
// board at 1280×800 and 390×844, and with the panel open.
func TestBoardBrowserPanelFollowsTheURL(t *testing.T) {
	t.Parallel()
	f := newBoardFixture(t)
	f.seedRealistic(t)
	ctx := boardBrowser(t, f.app, f.sup)
	testutil.Screenshot(t, ctx, "board-1280")
	// The conversation opens in the side panel, the URL follows, Back closes it.
	var first int64
	testutil.Must(t, f.app.DB.Gorm.Raw(`SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.profile_name = 'Jorge Ramírez'`).Scan(&first).Error)
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#card-%d .bcard-open`, first))))
	boardPoll(t, ctx, `!!document.querySelector("#panel").firstElementChild && !document.querySelector("#panel.htmx-request, #panel .htmx-request")`, boardWait)
	// htmx pushes the URL after the swap: wait for it rather than sleep a guess.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.pathname === "/conversations/%d"`, first), chromedp.WithPollingTimeout(boardWait))); err != nil {
		t.Errorf("with the panel open the URL is %s", boardEval[string](t, ctx, `location.pathname`))
	}
	testutil.Screenshot(t, ctx, "board-panel-1280")
	boardDo(t, ctx, chromedp.NavigateBack())
	boardPoll(t, ctx, `location.pathname === "/board" && !document.querySelector("#panel").firstElementChild`, boardWait)
	boardPoll(t, ctx, `!document.querySelector("[data-board][data-syncing]")`, boardWait) // caught up after Back
	// The × closes it the same way.
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#card-%d .bcard-open`, first))))
	boardPoll(t, ctx, `location.pathname.indexOf("/conversations/") === 0 && !!document.querySelector("#panel").firstElementChild`, boardWait)
	boardDo(t, ctx, chromedp.Click(chromedp.CSS(`[data-action="close-panel"]`)))
	boardPoll(t, ctx, `location.pathname === "/board" && !document.querySelector("#panel").firstElementChild`, boardWait)
	boardDo(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board"]`)))
	testutil.Screenshot(t, ctx, "board-390")
}
