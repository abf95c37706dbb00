package crm_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"crm"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
	}{
		// Already E.164.
		{"+5511987654321", "+5511987654321"},
		{"+551134567890", "+551134567890"},
		// Formatting people use.
		{"+55 (11) 98765-4321", "+5511987654321"},
		{"(11) 98765-4321", "+5511987654321"},
		{"11 9 8765 4321", "+5511987654321"},
		{"11.98765.4321", "+5511987654321"},
		{" 11987654321 ", "+5511987654321"},
		{"5511987654321", "+5511987654321"},
		{"55 21 3456-7890", "+552134567890"},
		{"11\u00a098765\u20114321", "+5511987654321"},
		// Trunk prefix, with and without a carrier code.
		{"011 98765-4321", "+5511987654321"},
		{"0 21 11 98765-4321", "+5511987654321"},
		{"0 15 21 3456-7890", "+552134567890"},
		{"(021) 3456-7890", "+552134567890"},
		{"+55 (011) 98765-4321", "+5511987654321"},
		// Old 8-digit mobiles gain the ninth digit; landlines do not.
		{"(11) 8765-4321", "+5511987654321"},
		{"+55 85 8765 4321", "+5585987654321"},
		{"61 6123-4567", "+5561961234567"},
		{"(48) 3222-1234", "+554832221234"},
		{"(55) 2222-1234", "+555522221234"}, // DDD 55 (Santa Maria) without a country code
		{"55 99876-5432", "+5555998765432"},
		// Other countries need the +.
		{"+1 (415) 555-2671", "+14155552671"},
		{"+351 912 345 678", "+351912345678"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+49 30 1234567", "+49301234567"},
	}
	for _, tc := range cases {
		got, err := crm.NormalizePhone(tc.in)
		require.NoError(t, err, "input %q", tc.in)
		require.Equal(t, tc.want, got, "input %q", tc.in)
		require.Regexp(t, e164, got)
		again, err := crm.NormalizePhone(got)
		require.NoError(t, err, "renormalising %q", got)
		require.Equal(t, got, again, "idempotent for %q", tc.in)
	}
}

func TestNormalizePhoneErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, message string
	}{
		{"", "phone number is empty"},
		{"   ", "phone number is empty"},
		{"abc", "phone number may contain only digits, spaces and + . - ( )"},
		{"11 98765-4321 ramal 2", "phone number may contain only digits, spaces and + . - ( )"},
		{"()-", "phone number has no digits"},
		{"11+987654321", `"+" may only start the number`},
		{"98765-4321", "area code (DDD) is missing"},
		{"3456-7890", "area code (DDD) is missing"},
		{"(20) 98765-4321", "area code (DDD) 20 does not exist in Brazil"},
		{"+55 10 98765-4321", "area code (DDD) 10 does not exist in Brazil"},
		{"(11) 88765-4321", "9-digit numbers are mobiles and start with 9"},
		{"(11) 1234-5678", "subscriber numbers cannot start with 1"},
		{"(11) 0234-5678", "subscriber numbers cannot start with 0"},
		{"+55 11 987", "Brazilian numbers have a 2-digit area code (DDD) and 8 or 9 digits"},
		{"+0 11 98765 4321", "country code cannot start with 0"},
		{"+1 234", "international numbers must have 8 to 15 digits"},
		{"+1 2345 6789 0123 4567", "international numbers must have 8 to 15 digits"},
		{"00 1 415 555 2671", `write international numbers with "+" and the country code`},
		{"123", "not a valid Brazilian phone number; use +<country code> for other countries"},
		{"4155552671999", "not a valid Brazilian phone number; use +<country code> for other countries"},
		{"01 98765", "not a valid Brazilian phone number"},
		{"0800 123 4567", "0800, 0300, 0500 and 0900 numbers are service lines, not personal phones"},
		{"0300-789-1234", "0800, 0300, 0500 and 0900 numbers are service lines, not personal phones"},
		{"1198765432112345678901234567890123456789012345678901234567890123456789", "phone number is too long"},
	}
	for _, tc := range cases {
		got, err := crm.NormalizePhone(tc.in)
		require.Error(t, err, "input %q gave %q", tc.in, got)
		var coded *crm.Error
		require.True(t, errors.As(err, &coded), "input %q", tc.in)
		require.Equal(t, "invalid_phone", coded.Code)
		require.ErrorIs(t, err, crm.ErrInvalid)
		require.Equal(t, tc.message, coded.Message, "input %q", tc.in)
		require.Empty(t, got)
	}
}

// Every Brazilian DDD is accepted and every other two-digit code refused.
func TestNormalizePhoneAreaCodes(t *testing.T) {
	t.Parallel()
	valid := map[int]bool{}
	for _, ddd := range []int{11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
		41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77,
		79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99} {
		valid[ddd] = true
	}
	require.Len(t, valid, 67)
	for ddd := 10; ddd <= 99; ddd++ {
		in := "+55" + itoa2(ddd) + "987654321"
		got, err := crm.NormalizePhone(in)
		if valid[ddd] {
			require.NoError(t, err, "DDD %d", ddd)
			require.Equal(t, in, got)
		} else {
			require.Error(t, err, "DDD %d", ddd)
		}
	}
}

func itoa2(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func FuzzNormalizePhone(f *testing.F) {
	for _, seed := range []string{"+5511987654321", "(11) 98765-4321", "0 21 11 98765-4321", "011 8765-4321",
		"+1 415 555 2671", "55 55 2222-1234", "", "+", "+55", "0", "00", "9", "+0", "(((", "+55 0", "0 00 00 0000-0000",
		"١٢٣", "11\u00a098765 4321", "+999999999999999", "5511987654321"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := crm.NormalizePhone(raw)
		if err != nil {
			var coded *crm.Error
			if !errors.As(err, &coded) || coded.Code != "invalid_phone" || got != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %v: want an invalid_phone error and no number", raw, got, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", raw, got)
		}
		again, err := crm.NormalizePhone(got)
		if err != nil || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, but normalising that gives %q, %v", raw, got, again, err)
		}
	})
}
