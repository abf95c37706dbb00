package channels

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Loose is a JSON object read defensively, for payloads whose shape is not
// confirmed (the unofficial gateways): keys match case-insensitively and
// scalars convert between strings, numbers and booleans.
type Loose map[string]any

// ParseLoose decodes raw as an object; anything else gives nil.
func ParseLoose(raw []byte) Loose {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func (l Loose) get(key string) (any, bool) {
	if l == nil {
		return nil, false
	}
	if v, ok := l[key]; ok {
		return v, true
	}
	for k, v := range l {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Str returns the first of keys that holds a non-empty scalar, as a string.
func (l Loose) Str(keys ...string) string {
	for _, key := range keys {
		v, ok := l.get(key)
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			if x != "" {
				return x
			}
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
	}
	return ""
}

// Obj returns the object under the first key that holds one.
func (l Loose) Obj(keys ...string) Loose {
	for _, key := range keys {
		if v, ok := l.get(key); ok {
			if m, ok := v.(map[string]any); ok {
				return m
			}
		}
	}
	return nil
}

// List returns the array under key (objects only).
func (l Loose) List(key string) []Loose {
	v, _ := l.get(key)
	arr, _ := v.([]any)
	var out []Loose
	for _, item := range arr {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Strs returns the strings in the array under key.
func (l Loose) Strs(key string) []string {
	v, _ := l.get(key)
	arr, _ := v.([]any)
	var out []string
	for _, item := range arr {
		switch x := item.(type) {
		case string:
			if x != "" {
				out = append(out, x)
			}
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
	return out
}

// Int returns the first of keys as an integer (0 when not a number).
func (l Loose) Int(keys ...string) int64 { return FlexString(l.Str(keys...)).Int64() }

// Float returns the first of keys as a float (0 when not a number).
func (l Loose) Float(keys ...string) float64 { return FlexString(l.Str(keys...)).Float() }

// Bool is true when the first of keys that is present is true (or "true").
func (l Loose) Bool(keys ...string) bool { return FlexString(l.Str(keys...)).Bool() }
