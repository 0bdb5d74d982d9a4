package whatsapp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"
)

// CleanString removes NUL characters (PostgreSQL text and jsonb refuse them) and
// replaces invalid UTF-8 with U+FFFD.
func CleanString(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// CleanStrings cleans, in place, every string reachable from v (a pointer): struct
// fields, slices, maps of strings, and raw JSON values kept as json.RawMessage.
func CleanStrings(v any) { cleanValue(reflect.ValueOf(v)) }

func cleanValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			cleanValue(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				cleanValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			if v.CanSet() && v.Len() > 0 {
				v.SetBytes(CleanJSON(v.Bytes()))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			cleanValue(v.Index(i))
		}
	case reflect.String:
		if v.CanSet() {
			if s := v.String(); s != "" {
				if c := CleanString(s); c != s {
					v.SetString(c)
				}
			}
		}
	}
}

// CleanJSON returns b with every string inside it cleaned like CleanString, lone
// surrogate escapes replaced (jsonb refuses them), and nil when b is not JSON at all.
func CleanJSON(b []byte) []byte {
	if utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`)) && !hasSurrogateEscape(b) {
		return b
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case string:
			return CleanString(t)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, val := range t {
				out[CleanString(k)] = walk(val)
			}
			return out
		}
		return x
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		return nil
	}
	return out
}

// hasSurrogateEscape reports a \uD800–\uDFFF escape: Go decodes a valid pair into one
// rune and a lone one into U+FFFD, so a round trip through Go makes it safe.
func hasSurrogateEscape(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`\u`))
		if j < 0 || i+j+3 >= len(b) {
			return false
		}
		k := i + j + 2
		if (b[k] == 'd' || b[k] == 'D') && strings.IndexByte("89abAB", b[k+1]) >= 0 {
			return true
		}
		i = k
	}
}
