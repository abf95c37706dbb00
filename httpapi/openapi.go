package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// openAPIDocument builds the OpenAPI 3 document from the registered ops.
func (s *Server) openAPIDocument() map[string]any {
	schemas := map[string]any{}
	gen := &schemaGen{defs: schemas}
	paths := map[string]any{}
	for _, o := range s.ops {
		p := openAPIPath(o.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		operation := map[string]any{
			"summary":     o.Summary,
			"tags":        []string{o.Tag},
			"operationId": strings.ToLower(o.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_").Replace(p),
		}
		if o.Description != "" {
			operation["description"] = o.Description
		}
		var params []any
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
					"schema": map[string]any{"type": "string"}})
			}
		}
		if o.Query != nil {
			t := reflect.TypeOf(o.Query)
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name := strings.Split(f.Tag.Get("form"), ",")[0]
				if name == "" || name == "-" {
					continue
				}
				params = append(params, map[string]any{"name": name, "in": "query", "required": false,
					"schema": gen.schema(f.Type)})
			}
		}
		if len(params) > 0 {
			operation["parameters"] = params
		}
		switch {
		case o.Raw != "" && o.Method != http.MethodGet:
			operation["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				o.Raw: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		case o.Request != nil:
			operation["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": gen.schema(reflect.TypeOf(o.Request))}}}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(o.Status)}
		if o.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": gen.schema(reflect.TypeOf(o.Response))}}
		} else if o.Raw != "" && o.Method == http.MethodGet {
			ok["content"] = map[string]any{o.Raw: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[strconv.Itoa(o.Status)] = ok
		errRef := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		responses["default"] = errRef
		for _, e := range o.Errors {
			details := map[string]any{"type": "object", "additionalProperties": true}
			if e.Details != nil {
				details = gen.schema(reflect.TypeOf(e.Details))
			}
			responses[strconv.Itoa(e.Status)] = map[string]any{"description": e.Summary, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"type": "object", "required": []string{"error"},
					"properties": map[string]any{"error": map[string]any{"type": "object", "required": []string{"code", "message"},
						"properties": map[string]any{"code": map[string]any{"type": "string", "enum": []string{e.Code}},
							"message": map[string]any{"type": "string"}, "details": details}}}}}}}
		}
		operation["responses"] = responses
		if o.Access != accessPublic {
			scheme := "bearer"
			if o.Security != "" {
				scheme = o.Security
			}
			operation["security"] = []any{map[string]any{scheme: []string{}}}
			if o.Access == accessTenant && !o.SessionOnly && o.Security == "" {
				operation["security"] = []any{map[string]any{scheme: []string{}}, map[string]any{securityAPIToken: []string{}}}
			}
		}
		item[strings.ToLower(o.Method)] = operation
	}
	schemas["Error"] = map[string]any{"type": "object", "properties": map[string]any{
		"error": map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
			"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
			"details": map[string]any{"type": "object", "additionalProperties": true}}}}}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "CRM API", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":         map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				securityWSTicket: map[string]any{"type": "apiKey", "in": "query", "name": "ticket"},
				securityAPIToken: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "crm_<16 hex>_<43 base64url>",
					"description": "An API token from POST /api/v1/api-tokens (the company's plan needs the api feature): " +
						"scope read reads the company's data, scope write also changes it; never users, tokens, settings or the platform."},
			},
		},
	}
}

func (s *Server) serveOpenAPI(c *gin.Context) {
	s.openAPIOnce.Do(func() { s.openAPIJSON, s.openAPIErr = json.Marshal(s.openAPIDocument()) })
	if s.openAPIErr != nil {
		writeError(c, s.log, fmt.Errorf("encoding the OpenAPI document: %w", s.openAPIErr))
		return
	}
	c.Data(http.StatusOK, "application/json", s.openAPIJSON)
}

type schemaGen struct{ defs map[string]any }

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
	rawType  = reflect.TypeOf(json.RawMessage{})
	// schemaAliasType: a type that documents itself as another (nullable[T]
	// as a nullable T).
	schemaAliasType = reflect.TypeOf((*schemaAlias)(nil)).Elem()
)

// schemaAlias is a request type whose schema is another type's.
type schemaAlias interface{ schemaType() reflect.Type }

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(schemaAliasType) {
		return g.schema(reflect.Zero(t).Interface().(schemaAlias).schemaType())
	}
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case uuidType:
		return map[string]any{"type": "string", "format": "uuid"}
	case rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := g.defs[name]; !done {
			g.defs[name] = map[string]any{} // break recursion
			props := map[string]any{}
			var required []string
			g.fields(t, props, &required)
			def := map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				def["required"] = required
			}
			g.defs[name] = def
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		_ = opts
		if f.Tag.Get("required") == "true" {
			*required = append(*required, name)
		}
	}
}

func schemaName(t reflect.Type) string {
	name := t.Name()
	if i := strings.Index(name, "["); i >= 0 {
		// Page[crm/persistence.User] → PageUser
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndex(inner, "."); j >= 0 {
			inner = inner[j+1:]
		}
		name = name[:i] + inner
	}
	if name == "" {
		name = "Anonymous"
	}
	return name
}
