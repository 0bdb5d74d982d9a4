// Package profile renders "Mi perfil", the page every user has for themselves.
package profile

import (
	"strings"

	"github.com/atiende/atiende/app/accounts"
)

func avatarStyle(key string) string {
	if css := accounts.AvatarCSS(key); css != "" {
		return "background:" + css
	}
	return ""
}

func keyOr(key string) string {
	if key == "" {
		return "default"
	}
	return key
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return name
}
