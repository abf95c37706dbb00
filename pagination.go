package crm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Page is one page of a cursor-paginated list.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// EncodeCursor packs the sort key of the last item of a page. Sort keys are
// times, ids, numbers and strings; a value JSON cannot hold (a NaN) is an
// error rather than a cursor that decodes to nothing.
func EncodeCursor(values ...any) (string, error) {
	b, err := json.Marshal(values)
	if err != nil {
		return "", fmt.Errorf("encoding a page cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor unpacks a cursor into the given pointers. An empty cursor
// leaves them untouched and returns false.
func DecodeCursor(cursor string, into ...any) (bool, error) {
	if cursor == "" {
		return false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return false, NewError(ErrInvalid, "invalid_cursor", "cursor is malformed", nil)
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != len(into) {
		return false, NewError(ErrInvalid, "invalid_cursor", "cursor is malformed", nil)
	}
	for i, p := range parts {
		if err := json.Unmarshal(p, into[i]); err != nil {
			return false, NewError(ErrInvalid, "invalid_cursor", "cursor is malformed", nil)
		}
	}
	return true, nil
}

// ClampLimit bounds a page size: default 50, at most 200.
func ClampLimit(limit int) int {
	switch {
	case limit <= 0:
		return 50
	case limit > 200:
		return 200
	}
	return limit
}
