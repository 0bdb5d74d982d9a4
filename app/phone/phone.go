// Package phone turns WhatsApp ids into E.164 numbers and back, minding the
// countries where WhatsApp ids and E.164 differ.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// FromWaID returns the E.164 number ("+51987654321") and ISO country ("PE") of a
// WhatsApp id. Mexico's WhatsApp ids may keep the old mobile "1" after +52, which
// E.164 dropped in 2019; Argentina's mobile "9" after +54 is part of E.164 and stays.
// An id that is not a valid number is returned as "+digits" with no country.
func FromWaID(waID string) (e164, country string) {
	digits := onlyDigits(waID)
	if digits == "" {
		return "", ""
	}
	if strings.HasPrefix(digits, "521") && len(digits) == 13 {
		digits = "52" + digits[3:]
	}
	n, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return "+" + digits, ""
	}
	region := phonenumbers.GetRegionCodeForNumber(n)
	if !phonenumbers.IsValidNumber(n) {
		return "+" + digits, region
	}
	return phonenumbers.Format(n, phonenumbers.E164), region
}

// Format renders an E.164 number for people ("+51 987 654 321").
func Format(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// ToWaID turns a number typed by a person (with or without +, spaces, dashes; a
// national number is read in defaultRegion) into the WhatsApp id to send to.
// WhatsApp ids of Argentine numbers carry the mobile "9" after 54; a number typed
// without it (the way Argentines write it at home) gets it, since WhatsApp lines there
// are mobiles in practice.
func ToWaID(input, defaultRegion string) (string, bool) {
	n, err := phonenumbers.Parse(strings.TrimSpace(input), strings.ToUpper(defaultRegion))
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	e := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
	if n.GetCountryCode() == 54 && !strings.HasPrefix(e, "549") {
		e = "549" + e[2:]
	}
	return e, true
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Normalize turns a number written any way ("+52 1 55 1234 5678", "5215512345678",
// "011 15-4123-4567" read in AR, "+54 11 4123 4567") into one E.164 number, the key that
// makes it one contact: Mexico's old mobile "1" after +52 is dropped (as FromWaID does)
// and an Argentine number without the mobile "9" gets it (WhatsApp lines there are
// mobiles, and their WhatsApp ids carry the 9). A national number is read in
// defaultRegion ("PE", "MX"…); ok is false when it cannot be a phone number.
func Normalize(input, defaultRegion string) (e164, country string, ok bool) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", "", false
	}
	digits := onlyDigits(s)
	if len(digits) < 6 || len(digits) > 17 {
		return "", "", false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("+-(). /", r) {
			return "", "", false
		}
	}
	region := strings.ToUpper(defaultRegion)
	if strings.HasPrefix(s, "00") {
		s, digits = "+"+digits[2:], digits[2:]
	}
	if !strings.HasPrefix(s, "+") && region == "" {
		s = "+" + digits // without a country to read it in, a bare number is international
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", "", false
	}
	e := strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+")
	if !phonenumbers.IsValidNumber(n) {
		// A bare international number may still be a WhatsApp id (e.g. Mexico's 521…).
		if !strings.HasPrefix(s, "+") {
			if w, c := FromWaID(digits); c != "" && w != "+"+digits {
				return w, c, true
			}
		}
	}
	switch {
	case strings.HasPrefix(e, "521") && len(e) == 13:
		e = "52" + e[3:]
	case strings.HasPrefix(e, "54") && !strings.HasPrefix(e, "549"):
		e = "549" + e[2:]
	}
	n2, err := phonenumbers.Parse("+"+e, "")
	if err != nil || !phonenumbers.IsPossibleNumber(n2) {
		return "", "", false
	}
	return "+" + e, phonenumbers.GetRegionCodeForNumber(n2), true
}
