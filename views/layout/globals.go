// Package layout renders the application frame around every screen.
package layout

// Globals are the layout's props, built once per request by the web package.
type Globals struct {
	Title         string
	Nav           string // active rail entry: board, contacts, leads, tasks, reports, settings
	UserID        int64
	UserName      string
	UserEmail     string
	UserInitials  string
	Role          string
	Presence      string
	WorkspaceName string
	CSRFToken     string
	Flash         string
	FlashKind     string // ok | error
	DemoMode      bool
	AssetVersion  string
	Search        string
	// AvatarColor is the CSS colour of the user's initials ("" for the default).
	AvatarColor string
	// Notify lists the browser notifications the user wants: "assigned mentions tasks".
	Notify string
}

// IsAdmin reports whether the current user is an admin.
func (g Globals) IsAdmin() bool { return g.Role == "admin" }

// Asset appends the asset version so browsers refetch after a deploy.
func (g Globals) Asset(path string) string { return path + "?v=" + g.AssetVersion }

// PresenceLabel is the Spanish word for the user's presence.
func PresenceLabel(p string) string {
	switch p {
	case "online":
		return "En línea"
	case "busy":
		return "Ocupado"
	}
	return "Desconectado"
}

// RoleLabel is the Spanish name of a role.
func RoleLabel(r string) string {
	switch r {
	case "admin":
		return "Administrador"
	case "supervisor":
		return "Supervisor"
	}
	return "Agente"
}
