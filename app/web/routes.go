package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/atiende/atiende/models"
	"github.com/atiende/atiende/static"
)

// routes declares every route of the application, grouped by what guards it.
func (s *Server) routes(e *echo.Echo) {
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.Logger.Error("panic", "path", c.Request().URL.Path, "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(s.securityHeaders)
	e.Use(cleanInput) // NUL and invalid UTF-8 never reach a handler (clean.go)
	// Level 1: most of the size win for a fraction of the CPU (compression was a fifth
	// of the board's CPU at the default level); see compress.
	e.Use(compress(func(c echo.Context) bool {
		p := c.Request().URL.Path
		// /metrics compresses itself; SSE must not be buffered; webhooks and media are not worth it.
		return p == "/metrics" || strings.HasPrefix(p, "/events") || strings.HasPrefix(p, "/webhooks/") || strings.HasPrefix(p, "/media/")
	}))

	// Operations: no session, no CSRF.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.Config.MetricsAddr == "" { // otherwise served only on METRICS_ADDR (see serve)
		e.GET("/metrics", echo.WrapHandler(s.MetricsHandler()))
	}
	e.GET("/static/*", staticHandler())

	// Meta's webhooks: authenticated by the verify token (GET) and the body signature (POST).
	e.GET("/webhooks/whatsapp/:key", s.webhookVerify)
	e.POST("/webhooks/whatsapp/:key", s.webhookReceive)

	// Browser pages: session + CSRF.
	web := e.Group("", s.sessionMiddleware, s.csrfMiddleware, middleware.BodyLimit("10M"))
	web.GET("/login", s.loginForm)
	web.POST("/login", s.login)
	web.POST("/logout", s.logout)
	web.GET("/login/2fa", s.loginTwoFactorForm)
	web.POST("/login/2fa", s.loginTwoFactor)

	app := web.Group("", s.requireLogin, s.bumpAfterWrite)
	app.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/board") })

	// Tablero (board.go): the kanban, its columns, moves, and live updates.
	app.GET("/board", s.board, s.gateBoard)
	app.GET("/board/columns/:status", s.boardColumn, s.gateBoard)
	app.GET("/board/cards/:id", s.boardCard, s.gateBoard)
	app.POST("/conversations/:id/move", s.conversationMove)
	app.POST("/board/bulk", s.boardBulk) // bulk.go
	app.GET("/events", s.events)
	app.POST("/me/presence", s.setPresence)
	app.POST("/me/heartbeat", s.heartbeat)

	// Conversación (conversation.go): history, composer and actions.
	app.GET("/conversations/:id", s.conversationShow)
	app.GET("/conversations/:id/messages", s.conversationMessages)
	app.POST("/conversations/:id/messages", s.conversationSend)
	app.POST("/conversations/:id/template", s.conversationTemplate)
	app.POST("/conversations/:id/take", s.conversationTake)
	app.POST("/conversations/:id/assign", s.conversationAssign)
	app.POST("/conversations/:id/transfer", s.conversationTransfer)
	app.POST("/conversations/:id/status", s.conversationStatus)
	app.POST("/conversations/:id/labels", s.conversationLabels)
	app.POST("/conversations/:id/read", s.conversationRead)
	app.POST("/conversations/:id/viewing", s.conversationViewing) // collision.go
	app.GET("/conversations/:id/why", s.conversationWhy)          // routing_why.go: "¿por qué aquí?"
	app.POST("/compose/preview", s.composePreview)                // compose.go
	app.GET("/media/:id", s.media)
	// sending.go: scheduled replies.
	app.GET("/conversations/:id/scheduled", s.conversationScheduled)
	app.POST("/conversations/:id/scheduled", s.conversationSchedule)
	app.POST("/conversations/:id/scheduled/:sid", s.conversationScheduleEdit)
	app.POST("/conversations/:id/scheduled/:sid/cancel", s.conversationScheduleCancel)

	// Mi perfil (profile.go) and the rail's badges (badges.go).
	app.GET("/profile", s.profileShow)
	app.POST("/profile", s.profileUpdate)
	app.POST("/profile/password", s.profilePassword)
	app.GET("/me/badges", s.badges)

	// Contactos y Empresas (contacts.go): list, export, profile, merge, companies, CSV import.
	app.GET("/contacts", s.contactsList)
	app.GET("/contacts/export.csv", s.contactsExport)
	app.GET("/contacts/:id", s.contactShow)
	app.POST("/contacts/:id", s.contactUpdate)
	app.POST("/contacts/:id/merge", s.contactMerge, requireRole(models.RoleAdmin, models.RoleSupervisor))
	app.GET("/companies", s.companiesList)
	app.POST("/companies", s.companyCreate)
	app.GET("/companies/:id", s.companyShow)
	app.POST("/companies/:id", s.companyUpdate)
	imports := app.Group("/contacts/import", requireRole(models.RoleAdmin, models.RoleSupervisor))
	imports.GET("", s.importsList)
	imports.POST("", s.importUpload)
	imports.GET("/:id", s.importShow)
	imports.POST("/:id/start", s.importStart)
	imports.GET("/:id/progress", s.importProgress)
	imports.GET("/:id/errors.csv", s.importErrorsCSV)
	// Oportunidades y Tareas (leads.go, tasks.go).
	app.GET("/leads", s.leadBoard)
	app.GET("/leads/list", s.leadList)
	app.GET("/leads/export.csv", s.leadExport)
	app.GET("/leads/columns/:id", s.leadColumn)
	app.GET("/leads/:id", s.leadShow)
	app.POST("/leads/:id", s.leadUpdate)
	app.POST("/leads/:id/stage", s.leadMove)
	app.POST("/conversations/:id/leads", s.conversationLeadCreate)
	app.GET("/tasks", s.tasksPage)
	app.POST("/tasks", s.taskCreate)
	app.POST("/tasks/:id/done", s.taskDone)
	app.GET("/reports", s.reportsPage) // reports.go
	app.GET("/reports/export.csv", s.reportsExport)

	// Configuración: admins land on users; everyone else manages their own API tokens.
	app.GET("/settings", func(c echo.Context) error {
		if viewer(c).IsAdmin() {
			return c.Redirect(http.StatusSeeOther, "/settings/users")
		}
		return c.Redirect(http.StatusSeeOther, "/settings/tokens")
	})
	// Tokens de API: every user manages their own (settings_tokens.go).
	app.GET("/settings/tokens", s.tokensList)
	app.POST("/settings/tokens", s.tokenCreate)
	app.POST("/settings/tokens/:id/delete", s.tokenDelete)
	// Seguridad: password and two-factor sign-in for everyone; the workspace rule for admins (settings_security.go).
	app.GET("/settings/security", s.securityShow)
	app.POST("/settings/security/password", s.securityPassword)
	app.POST("/settings/security/2fa/confirm", s.securityConfirm)
	app.POST("/settings/security/2fa/recovery", s.securityRecovery)
	app.POST("/settings/security/2fa/disable", s.securityDisable)
	app.POST("/settings/security/require", s.securityRequire, requireRole(models.RoleAdmin))

	admin := app.Group("/settings", requireRole(models.RoleAdmin))
	admin.GET("/users", s.usersList)
	admin.GET("/users/new", s.userNew)
	admin.POST("/users", s.userCreate)
	admin.GET("/users/:id", s.userEdit)
	admin.POST("/users/:id", s.userUpdate)
	admin.POST("/users/:id/2fa/reset", s.userResetTwoFactor)
	admin.GET("/teams", s.teamsList)
	admin.POST("/teams", s.teamCreate)
	admin.GET("/teams/:id", s.teamEdit)
	admin.POST("/teams/:id", s.teamUpdate)
	// settings_channels.go, settings_templates.go, settings_canned.go, settings_labels.go
	admin.GET("/channels", s.channelsList)
	admin.POST("/channels", s.channelCreate)
	admin.GET("/channels/:id", s.channelEdit)
	admin.POST("/channels/:id", s.channelUpdate)
	admin.GET("/templates", s.templatesList)
	admin.POST("/templates", s.templateCreate)
	admin.POST("/templates/:id/delete", s.templateDelete)
	admin.POST("/templates/sync", s.templatesSync)
	admin.GET("/canned", s.cannedList)
	admin.POST("/canned", s.cannedCreate)
	admin.POST("/canned/:id/delete", s.cannedDelete)
	admin.GET("/labels", s.labelsList)
	admin.POST("/labels", s.labelCreate)
	admin.POST("/labels/:id/delete", s.labelDelete)
	// Auditoría (settings_audit.go).
	admin.GET("/audit", s.auditList)
	admin.GET("/audit.csv", s.auditCSV)
	admin.GET("/webhooks", s.webhooksList) // settings_webhooks.go
	admin.POST("/webhooks/:id/replay", s.webhookReplay)
	admin.GET("/contact-fields", s.fieldsList) // contacts.go
	admin.POST("/contact-fields", s.fieldCreate)
	admin.POST("/contact-fields/:id/delete", s.fieldDelete)
	// settings_pipelines.go
	admin.GET("/pipelines", s.pipelinesList)
	admin.POST("/pipelines", s.pipelineCreate)
	admin.GET("/pipelines/:id", s.pipelineEdit)
	admin.POST("/pipelines/:id", s.pipelineUpdate)
	admin.POST("/channels/:id/auto-lead", s.channelAutoLead)
	// SLA policies (settings_sla.go).
	admin.GET("/sla", s.slaList)
	admin.POST("/sla", s.slaCreate)
	admin.GET("/sla/:id", s.slaEdit)
	admin.POST("/sla/:id", s.slaUpdate)
	admin.POST("/sla/:id/delete", s.slaDelete)
	// Routing setup and automations (issue 9): settings_routing.go, settings_calendars.go, settings_automations.go
	admin.GET("/routing", s.routingList)
	admin.POST("/routing", s.ruleCreate)
	admin.POST("/routing/order", s.ruleOrder)
	admin.GET("/routing/:id", s.ruleEdit)
	admin.POST("/routing/:id", s.ruleUpdate)
	admin.POST("/routing/:id/active", s.ruleToggle)
	admin.POST("/routing/:id/move", s.ruleMove)
	admin.POST("/routing/:id/delete", s.ruleDelete)
	admin.GET("/channels/:id/menu", s.menuEdit)
	admin.POST("/channels/:id/menu", s.menuSave)
	admin.POST("/channels/:id/menu/delete", s.menuDelete)
	admin.GET("/calendars", s.calendarsList)
	admin.POST("/calendars", s.calendarCreate)
	admin.POST("/calendars/preview", s.calendarPreviewPart)
	admin.GET("/calendars/:id", s.calendarEdit)
	admin.POST("/calendars/:id", s.calendarUpdate)
	admin.POST("/calendars/:id/delete", s.calendarDelete)
	admin.GET("/automations", s.automationsList)
	admin.POST("/automations", s.automationCreate)
	admin.GET("/automations/:id", s.automationEdit)
	admin.POST("/automations/:id", s.automationUpdate)
	admin.POST("/automations/:id/active", s.automationToggle)
	admin.POST("/automations/:id/delete", s.automationDelete)

	// JSON API v1 (api.go): Bearer tokens, no session and no CSRF (no ambient credentials).
	api := e.Group("/api/v1", s.requireToken, s.bumpAfterWrite, middleware.BodyLimit("1M"))
	api.GET("/me", s.apiMe)
	api.POST("/me/presence", s.apiPresence) // api_presence.go
	api.GET("/conversations", s.apiConversations)
	api.GET("/conversations/:id", s.apiConversation)
	api.GET("/conversations/:id/messages", s.apiMessages)
	api.POST("/conversations/:id/take", s.apiTake)
	api.POST("/conversations/:id/assign", s.apiAssign)
	api.POST("/conversations/:id/status", s.apiStatus)
	api.GET("/reports/summary", s.apiReportSummary)
	api.GET("/contacts", s.apiContacts) // contacts.go
	api.POST("/contacts", s.apiContactCreate)
	api.GET("/contacts/:id", s.apiContact)
	api.PATCH("/contacts/:id", s.apiContactPatch)
	// api_crm.go
	api.GET("/leads", s.apiLeads)
	api.POST("/leads", s.apiLeadCreate)
	api.GET("/leads/:id", s.apiLead)
	api.PATCH("/leads/:id", s.apiLeadPatch)
	api.GET("/tasks", s.apiTasks)
	api.POST("/tasks", s.apiTaskCreate)
	api.PATCH("/tasks/:id", s.apiTaskPatch)

	// Attachments (attach.go): their own body limit, WhatsApp's (100 MB documents).
	e.POST("/conversations/:id/attachments", s.conversationAttach,
		s.sessionMiddleware, s.csrfMiddleware, s.requireLogin, s.bumpAfterWrite, attachmentLimit)
	e.POST("/conversations/:id/templates", s.conversationSendTemplate,
		s.sessionMiddleware, s.csrfMiddleware, s.requireLogin, s.bumpAfterWrite, attachmentLimit)
	e.POST("/api/v1/conversations/:id/messages", s.apiSendMessageAny, s.requireToken, s.bumpAfterWrite, attachmentLimit)

	// Not found: with the session, so a signed-in person keeps the app frame.
	web.RouteNotFound("/*", s.notFound)
}

func staticHandler() echo.HandlerFunc {
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(static.FS)))
	return func(c echo.Context) error {
		if c.QueryParam("v") == static.Version {
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Response().Header().Set("Cache-Control", "no-cache")
		}
		fsrv.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
