package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPIDescribesEveryRoute fails when a route registered with gin is
// missing from the served OpenAPI document, or the document is malformed.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	res := env.do(http.MethodGet, "/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	routes := env.srv.Routes()
	require.NotEmpty(t, routes)
	for _, r := range routes {
		path := openAPIPath(r.Path)
		item, ok := doc.Paths[path]
		require.True(t, ok, "route %s %s is missing from the OpenAPI document", r.Method, r.Path)
		_, ok = item[strings.ToLower(r.Method)]
		require.True(t, ok, "operation %s %s is missing from the OpenAPI document", r.Method, r.Path)
	}
	// Every $ref points at a defined schema.
	refs := strings.Split(string(res.Body), `"$ref":"#/components/schemas/`)
	for _, part := range refs[1:] {
		name := part[:strings.IndexByte(part, '"')]
		_, ok := doc.Components.Schemas[name]
		require.True(t, ok, "schema %s is referenced but not defined", name)
	}
	// And every documented operation is really served.
	served := map[string]bool{}
	for _, r := range routes {
		served[strings.ToLower(r.Method)+" "+openAPIPath(r.Path)] = true
	}
	for path, item := range doc.Paths {
		for method := range item {
			require.True(t, served[method+" "+path], "documented %s %s is not served", method, path)
		}
	}
}
