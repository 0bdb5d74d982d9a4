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

// The same person's number written any way is one E.164 number: one contact.
func TestNormalizeSamePersonAnyFormat(t *testing.T) {
	groups := []struct {
		want, country string
		region        string
		inputs        []string
	}{
		{"+525512345678", "MX", "MX", []string{"5215512345678", "525512345678", "+52 1 55 1234 5678", "+52 55 1234-5678", "55 1234 5678", "0052 55 1234 5678"}},
		{"+5491123456789", "AR", "AR", []string{"5491123456789", "541123456789", "+54 9 11 2345-6789", "+54 11 2345-6789", "011 15-2345-6789", "11 2345 6789"}},
		{"+51987654321", "PE", "PE", []string{"51987654321", "+51 987 654 321", "987 654 321", "(+51) 987-654-321"}},
		{"+573001234567", "CO", "", []string{"573001234567", "+57 300 123 4567"}},
	}
	for _, g := range groups {
		for _, in := range g.inputs {
			got, country, ok := Normalize(in, g.region)
			if !ok || got != g.want || country != g.country {
				t.Errorf("Normalize(%q, %q) = %q %q %v, want %q %q", in, g.region, got, country, ok, g.want, g.country)
			}
		}
	}
	for _, bad := range []string{"", "hola", "12", "juan@acme.com", "+51 987 abc"} {
		if got, _, ok := Normalize(bad, "PE"); ok {
			t.Errorf("Normalize(%q) = %q, want rejected", bad, got)
		}
	}
}
