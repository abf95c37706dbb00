package bot

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// render fills {{contact.x}} and {{var.x}} in s; escape (when not nil)
// transforms each value first. Unknown references become empty.
func render(s string, lookup func(scope, name string) string, escape func(string) string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		scope, name, ok := parseRef(strings.TrimSpace(rest[i+2 : i+j]))
		if ok {
			v := lookup(scope, name)
			if escape != nil {
				v = escape(v)
			}
			b.WriteString(v)
		}
		rest = rest[i+j+2:]
	}
}

// renderURL fills a URL template: values are path-escaped before the query
// and query-escaped inside it, so an answer cannot add segments or
// parameters.
func renderURL(s string, lookup func(scope, name string) string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return render(s, lookup, url.PathEscape)
	}
	return render(s[:q], lookup, url.PathEscape) + "?" + render(s[q+1:], lookup, url.QueryEscape)
}

// jsonEscape escapes a value to sit inside a JSON string literal.
func jsonEscape(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// numbered is the plain-text fallback for buttons and lists on channels
// without interactive messages: the text, then "1. Title" per option.
func numbered(text string, options []Button) string {
	var b strings.Builder
	b.WriteString(text)
	if len(options) > 0 && text != "" {
		b.WriteString("\n")
	}
	for i, o := range options {
		b.WriteString("\n")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(o.Title)
	}
	return b.String()
}

// extract reads a value at a path like data.items[0].name from a JSON
// document: strings as they are, other values as JSON, missing as "".
func extract(doc any, path string) (string, bool) {
	path = strings.TrimPrefix(path, "$.")
	cur := doc
	for _, part := range strings.Split(path, ".") {
		key := part
		var indexes []int
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			for _, ix := range strings.Split(strings.TrimSuffix(part[i+1:], "]"), "][") {
				n, err := strconv.Atoi(ix)
				if err != nil {
					return "", false
				}
				indexes = append(indexes, n)
			}
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = obj[key]; !ok {
			return "", false
		}
		for _, n := range indexes {
			arr, ok := cur.([]any)
			if !ok || n >= len(arr) {
				return "", false
			}
			cur = arr[n]
		}
	}
	switch v := cur.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		return string(b), true
	}
}
