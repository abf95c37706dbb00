package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

// contactLabel creates a label straight in the database (labels have their
// own API and tests).
func contactLabel(t *testing.T, env *testEnv, tenantID uuid.UUID, name string) uuid.UUID {
	t.Helper()
	id := crm.NewID()
	err := env.db.TenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, $3)`, tenantID, id, name)
		return err
	})
	require.NoError(t, err)
	return id
}

// contactCreate creates a contact through the API and returns it.
func contactCreate(t *testing.T, env *testEnv, token string, body map[string]any) map[string]any {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/contacts", token, body)
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	return res.JSON()
}

// contactFields returns details.fields of a validation error.
func contactFields(t *testing.T, res response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	require.Equal(t, "validation_failed", res.ErrorCode(), "%s", res.Body)
	var body struct {
		Error struct {
			Details struct {
				Fields map[string]any `json:"fields"`
			} `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body))
	return body.Error.Details.Fields
}

// contactNames lists the names of list items.
func contactNames(items []map[string]any) []string {
	names := make([]string, len(items))
	for i, item := range items {
		names[i] = item["name"].(string)
	}
	return names
}

func contactSearch(t *testing.T, env *testEnv, token, query string) []string {
	t.Helper()
	res := env.do(http.MethodGet, "/api/v1/contacts?"+query, token, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	return contactNames(res.Items())
}

func contactAuditCount(t *testing.T, env *testEnv, tenantID uuid.UUID, action string, id string) int {
	t.Helper()
	var n int
	err := env.db.TenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE entity = 'contact' AND action = $1
			AND entity_id = $2`, action, id).Scan(&n)
	})
	require.NoError(t, err)
	return n
}

func TestContactCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	_, agent := env.user(acme, crm.RoleAgent, "Ana")
	vip := contactLabel(t, env, acme.ID, "VIP")
	lead := contactLabel(t, env, acme.ID, "Lead")

	// Agents create contacts; the phone is normalised, the email lower-cased.
	created := contactCreate(t, env, agent, map[string]any{
		"name": "  Maria da Silva ", "phone": "(11) 98765-4321", "email": "Maria@Example.COM",
		"custom_fields": map[string]any{"cpf": "123.456.789-09", "age": 41, "vip": true, "note": nil},
		"label_ids":     []string{vip.String(), vip.String()},
	})
	id := created["id"].(string)
	require.Equal(t, "Maria da Silva", created["name"])
	require.Equal(t, "+5511987654321", created["phone"])
	require.Equal(t, "maria@example.com", created["email"])
	require.Equal(t, map[string]any{"cpf": "123.456.789-09", "age": float64(41), "vip": true, "note": nil}, created["custom_fields"])
	require.Equal(t, []any{vip.String()}, created["label_ids"])
	require.Equal(t, []any{}, created["identities"])
	require.Equal(t, false, created["blocked"])
	require.Equal(t, false, created["opted_out"])
	require.Equal(t, "", created["avatar_url"])
	for _, key := range []string{"created_at", "updated_at"} {
		require.NotEmpty(t, created[key])
	}
	require.Equal(t, 1, contactAuditCount(t, env, acme.ID, "create", id))

	res := env.do(http.MethodGet, "/api/v1/contacts/"+id, agent, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, created, res.JSON())

	// PATCH changes only what it names.
	res = env.do(http.MethodPatch, "/api/v1/contacts/"+id, agent, map[string]any{"name": "Maria S.", "label_ids": []string{lead.String()}})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	patched := res.JSON()
	require.Equal(t, "Maria S.", patched["name"])
	require.Equal(t, "+5511987654321", patched["phone"])
	require.Equal(t, "maria@example.com", patched["email"])
	require.Equal(t, created["custom_fields"], patched["custom_fields"])
	require.Equal(t, []any{lead.String()}, patched["label_ids"])

	res = env.do(http.MethodPatch, "/api/v1/contacts/"+id, agent, map[string]any{
		"phone": "+55 21 3456-7890", "email": "", "custom_fields": map[string]any{"city": "Niterói"}, "opted_out": true})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	patched = res.JSON()
	require.Equal(t, "Maria S.", patched["name"])
	require.Equal(t, "+552134567890", patched["phone"])
	require.Nil(t, patched["email"])
	require.Equal(t, map[string]any{"city": "Niterói"}, patched["custom_fields"])
	require.Equal(t, true, patched["opted_out"])
	require.Equal(t, 2, contactAuditCount(t, env, acme.ID, "update", id))

	// An empty patch changes nothing.
	res = env.do(http.MethodPatch, "/api/v1/contacts/"+id, agent, map[string]any{})
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, patched["updated_at"], res.JSON()["updated_at"])

	// Agents may not delete; admins may.
	res = env.do(http.MethodDelete, "/api/v1/contacts/"+id, agent, nil)
	require.Equal(t, http.StatusForbidden, res.Status, "%s", res.Body)
	res = env.do(http.MethodDelete, "/api/v1/contacts/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
	require.Equal(t, 1, contactAuditCount(t, env, acme.ID, "delete", id))
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/"+id, agent, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, "/api/v1/contacts/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/contacts/not-a-uuid", agent, nil).Status)

	// A contact needs at least something to know it by.
	fields := contactFields(t, env.do(http.MethodPost, "/api/v1/contacts", agent, map[string]any{"name": "  "}))
	require.Contains(t, fields, "name")
}

func TestContactWithConversationsCannotBeDeleted(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	contact := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Has history", "phone": "11987650000"})
	contactID := uuid.MustParse(contact["id"].(string))
	ctx := context.Background()
	err := env.db.TenantTx(ctx, acme.ID, func(tx pgx.Tx) error {
		connID := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'WA', 'whatsapp', 'sandbox', 'vt', 'ws')`, acme.ID, connID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel)
			VALUES ($1, $2, $3, $4, 'whatsapp')`, acme.ID, crm.NewID(), connID, contactID)
		return err
	})
	require.NoError(t, err)
	res := env.do(http.MethodDelete, "/api/v1/contacts/"+contactID.String(), acme.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	require.Equal(t, "contact_has_conversations", res.ErrorCode())
	require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/contacts/"+contactID.String(), acme.AdminToken, nil).Status)
}

func TestContactSearchAndLabelFilter(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	vip := contactLabel(t, env, acme.ID, "VIP")
	token := acme.AdminToken
	contactCreate(t, env, token, map[string]any{"name": "João Pereira", "phone": "+55 11 98765-4321", "email": "joao@empresa.com.br",
		"label_ids": []string{vip.String()}})
	contactCreate(t, env, token, map[string]any{"name": "Maria Joana", "phone": "21 3456-7890", "email": "maria@outra.com"})
	contactCreate(t, env, token, map[string]any{"name": "Carlos", "phone": "+1 415 555 2671", "label_ids": []string{vip.String()}})
	contactCreate(t, env, token, map[string]any{"name": "Sem telefone", "email": "semfone@empresa.com.br"})

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"Carlos", "João Pereira", "Maria Joana", "Sem telefone"}},
		{"q=jo", []string{"João Pereira", "Maria Joana"}},                     // name, case-insensitive substring
		{"q=PEREIRA", []string{"João Pereira"}},                               // case-insensitive
		{"q=" + url.QueryEscape("(11) 98765-4321"), []string{"João Pereira"}}, // phone, formatted
		{"q=" + url.QueryEscape("98765 4321"), []string{"João Pereira"}},      // phone digits, other formatting
		{"q=" + url.QueryEscape("11 8765-4321"), []string{"João Pereira"}},    // old 8-digit mobile, normalised
		{"q=" + url.QueryEscape("+55 21 3456"), []string{"Maria Joana"}},      // partial phone
		{"q=5552671", []string{"Carlos"}},
		{"q=empresa.com", []string{"João Pereira", "Sem telefone"}}, // email
		{"q=MARIA%40OUTRA.COM", []string{"Maria Joana"}},
		{"q=nobody", []string{}},
		{"label_id=" + vip.String(), []string{"Carlos", "João Pereira"}},
		{"label_id=" + vip.String() + "&q=jo", []string{"João Pereira"}},
		{"label_id=" + crm.NewID().String(), []string{}},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, contactSearch(t, env, token, tc.query), "query %q", tc.query)
	}
	res := env.do(http.MethodGet, "/api/v1/contacts?label_id=nope", token, nil)
	require.Contains(t, contactFields(t, res), "label_id")
}

func TestContactPaginationWalksEveryPage(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	var want []string
	for i := 0; i < 11; i++ {
		// Names in mixed case and with ties: the order is by name, case aside, then id.
		name := []string{"ana", "Bruno", "carla", "Ana"}[i%4] + fmt.Sprintf(" %02d", i/4)
		contactCreate(t, env, acme.AdminToken, map[string]any{"name": name, "phone": fmt.Sprintf("+5511900000%03d", i)})
		want = append(want, name)
	}
	var got []string
	seen := map[string]bool{}
	path := "/api/v1/contacts?limit=3"
	pages := 0
	for {
		res := env.do(http.MethodGet, path, acme.AdminToken, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		body := res.JSON()
		items := res.Items()
		require.LessOrEqual(t, len(items), 3)
		for _, item := range items {
			id := item["id"].(string)
			require.False(t, seen[id], "contact %s listed twice", id)
			seen[id] = true
			got = append(got, item["name"].(string))
		}
		pages++
		next, _ := body["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/contacts?limit=3&cursor=" + url.QueryEscape(next)
	}
	require.Equal(t, 4, pages)
	require.Len(t, got, 11)
	require.ElementsMatch(t, want, got)
	for i := 1; i < len(got); i++ {
		require.LessOrEqual(t, strings.ToLower(got[i-1]), strings.ToLower(got[i]), "sorted by name")
	}
	res := env.do(http.MethodGet, "/api/v1/contacts?cursor=garbage", acme.AdminToken, nil)
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, "invalid_cursor", res.ErrorCode())
}

func TestContactValidation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	tooMany := map[string]any{}
	for i := 0; i < 51; i++ {
		tooMany[fmt.Sprintf("k%d", i)] = i
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{"phone letters", map[string]any{"phone": "call me"}, "phone", "phone number may contain only digits, spaces and + . - ( )"},
		{"phone no DDD", map[string]any{"phone": "98765-4321"}, "phone", "area code (DDD) is missing"},
		{"phone bad DDD", map[string]any{"phone": "(20) 98765-4321"}, "phone", "area code (DDD) 20 does not exist in Brazil"},
		{"email", map[string]any{"email": "not-an-email"}, "email", "must be a valid email address"},
		{"email display name", map[string]any{"email": "Ana <ana@example.com>"}, "email", "must be a valid email address"},
		{"name too long", map[string]any{"name": strings.Repeat("a", 201)}, "name", "must have at most 200 characters"},
		{"nested custom field", map[string]any{"name": "x", "custom_fields": map[string]any{"address": map[string]any{"city": "SP"}}},
			"custom_fields.address", "must be a string, number, boolean or null"},
		{"array custom field", map[string]any{"name": "x", "custom_fields": map[string]any{"tags": []string{"a"}}},
			"custom_fields.tags", "must be a string, number, boolean or null"},
		{"bad key", map[string]any{"name": "x", "custom_fields": map[string]any{"1st-key": "v"}},
			"custom_fields.1st-key", "keys start with a letter and have at most 40 letters, digits or underscores"},
		{"long key", map[string]any{"name": "x", "custom_fields": map[string]any{"a" + strings.Repeat("b", 40): "v"}},
			"custom_fields.a" + strings.Repeat("b", 40), "keys start with a letter and have at most 40 letters, digits or underscores"},
		{"long value", map[string]any{"name": "x", "custom_fields": map[string]any{"bio": strings.Repeat("é", 1001)}},
			"custom_fields.bio", "must have at most 1000 characters"},
		{"too many keys", map[string]any{"name": "x", "custom_fields": tooMany}, "custom_fields", "at most 50 custom fields; got 51"},
		{"custom fields not an object", map[string]any{"name": "x", "custom_fields": []string{}}, "custom_fields", "must be an object"},
		{"label id malformed", map[string]any{"name": "x", "label_ids": []string{"nope"}}, "label_ids", `"nope" is not a label id`},
		{"label unknown", map[string]any{"name": "x", "label_ids": []string{"0190f0e0-0000-7000-8000-000000000000"}},
			"label_ids", "unknown label 0190f0e0-0000-7000-8000-000000000000"},
	}
	for _, tc := range cases {
		fields := contactFields(t, env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken, tc.body))
		require.Equal(t, tc.msg, fields[tc.field], "%s: %v", tc.name, fields)
	}
	// The same rules hold for PATCH, and nothing changes when they fail.
	contact := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Valid", "phone": "11 91234-5678"})
	path := "/api/v1/contacts/" + contact["id"].(string)
	fields := contactFields(t, env.do(http.MethodPatch, path, acme.AdminToken, map[string]any{"name": "Changed", "phone": "12345"}))
	require.Contains(t, fields, "phone")
	fields = contactFields(t, env.do(http.MethodPatch, path, acme.AdminToken, map[string]any{"custom_fields": map[string]any{"x": []int{1}}}))
	require.Contains(t, fields, "custom_fields.x")
	require.Equal(t, "Valid", env.do(http.MethodGet, path, acme.AdminToken, nil).JSON()["name"])
	// Unknown fields are refused like everywhere.
	fields = contactFields(t, env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken, map[string]any{"name": "x", "avatar_url": "http://x"}))
	require.Contains(t, fields, "avatar_url")
}

func TestContactDuplicatePhone(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	first := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "First", "phone": "+5511987654321"})

	// The same number written differently is the same phone.
	res := env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken, map[string]any{"name": "Second", "phone": "(11) 8765-4321"})
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	details := res.JSON()["error"].(map[string]any)["details"].(map[string]any)
	require.Equal(t, "phone", details["field"])
	require.Equal(t, first["id"], details["contact_id"])

	second := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Second", "phone": "11 91111-2222"})
	res = env.do(http.MethodPatch, "/api/v1/contacts/"+second["id"].(string), acme.AdminToken, map[string]any{"phone": "011 98765 4321"})
	require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
	require.Equal(t, "phone", res.JSON()["error"].(map[string]any)["details"].(map[string]any)["field"])
	// Re-saving a contact's own phone is no conflict.
	res = env.do(http.MethodPatch, "/api/v1/contacts/"+first["id"].(string), acme.AdminToken, map[string]any{"phone": "11 98765-4321"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)

	// Another tenant may have the same phone.
	other := env.tenant("other")
	contactCreate(t, env, other.AdminToken, map[string]any{"name": "Elsewhere", "phone": "+5511987654321"})
}

func TestContactCrossTenantIsNotFound(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	other := env.tenant("other")
	theirLabel := contactLabel(t, env, other.ID, "Theirs")
	theirs := contactCreate(t, env, other.AdminToken, map[string]any{"name": "Their contact", "phone": "11 99999-0000",
		"label_ids": []string{theirLabel.String()}})
	path := "/api/v1/contacts/" + theirs["id"].(string)

	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, path, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPatch, path, acme.AdminToken, map[string]any{"name": "Mine now"}).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, path, acme.AdminToken, nil).Status)
	require.Empty(t, contactSearch(t, env, acme.AdminToken, "q=their"))
	require.Empty(t, contactSearch(t, env, acme.AdminToken, "label_id="+theirLabel.String()))
	// Their label is not ours to use.
	fields := contactFields(t, env.do(http.MethodPost, "/api/v1/contacts", acme.AdminToken,
		map[string]any{"name": "x", "label_ids": []string{theirLabel.String()}}))
	require.Contains(t, fields, "label_ids")
	// Nothing of theirs changed.
	res := env.do(http.MethodGet, path, other.AdminToken, nil)
	require.Equal(t, "Their contact", res.JSON()["name"])
}

func TestContactSQLMetacharactersAreLiteral(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	token := acme.AdminToken
	names := []string{`O'Brien"; DROP TABLE contacts; --`, `100% real`, `under_score`, `back\slash`, `Plain`}
	for i, name := range names {
		c := contactCreate(t, env, token, map[string]any{"name": name, "phone": fmt.Sprintf("+55119876500%02d", i),
			"custom_fields": map[string]any{"note": `'); DELETE FROM contacts; --`}})
		require.Equal(t, name, c["name"])
		require.Equal(t, `'); DELETE FROM contacts; --`, c["custom_fields"].(map[string]any)["note"])
	}
	cases := map[string][]string{
		"'":                          {`O'Brien"; DROP TABLE contacts; --`},
		`"; DROP TABLE contacts; --`: {`O'Brien"; DROP TABLE contacts; --`},
		"%":                          {`100% real`},
		"_":                          {`under_score`},
		`\`:                          {`back\slash`},
		`\s`:                         {`back\slash`},
		"' OR '1'='1":                {},
	}
	for q, want := range cases {
		require.Equal(t, want, contactSearch(t, env, token, "q="+url.QueryEscape(q)), "q=%s", q)
	}
	require.Len(t, contactSearch(t, env, token, ""), len(names))
}

// FuzzContactCustomFields: whatever JSON comes in, the validator never
// panics, and what it accepts is storable and within the limits.
func FuzzContactCustomFields(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a": "b"}`, `{"age": 41, "vip": true, "x": null}`, `{"nested": {"a": 1}}`,
		`{"list": [1, 2]}`, `{"1bad": "x"}`, `{"": ""}`, `{"a\u0000": "b"}`, `{"a": "\u0000"}`, `{"k": "` + strings.Repeat("x", 1001) + `"}`,
		`{"é": "ç"}`, `{"a": 1e308}`, `{"A_b_9": -0.5}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var custom map[string]any
		if json.Unmarshal(raw, &custom) != nil {
			return
		}
		fields := crm.FieldErrors{}
		out := validateContactCustomFields(fields, custom)
		if out == nil {
			t.Fatal("nil result")
		}
		if len(fields) == 0 && len(out) != len(custom) {
			t.Fatalf("accepted without problems but dropped keys: %v → %v", custom, out)
		}
		if len(out) > contactCustomFieldsMax {
			t.Fatalf("%d keys accepted", len(out))
		}
		for k, v := range out {
			if !contactCustomKeyPattern.MatchString(k) {
				t.Fatalf("bad key %q accepted", k)
			}
			switch v := v.(type) {
			case nil, bool, float64:
			case string:
				if strings.ContainsRune(v, 0) || len([]rune(v)) > contactCustomValueMax {
					t.Fatalf("bad value %q accepted", v)
				}
			default:
				t.Fatalf("value of type %T accepted", v)
			}
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("accepted fields do not marshal: %v", err)
		}
	})
}
