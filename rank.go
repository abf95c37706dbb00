package crm

import "strings"

// Ranks order the cards of a Kanban column: strings compared byte by byte
// (PostgreSQL's "C" collation), so a card moved between two others gets a
// rank between theirs and no other card is renumbered. There is always
// room: a rank never ends in the lowest digit, and a longer string fits
// between any two.

const rankDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func rankDigit(r string, i int) int {
	if i >= len(r) {
		return 0
	}
	return strings.IndexByte(rankDigits, r[i])
}

// ValidRank reports whether r is a rank: digits of rankDigits, not ending
// in the lowest.
func ValidRank(r string) bool {
	if r == "" || r[len(r)-1] == rankDigits[0] || len(r) > 1024 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if strings.IndexByte(rankDigits, r[i]) < 0 {
			return false
		}
	}
	return true
}

// RankBetween is a rank after a and before b; "" for a is the column's
// start and "" for b its end. a must sort before b.
func RankBetween(a, b string) string {
	base := len(rankDigits)
	var out []byte
	open := b == "" // nothing above: the upper bound is beyond every digit
	for i := 0; ; i++ {
		lo := rankDigit(a, i)
		hi := base
		if !open {
			hi = rankDigit(b, i)
		}
		switch {
		case hi-lo > 1:
			return string(append(out, rankDigits[(lo+hi)/2]))
		case hi == lo:
			out = append(out, rankDigits[lo])
		default: // adjacent: keep a's digit; anything after it is below b
			out = append(out, rankDigits[lo])
			open = true
		}
	}
}
