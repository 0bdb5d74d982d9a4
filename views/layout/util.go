package layout

import "strconv"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// avatarStyle colours the user's initials with the colour chosen in Mi perfil.
func avatarStyle(css string) string {
	if css == "" {
		return ""
	}
	return "background:" + css
}
