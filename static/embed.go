// Package static embeds the CSS, scripts and images, plus vendor/ (filled from
// node_modules by `make assets`).
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// FS holds every static file.
//
//go:embed css js img all:vendor
var FS embed.FS

// Version is a short hash of every embedded file, appended to asset URLs for cache busting.
var Version = func() string {
	h := sha256.New()
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := FS.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:10]
}()
