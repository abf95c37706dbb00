package crm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A rank fits between any two, ends never in the lowest digit, and a
// thousand moves into the same gap stay ordered without renumbering.
func TestRankBetween(t *testing.T) {
	cases := [][2]string{{"", ""}, {"", "V"}, {"V", ""}, {"V", "W"}, {"V", "V1"}, {"0V", "1"}, {"z", ""}, {"zz", ""}, {"", "01"}, {"Az", "B"}}
	for _, c := range cases {
		r := RankBetween(c[0], c[1])
		if !ValidRank(r) || (c[0] != "" && r <= c[0]) || (c[1] != "" && r >= c[1]) {
			t.Errorf("RankBetween(%q, %q) = %q: not strictly between", c[0], c[1], r)
		}
	}
	// Always inserting right after the first card: the worst case for length.
	lo, hi := RankBetween("", ""), ""
	hi = RankBetween(lo, "")
	for i := 0; i < 1000; i++ {
		mid := RankBetween(lo, hi)
		if mid <= lo || mid >= hi || !ValidRank(mid) {
			t.Fatalf("step %d: %q not between %q and %q", i, mid, lo, hi)
		}
		hi = mid
	}
	if len(hi) > 256 { // each insert halves the gap: ~6 bits a digit
		t.Errorf("after 1,000 inserts into one gap the rank is %d long", len(hi))
	}
	// Random inserts keep a consistent order.
	ranks := []string{}
	for i := 0; i < 2000; i++ {
		at := rand.IntN(len(ranks) + 1)
		a, b := "", ""
		if at > 0 {
			a = ranks[at-1]
		}
		if at < len(ranks) {
			b = ranks[at]
		}
		ranks = slices.Insert(ranks, at, RankBetween(a, b))
	}
	if !slices.IsSorted(ranks) {
		t.Fatal("ranks out of order")
	}
}

func FuzzRankBetween(f *testing.F) {
	f.Add("V", "W")
	f.Add("", "1")
	f.Add("zz", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		if (a != "" && !ValidRank(a)) || (b != "" && !ValidRank(b)) || (a != "" && b != "" && a >= b) {
			return
		}
		r := RankBetween(a, b)
		if !ValidRank(r) || (a != "" && r <= a) || (b != "" && r >= b) {
			t.Fatalf("RankBetween(%q, %q) = %q", a, b, r)
		}
	})
}
