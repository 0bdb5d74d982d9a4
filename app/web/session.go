package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
)

const (
	sessionUserID = "user_id"
	// sessionWorkspaceID lets requireLogin read the workspace's version before loading
	// the viewer (see loadViewer).
	sessionWorkspaceID = "workspace_id"
	sessionCSRF        = "csrf"
	sessionFlash       = "flash"
	sessionEpoch       = "epoch" // the user's SessionEpoch at sign-in; a password change moves it on
	sessionSeen        = "seen"  // Unix seconds of the last request, refreshed at most every sessionTouchEvery
	headerCSRF         = "X-CSRF-Token"
	formCSRF           = "_csrf"
)

// sessionMiddleware loads the scs session into the request context and commits it
// (writing the cookie) just before the response is written. This is the echo-native
// equivalent of scs.LoadAndSave: wrapping that with echo.WrapMiddleware loses the
// cookie when handlers write through echo (scs issue #5).
func (s *Server) sessionMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var token string
		if ck, err := r.Cookie(s.Sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.Sessions.Load(r.Context(), token)
		if err != nil {
			return err
		}
		s.checkIdle(ctx)
		c.SetRequest(r.WithContext(ctx))
		res := c.Response()
		res.Header().Add("Vary", "Cookie")
		res.Before(func() {
			switch s.Sessions.Status(ctx) {
			case scs.Modified:
				tok, expiry, err := s.Sessions.Commit(ctx)
				if err != nil {
					s.Logger.Error("session commit failed", "err", err)
					return
				}
				s.Sessions.WriteSessionCookie(ctx, res.Writer, tok, expiry)
			case scs.Destroyed:
				s.Sessions.WriteSessionCookie(ctx, res.Writer, "", time.Time{})
			}
		})
		return next(c)
	}
}

// Sessions end after a week without requests (and in any case after scs's Lifetime).
// scs's own IdleTimeout would rewrite the session row on every request, a durable
// write per page view; the last-seen time is kept at an hour's precision instead, so a
// session is written at most once an hour when nothing else changes.
const (
	sessionIdleTimeout = 7 * 24 * time.Hour
	sessionTouchEvery  = time.Hour
)

// checkIdle ends a session idle for longer than sessionIdleTimeout and refreshes the
// last-seen time of a live one when it is over an hour old.
func (s *Server) checkIdle(ctx context.Context) {
	if !s.Sessions.Exists(ctx, sessionUserID) && !s.Sessions.Exists(ctx, sessionCSRF) {
		return // a stranger's first request: nothing to keep yet
	}
	now := s.Clock.Now()
	seen := s.Sessions.GetInt64(ctx, sessionSeen)
	if seen != 0 && now.Sub(time.Unix(seen, 0)) > sessionIdleTimeout {
		_ = s.Sessions.Destroy(ctx)
		return
	}
	if seen == 0 || now.Sub(time.Unix(seen, 0)) >= sessionTouchEvery {
		s.Sessions.Put(ctx, sessionSeen, now.Unix())
	}
}

// csrfToken returns the session's CSRF token, creating it on first use.
func (s *Server) csrfToken(c echo.Context) string {
	ctx := c.Request().Context()
	if t := s.Sessions.GetString(ctx, sessionCSRF); t != "" {
		return t
	}
	t := randomToken()
	s.Sessions.Put(ctx, sessionCSRF, t)
	return t
}

// csrfMiddleware refuses every unsafe request whose token (form field _csrf or header
// X-CSRF-Token) does not match the session's.
func (s *Server) csrfMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want := s.Sessions.GetString(c.Request().Context(), sessionCSRF)
		got := c.Request().Header.Get(headerCSRF)
		if got == "" && isForm(c.Request()) {
			// The body only: a token in the query string leaks through logs, history
			// and Referer, so it is never accepted.
			got = c.Request().PostFormValue(formCSRF)
		}
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "La página caducó o el formulario no es válido. Vuelve a cargar la página e inténtalo de nuevo.")
		}
		return next(c)
	}
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get(echo.HeaderContentType)
	return strings.HasPrefix(ct, echo.MIMEApplicationForm) || strings.HasPrefix(ct, echo.MIMEMultipartForm)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// flash stores a one-time message shown on the next page.
func (s *Server) flash(c echo.Context, msg string) {
	s.Sessions.Put(c.Request().Context(), sessionFlash, msg)
}
