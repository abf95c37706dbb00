package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
)

// maxJSONBody bounds every JSON request body; larger bodies get 413.
const maxJSONBody = 1 << 20

// bindJSON decodes the request body strictly into dst: unknown fields, wrong
// types, trailing data and oversize bodies are errors with field details.
func bindJSON(c *gin.Context, dst any) error {
	return decodeJSON(c.Request.Body, c.Writer, c.Request, dst, maxJSONBody)
}

func decodeJSON(body io.ReadCloser, w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if body == nil {
		return crm.NewError(crm.ErrInvalid, "invalid_json", "request body is empty", nil)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return crm.NewError(crm.ErrTooLarge, "body_too_large", "request body is too large",
				map[string]any{"limit_bytes": limit})
		}
		return crm.NewError(crm.ErrInvalid, "invalid_json", "could not read request body", nil)
	}
	return DecodeStrict(raw, dst)
}

// DecodeStrict decodes one JSON value into dst, refusing unknown fields and
// trailing data, and describing type errors by field.
func DecodeStrict(raw []byte, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return crm.NewError(crm.ErrInvalid, "invalid_json", "request body is empty", nil)
	}
	if err := jsonTextErrors(raw).Err(); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return crm.NewError(crm.ErrInvalid, "invalid_json", "unexpected data after the JSON value", nil)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return crm.NewError(crm.ErrInvalid, "invalid_json", "unexpected data after the JSON value", nil)
	}
	return nil
}

// jsonNUL is how a NUL character is written in JSON; encoding/json decodes
// it into a string that PostgreSQL refuses to store in text and jsonb alike.
var jsonNUL = []byte(`\u0000`)

// jsonTextErrors names each string of a JSON document (object keys
// included) that holds a NUL character or bytes that are not UTF-8, by its
// path ("custom_fields.city", "items[2].name"): PostgreSQL stores neither,
// and encoding/json would pass the first through and silently turn the
// second into U+FFFD. Almost every body has neither, and skips the walk.
func jsonTextErrors(raw []byte) crm.FieldErrors {
	if utf8.Valid(raw) && !bytes.Contains(raw, jsonNUL) {
		return nil
	}
	fields := crm.FieldErrors{}
	type frame struct {
		object   bool
		key      string
		index    int
		afterKey bool // in an object, a key was read and its value is next
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return fields // the end, or malformed JSON: decoding says where
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		isKey := top != nil && top.object && !top.afterKey
		if s, ok := tok.(string); ok {
			if isKey {
				top.key, top.afterKey = s, true
			}
			if problem := textProblem(s, utf8.Valid(raw[start:dec.InputOffset()])); problem != "" {
				fields.Add(path(), "%s", problem)
			}
			if isKey {
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{')})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object waits for a key, the
		// enclosing array moves to its next element.
		if len(stack) > 0 {
			if top = &stack[len(stack)-1]; top.object {
				top.afterKey = false
			} else {
				top.index++
			}
		}
	}
}

// queryTextErrors names the query parameters holding a NUL character or
// bytes that are not UTF-8 (%00, %FF): refused like such JSON strings.
func queryTextErrors(query url.Values) crm.FieldErrors {
	var fields crm.FieldErrors
	for name, values := range query {
		for _, v := range append([]string{name}, values...) {
			if problem := textProblem(v, utf8.ValidString(v)); problem != "" {
				if fields == nil {
					fields = crm.FieldErrors{}
				}
				fields.Add(strings.ToValidUTF8(name, "\uFFFD"), "%s", problem)
			}
		}
	}
	return fields
}

// textProblem says what is wrong with a text PostgreSQL cannot store; valid
// tells whether its bytes, as received, were UTF-8.
func textProblem(s string, valid bool) string {
	switch {
	case strings.ContainsRune(s, 0):
		return "must not contain NUL characters"
	case !valid:
		return "must be valid UTF-8 text"
	}
	return ""
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{field: "must be " + jsonTypeName(typeErr.Type.Kind().String())}})
	case errors.As(err, &syntaxErr):
		return crm.NewError(crm.ErrInvalid, "invalid_json", "malformed JSON at offset "+strconv.FormatInt(syntaxErr.Offset, 10), nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{field: "unknown field"}})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return crm.NewError(crm.ErrInvalid, "invalid_json", "truncated JSON", nil)
	}
	var coded *crm.Error
	if errors.As(err, &coded) {
		return coded
	}
	return crm.NewError(crm.ErrInvalid, "invalid_json", err.Error(), nil)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int32", "int64", "uint", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// pathID parses a UUID path parameter; a malformed id is a 404, since no
// such record can exist.
func pathID(c *gin.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, crm.NotFound(name)
	}
	return id, nil
}

// queryLimit reads ?limit=, bounded by crm.ClampLimit.
func queryLimit(c *gin.Context) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return crm.ClampLimit(0), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{"limit": "must be a positive integer"}})
	}
	return crm.ClampLimit(n), nil
}

// queryUUID reads an optional UUID query parameter.
func queryUUID(c *gin.Context, name string) (*uuid.UUID, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{name: "must be a UUID"}})
	}
	return &id, nil
}
