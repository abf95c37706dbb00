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

// The answers a client acts on are in the document: a duplicate phone's 409
// names the contact that has it; the socket takes a ticket, not a token.
func TestOpenAPIDocumentsActionableAnswers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	doc := env.srv.OpenAPI()
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var parsed struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Properties struct {
							Error struct {
								Properties struct {
									Details struct {
										Ref        string                     `json:"$ref"`
										Properties map[string]json.RawMessage `json:"properties"`
									} `json:"details"`
								} `json:"properties"`
							} `json:"error"`
						} `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
		Components struct {
			Schemas         map[string]struct{ Properties map[string]json.RawMessage } `json:"schemas"`
			SecuritySchemes map[string]map[string]string                               `json:"securitySchemes"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &parsed))
	for _, at := range []struct{ path, method string }{{"/api/v1/contacts", "post"}, {"/api/v1/contacts/{id}", "patch"}} {
		conflict, ok := parsed.Paths[at.path][at.method].Responses["409"]
		require.True(t, ok, "%s %s documents its 409", at.method, at.path)
		details := conflict.Content["application/json"].Schema.Properties.Error.Properties.Details
		props := details.Properties
		if details.Ref != "" {
			props = parsed.Components.Schemas[strings.TrimPrefix(details.Ref, "#/components/schemas/")].Properties
		}
		require.Contains(t, props, "contact_id", "%s %s: the 409 names the existing contact", at.method, at.path)
	}
	require.Equal(t, []map[string][]string{{"wsTicket": {}}}, parsed.Paths["/api/v1/ws"]["get"].Security)
	require.Equal(t, map[string]string{"type": "apiKey", "in": "query", "name": "ticket"}, parsed.Components.SecuritySchemes["wsTicket"])
	_, ok := parsed.Paths["/api/v1/ws/ticket"]["post"]
	require.True(t, ok)
}
