// Package errors renders the friendly error pages.
package errors

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }
