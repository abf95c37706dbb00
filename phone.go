package crm

import (
	"strings"
	"unicode"
)

// brazilAreaCodes are the DDDs Anatel assigns. A number whose two-digit area
// code is not here cannot be a Brazilian number.
var brazilAreaCodes = [100]bool{
	11: true, 12: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true, 19: true,
	21: true, 22: true, 24: true, 27: true, 28: true,
	31: true, 32: true, 33: true, 34: true, 35: true, 37: true, 38: true,
	41: true, 42: true, 43: true, 44: true, 45: true, 46: true, 47: true, 48: true, 49: true,
	51: true, 53: true, 54: true, 55: true,
	61: true, 62: true, 63: true, 64: true, 65: true, 66: true, 67: true, 68: true, 69: true,
	71: true, 73: true, 74: true, 75: true, 77: true, 79: true,
	81: true, 82: true, 83: true, 84: true, 85: true, 86: true, 87: true, 88: true, 89: true,
	91: true, 92: true, 93: true, 94: true, 95: true, 96: true, 97: true, 98: true, 99: true,
}

// maxPhoneInput bounds what NormalizePhone looks at; no real number written
// with any formatting comes close.
const maxPhoneInput = 64

func phoneError(message string) *Error {
	return NewError(ErrInvalid, "invalid_phone", message, nil)
}

// NormalizePhone turns a phone number as people write it into E.164, with
// Brazil (+55) as the default country:
//
//   - spaces, dots, dashes, slashes and parentheses are ignored;
//   - "+55…", "55…" (12 or 13 digits), a trunk "0" with or without a two-digit
//     carrier code ("0 21 11 98765-4321", "011 98765-4321") and a bare DDD plus
//     number are Brazilian; the DDD must be a real one;
//   - an 8-digit mobile (first digit 6–9) gains the ninth digit 9, landlines
//     (first digit 2–5) keep 8 digits;
//   - another country is accepted only with an explicit "+" and 8–15 digits.
//
// The result always matches ^\+[1-9][0-9]{6,14}$ and normalising it again
// returns it unchanged. Errors are *Error with code invalid_phone and a
// message fit to show next to the field.
func NormalizePhone(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", phoneError("phone number is empty")
	}
	if len(raw) > maxPhoneInput {
		return "", phoneError("phone number is too long")
	}
	var digits strings.Builder
	plus := false
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+':
			if i != 0 {
				return "", phoneError(`"+" may only start the number`)
			}
			plus = true
		case r == '.' || r == '-' || r == '(' || r == ')' || r == '/' || r == '\u2010' || r == '\u2011' ||
			r == '\u2013' || unicode.IsSpace(r):
		default:
			return "", phoneError("phone number may contain only digits, spaces and + . - ( )")
		}
	}
	d := digits.String()
	if d == "" {
		return "", phoneError("phone number has no digits")
	}
	if plus {
		if strings.HasPrefix(d, "55") {
			return brazilianPhone(d[2:])
		}
		if d[0] == '0' {
			return "", phoneError("country code cannot start with 0")
		}
		if len(d) < 8 || len(d) > 15 {
			return "", phoneError("international numbers must have 8 to 15 digits")
		}
		return "+" + d, nil
	}
	switch {
	case strings.HasPrefix(d, "00"):
		return "", phoneError(`write international numbers with "+" and the country code`)
	case len(d) == 11 && (strings.HasPrefix(d, "0800") || strings.HasPrefix(d, "0300") ||
		strings.HasPrefix(d, "0500") || strings.HasPrefix(d, "0900")):
		return "", phoneError("0800, 0300, 0500 and 0900 numbers are service lines, not personal phones")
	case d[0] == '0':
		return brazilianPhone(d)
	case strings.HasPrefix(d, "55") && (len(d) == 12 || len(d) == 13):
		return brazilianPhone(d[2:])
	case len(d) == 10 || len(d) == 11:
		return brazilianPhone(d)
	case len(d) == 8 || len(d) == 9:
		return "", phoneError("area code (DDD) is missing")
	}
	return "", phoneError("not a valid Brazilian phone number; use +<country code> for other countries")
}

// brazilianPhone normalises the national part of a Brazilian number: an
// optional trunk "0" and carrier code, the DDD and the subscriber number.
func brazilianPhone(d string) (string, error) {
	if strings.HasPrefix(d, "0") {
		d = d[1:]
		switch len(d) {
		case 10, 11: // DDD + number
		case 12, 13: // carrier code + DDD + number
			d = d[2:]
		default:
			return "", phoneError("not a valid Brazilian phone number")
		}
	}
	if len(d) != 10 && len(d) != 11 {
		return "", phoneError("Brazilian numbers have a 2-digit area code (DDD) and 8 or 9 digits")
	}
	area := int(d[0]-'0')*10 + int(d[1]-'0')
	if !brazilAreaCodes[area] {
		return "", phoneError("area code (DDD) " + d[:2] + " does not exist in Brazil")
	}
	number := d[2:]
	switch {
	case len(number) == 9:
		if number[0] != '9' {
			return "", phoneError("9-digit numbers are mobiles and start with 9")
		}
	case number[0] >= '6' && number[0] <= '9': // an old 8-digit mobile: add the ninth digit
		number = "9" + number
	case number[0] >= '2' && number[0] <= '5': // landline
	default:
		return "", phoneError("subscriber numbers cannot start with " + number[:1])
	}
	return "+55" + d[:2] + number, nil
}
