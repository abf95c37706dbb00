package bot

import (
	"net/mail"
	"strconv"
	"strings"
	"time"

	"crm"
)

// fold lower-cases, drops accents and surrounding punctuation and squeezes
// spaces, so "  Suporte! " matches "suporte" and "Não" matches "nao".
func fold(s string) string { return crm.FoldText(s) }

// parseNumber reads 12, 12.5, 12,5 and 1.234,56 (Brazilian) and 1,234.56.
func parseNumber(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	comma, dot := strings.LastIndexByte(s, ','), strings.LastIndexByte(s, '.')
	switch {
	case comma >= 0 && dot >= 0 && comma > dot: // 1.234,56
		s = strings.ReplaceAll(s, ".", "")
		s = strings.Replace(s, ",", ".", 1)
	case comma >= 0 && dot >= 0: // 1,234.56
		s = strings.ReplaceAll(s, ",", "")
	case comma >= 0:
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || s == "" || strings.ContainsAny(s, "eEinIN") {
		return 0, false
	}
	return v, true
}

// checkAnswer validates an answer to a question and returns the value to
// save: a number in canonical form, an email lower-cased, a phone in E.164,
// a date as dd/mm/yyyy, an option's id.
func checkAnswer(q *QuestionConfig, in Input) (string, bool) {
	text := strings.TrimSpace(in.Text)
	switch q.AnswerType {
	case AnswerText, "":
		return text, text != ""
	case AnswerNumber:
		v, ok := parseNumber(text)
		if !ok {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case AnswerEmail:
		a, err := mail.ParseAddress(text)
		if err != nil || a.Address != text || !strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@')+1:], ".") {
			return "", false
		}
		return strings.ToLower(a.Address), true
	case AnswerPhone:
		p, err := crm.NormalizePhone(text)
		return p, err == nil
	case AnswerDate:
		for _, layout := range []string{"2/1/2006", "2-1-2006", "2.1.2006"} {
			if d, err := time.Parse(layout, text); err == nil {
				return d.Format("02/01/2006"), true
			}
		}
		return "", false
	case AnswerOption:
		opts := q.options()
		if in.ButtonID != "" {
			for _, o := range opts {
				if o.ID == in.ButtonID {
					return o.ID, true
				}
			}
		}
		if n, err := strconv.Atoi(strings.TrimRight(text, ".)")); err == nil && n >= 1 && n <= len(opts) {
			return opts[n-1].ID, true
		}
		f := fold(text)
		if f == "" {
			return "", false
		}
		for _, o := range opts {
			if fold(o.Title) == f || fold(o.ID) == f {
				return o.ID, true
			}
			for _, k := range q.Keywords[o.ID] {
				if fold(k) == f {
					return o.ID, true
				}
			}
		}
	}
	return "", false
}
