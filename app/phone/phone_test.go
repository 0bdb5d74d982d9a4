package phone

import "testing"

func TestFromWaID(t *testing.T) {
	cases := []struct{ wa, e164, country string }{
		{"51987654321", "+51987654321", "PE"},
		{"+51 987 654 321", "+51987654321", "PE"},
		{"5215512345678", "+525512345678", "MX"}, // legacy mobile 1 dropped
		{"525512345678", "+525512345678", "MX"},
		{"5491123456789", "+5491123456789", "AR"}, // mobile 9 kept
		{"573001234567", "+573001234567", "CO"},
		{"56912345678", "+56912345678", "CL"},
		{"16505551234", "+16505551234", "US"},
		{"", "", ""},
	}
	for _, c := range cases {
		e, country := FromWaID(c.wa)
		if e != c.e164 || country != c.country {
			t.Errorf("FromWaID(%q) = %q %q, want %q %q", c.wa, e, country, c.e164, c.country)
		}
	}
}

func TestToWaID(t *testing.T) {
	cases := []struct{ in, region, want string }{
		{"+51 987 654 321", "PE", "51987654321"},
		{"987654321", "PE", "51987654321"},
		{"+54 11 2345-6789", "AR", "5491123456789"},
		{"+54 9 11 2345-6789", "AR", "5491123456789"},
		{"+52 55 1234 5678", "MX", "525512345678"},
	}
	for _, c := range cases {
		got, ok := ToWaID(c.in, c.region)
		if !ok || got != c.want {
			t.Errorf("ToWaID(%q) = %q %v, want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := ToWaID("hola", "PE"); ok {
		t.Error("ToWaID accepted letters")
	}
}
