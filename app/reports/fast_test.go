package reports

import (
	"math/rand"
	"testing"
)

// The selection gives the same medians and p90s as sorting (percentile), duplicates and
// all sizes included.
func TestPercentilesBySelectionMatchSorting(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for n := 1; n < 300; n++ {
		v := make([]float64, n)
		for i := range v {
			if n%3 == 0 {
				v[i] = float64(rng.Intn(5)) // many duplicates
			} else {
				v[i] = rng.Float64() * 1e5
			}
		}
		want50, want90 := percentile(v, 0.5), percentile(v, 0.9)
		got50, got90 := percentiles(append([]float64(nil), v...))
		if *got50 != *want50 || *got90 != *want90 {
			t.Fatalf("n=%d: selection %v/%v, sorting %v/%v", n, *got50, *got90, *want50, *want90)
		}
	}
	if a, b := percentiles(nil); a != nil || b != nil {
		t.Fatal("no values must give no percentiles")
	}
}
