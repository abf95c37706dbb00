package httpapi

import (
	"context"
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

// quickReplyMedia stores a media row for the tenant and returns its id.
func quickReplyMedia(t *testing.T, env *testEnv, tenantID uuid.UUID) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := crm.NewID()
	require.NoError(t, env.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO media (tenant_id, id, storage_key, mime_type, size) VALUES ($1, $2, 'k', 'image/png', 10)`,
			tenantID, id)
		return err
	}))
	return id
}

func TestQuickReplyCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	media := quickReplyMedia(t, env, acme.ID)

	res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, map[string]any{
		"shortcut": "/greet", "title": "Greeting", "text": "Olá! Como posso ajudar?\n"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	reply := res.JSON()
	id := reply["id"].(string)
	require.Equal(t, "greet", reply["shortcut"], "the leading slash is dropped")
	require.Equal(t, "Greeting", reply["title"])
	require.Equal(t, "Olá! Como posso ajudar?\n", reply["text"])
	require.Nil(t, reply["media_id"])
	require.Equal(t, acme.AdminID.String(), reply["created_by"])

	res = env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, map[string]any{
		"shortcut": "price_list", "title": "Price list", "media_id": media.String()})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	withMedia := res.JSON()["id"].(string)
	require.Equal(t, media.String(), res.JSON()["media_id"])

	res = env.do(http.MethodGet, "/api/v1/quick-replies/"+id, acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "greet", res.JSON()["shortcut"])

	res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+id, acme.AdminToken, map[string]any{"shortcut": "hello", "media_id": media.String()})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "hello", res.JSON()["shortcut"])
	require.Equal(t, media.String(), res.JSON()["media_id"])
	require.Equal(t, "Greeting", res.JSON()["title"], "fields not given stay")

	// null removes the media; absent leaves it.
	res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+id, acme.AdminToken, map[string]any{"title": "Hello"})
	require.Equal(t, media.String(), res.JSON()["media_id"])
	res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+id, acme.AdminToken, map[string]any{"media_id": nil})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Nil(t, res.JSON()["media_id"])

	// Without media a reply needs text.
	res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+withMedia, acme.AdminToken, map[string]any{"media_id": nil})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, directoryFieldErrors(t, res), "text")

	res = env.do(http.MethodGet, "/api/v1/quick-replies", acme.AdminToken, nil)
	require.Len(t, res.Items(), 2)

	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/quick-replies/"+id, acme.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/quick-replies/"+id, acme.AdminToken, nil).Status)
}

func TestQuickReplyValidationAndConflicts(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	theirMedia := quickReplyMedia(t, env, globex.ID)
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"title": "T", "text": "x"}, "shortcut"},
		{map[string]any{"shortcut": "/", "title": "T", "text": "x"}, "shortcut"},
		{map[string]any{"shortcut": "has space", "title": "T", "text": "x"}, "shortcut"},
		{map[string]any{"shortcut": "ação", "title": "T", "text": "x"}, "shortcut"},
		{map[string]any{"shortcut": strings.Repeat("s", 41), "title": "T", "text": "x"}, "shortcut"},
		{map[string]any{"shortcut": "ok", "text": "x"}, "title"},
		{map[string]any{"shortcut": "ok", "title": strings.Repeat("t", 121), "text": "x"}, "title"},
		{map[string]any{"shortcut": "ok", "title": "T"}, "text"},
		{map[string]any{"shortcut": "ok", "title": "T", "text": strings.Repeat("x", 4097)}, "text"},
		{map[string]any{"shortcut": "ok", "title": "T", "media_id": crm.NewID().String()}, "media_id"},
		{map[string]any{"shortcut": "ok", "title": "T", "media_id": theirMedia.String()}, "media_id"},
	} {
		res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, tc.body)
		require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", tc.body, res.Body)
		require.Contains(t, directoryFieldErrors(t, res), tc.field, "%v: %s", tc.body, res.Body)
	}

	body := map[string]any{"shortcut": "Thanks", "title": "Thanks", "text": "Obrigado!"}
	res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, body)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	require.Equal(t, "thanks", res.JSON()["shortcut"])
	body["shortcut"] = "/thanks"
	res = env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, body)
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "shortcut", directoryErrorDetails(t, res)["field"])
	require.Equal(t, http.StatusCreated, env.do(http.MethodPost, "/api/v1/quick-replies", globex.AdminToken, body).Status)

	other := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken,
		map[string]any{"shortcut": "bye", "title": "Bye", "text": "Tchau"}).JSON()["id"].(string)
	res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+other, acme.AdminToken, map[string]any{"shortcut": "thanks"})
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "shortcut", directoryErrorDetails(t, res)["field"])
	for _, patch := range []map[string]any{
		{"media_id": "nope"}, {"media_id": theirMedia.String()}, {"shortcut": "No!"}, {"text": ""}, {"title": ""},
	} {
		res = env.do(http.MethodPatch, "/api/v1/quick-replies/"+other, acme.AdminToken, patch)
		require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", patch, res.Body)
	}
}

func TestQuickReplySearchAndPagination(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	for i, s := range []struct{ shortcut, title string }{
		{"greet", "Greeting"}, {"greet-night", "Good evening"}, {"price", "Price list"}, {"pix", "Payment by Pix"},
		{"hours", "Opening hours"}, {"address", "Where we are"}, {"bye", "Farewell"}, {"g_1", "Game"},
	} {
		res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken,
			map[string]any{"shortcut": s.shortcut, "title": s.title, "text": fmt.Sprintf("text %d", i)})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	shortcuts := func(q string) []string {
		res := env.do(http.MethodGet, "/api/v1/quick-replies?q="+url.QueryEscape(q), acme.AdminToken, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		var out []string
		for _, item := range res.Items() {
			out = append(out, item["shortcut"].(string))
		}
		return out
	}
	require.Equal(t, []string{"g_1", "greet", "greet-night"}, shortcuts("/g"))
	require.Equal(t, []string{"greet", "greet-night"}, shortcuts("/GREET"))
	require.Equal(t, []string{"hours", "pix", "price"}, shortcuts("p"), "prefix p, or a title containing p (Opening hours)")
	require.Equal(t, []string{"hours"}, shortcuts("hours"))
	require.Equal(t, []string{"pix"}, shortcuts("payment"))
	require.Equal(t, []string{"g_1"}, shortcuts("g_"), "_ is literal")

	all := directoryWalk(t, env, "/api/v1/quick-replies?limit=3", acme.AdminToken)
	require.Len(t, all, 8)
	seen := map[string]bool{}
	for _, item := range all {
		require.False(t, seen[item["id"].(string)])
		seen[item["id"].(string)] = true
	}
}

func TestQuickReplyCrossTenantPermissionsAndAudit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("acme")
	globex := env.tenant("globex")
	theirs := env.do(http.MethodPost, "/api/v1/quick-replies", globex.AdminToken,
		map[string]any{"shortcut": "theirs", "title": "Theirs", "text": "x"}).JSON()["id"].(string)
	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		var body any
		if method == http.MethodPatch {
			body = map[string]any{"title": "Mine now"}
		}
		res := env.do(method, "/api/v1/quick-replies/"+theirs, acme.AdminToken, body)
		require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", method, res.Body)
	}
	require.Equal(t, "Theirs", env.do(http.MethodGet, "/api/v1/quick-replies/"+theirs, globex.AdminToken, nil).JSON()["title"])

	_, agent := env.user(acme, crm.RoleAgent, "Agent")
	_, supervisor := env.user(acme, crm.RoleSupervisor, "Super")
	res := env.do(http.MethodPost, "/api/v1/quick-replies", acme.AdminToken, map[string]any{"shortcut": "mine", "title": "Mine", "text": "x"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := uuid.MustParse(res.JSON()["id"].(string))
	for _, token := range []string{agent, supervisor} {
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/quick-replies?q=/mi", token, nil).Status)
		require.Equal(t, http.StatusOK, env.do(http.MethodGet, "/api/v1/quick-replies/"+id.String(), token, nil).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, "/api/v1/quick-replies", token,
			map[string]any{"shortcut": "nope", "title": "Nope", "text": "x"}).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPatch, "/api/v1/quick-replies/"+id.String(), token, map[string]any{"title": "Nope"}).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodDelete, "/api/v1/quick-replies/"+id.String(), token, nil).Status)
	}

	require.Equal(t, http.StatusOK, env.do(http.MethodPatch, "/api/v1/quick-replies/"+id.String(), acme.AdminToken, map[string]any{"text": "y"}).Status)
	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, "/api/v1/quick-replies/"+id.String(), acme.AdminToken, nil).Status)
	rows := directoryAudit(t, env, acme.ID, "quick_reply", id)
	require.Len(t, rows, 3)
	require.Equal(t, []string{"create", "update", "delete"}, []string{rows[0].Action, rows[1].Action, rows[2].Action})
	require.Contains(t, rows[0].After, `"shortcut": "mine"`)
	require.Equal(t, acme.AdminID, rows[2].ActorID)
	require.NotEmpty(t, rows[2].IP)
}
