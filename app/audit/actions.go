package audit

// Actions. Keep the Spanish label of every one in Labels: the audit screen shows it
// and offers it as a filter.
const (
	LoginSuccess      = "auth.login"
	LoginFailure      = "auth.login_failed"
	LoginTwoFactor    = "auth.login_2fa"        // second factor accepted
	LoginTwoFactorBad = "auth.login_2fa_failed" // wrong code
	Logout            = "auth.logout"

	PasswordChange  = "user.password_change" // the user changed their own
	PasswordReset   = "user.password_reset"  // an admin (or the CLI) set it
	TwoFactorOn     = "user.2fa_enabled"
	TwoFactorOff    = "user.2fa_disabled"
	RecoveryCodes   = "user.recovery_codes"
	TwoFactorPolicy = "workspace.require_2fa"

	TokenCreate = "token.create"
	TokenRevoke = "token.revoke"

	UserCreate     = "user.create"
	UserUpdate     = "user.update" // name, email, role, capacity, teams
	UserDeactivate = "user.deactivate"
	UserReactivate = "user.reactivate"
	TeamCreate     = "team.create"
	TeamUpdate     = "team.update"

	SettingsChange = "settings.change" // channels, templates, canned replies, labels…
	Export         = "data.export"
	Import         = "data.import"
	Merge          = "contact.merge"
	WebhookReplay  = "webhook.replay" // a dead letter retried by hand

	SLAPolicyCreate = "sla_policy.create"
	SLAPolicyUpdate = "sla_policy.update"
	SLAPolicyDelete = "sla_policy.delete"
	// Routing and automations (issue 9).
	RoutingRuleCreate  = "routing.rule_create"
	RoutingRuleUpdate  = "routing.rule_update" // edited, paused or resumed
	RoutingRuleDelete  = "routing.rule_delete"
	RoutingRuleReorder = "routing.rule_reorder"
	MenuUpdate         = "routing.menu_update"
	CalendarCreate     = "calendar.create"
	CalendarUpdate     = "calendar.update"
	CalendarDelete     = "calendar.delete"
	AutomationCreate   = "automation.create"
	AutomationUpdate   = "automation.update" // edited, paused or resumed
	AutomationDelete   = "automation.delete"
)

// Label is one action with its Spanish name.
type Label struct{ Action, Name string }

// Labels lists the actions in the order the filter offers them.
var Labels = []Label{
	{LoginSuccess, "Inicio de sesión"},
	{LoginFailure, "Inicio de sesión fallido"},
	{LoginTwoFactor, "Verificación en dos pasos correcta"},
	{LoginTwoFactorBad, "Código de verificación incorrecto"},
	{Logout, "Cierre de sesión"},
	{PasswordChange, "Cambio de contraseña"},
	{PasswordReset, "Contraseña restablecida"},
	{TwoFactorOn, "Verificación en dos pasos activada"},
	{TwoFactorOff, "Verificación en dos pasos desactivada"},
	{RecoveryCodes, "Códigos de recuperación nuevos"},
	{TwoFactorPolicy, "Exigencia de verificación en dos pasos"},
	{TokenCreate, "Token de API creado"},
	{TokenRevoke, "Token de API revocado"},
	{UserCreate, "Usuario creado"},
	{UserUpdate, "Usuario modificado (rol, equipos, datos)"},
	{UserDeactivate, "Usuario desactivado"},
	{UserReactivate, "Usuario reactivado"},
	{TeamCreate, "Equipo creado"},
	{TeamUpdate, "Equipo modificado"},
	{SettingsChange, "Cambio de configuración"},
	{Export, "Exportación"},
	{Import, "Importación"},
	{Merge, "Contactos fusionados"},
	{WebhookReplay, "Webhook reintentado"},
	{SLAPolicyCreate, "Política de SLA creada"},
	{SLAPolicyUpdate, "Política de SLA modificada"},
	{SLAPolicyDelete, "Política de SLA eliminada"},
	{RoutingRuleCreate, "Regla de enrutamiento creada"},
	{RoutingRuleUpdate, "Regla de enrutamiento modificada"},
	{RoutingRuleDelete, "Regla de enrutamiento eliminada"},
	{RoutingRuleReorder, "Reglas de enrutamiento reordenadas"},
	{MenuUpdate, "Menú de bienvenida modificado"},
	{CalendarCreate, "Horario creado"},
	{CalendarUpdate, "Horario modificado"},
	{CalendarDelete, "Horario eliminado"},
	{AutomationCreate, "Automatización creada"},
	{AutomationUpdate, "Automatización modificada"},
	{AutomationDelete, "Automatización eliminada"},
}

// Name is the Spanish name of action (the action itself when unknown).
func Name(action string) string {
	for _, l := range Labels {
		if l.Action == action {
			return l.Name
		}
	}
	return action
}
