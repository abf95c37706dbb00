package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// boardCards lists a board's cards per column, in order, as titles.
func boardCards(t *testing.T, env *testEnv, token, board, query string) (map[string][]string, map[string]map[string]any) {
	t.Helper()
	res := env.do(http.MethodGet, "/api/v1/boards/"+board+query, token, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	out := map[string][]string{}
	columns := map[string]map[string]any{}
	names := map[string]string{}
	for _, c := range res.JSON()["columns"].([]any) {
		col := c.(map[string]any)
		names[col["id"].(string)] = col["name"].(string)
		columns[col["name"].(string)] = col
	}
	for _, c := range res.JSON()["cards"].([]any) {
		card := c.(map[string]any)
		name := names[card["column_id"].(string)]
		out[name] = append(out[name], card["title"].(string))
	}
	return out, columns
}

// A board with the default stages; cards' BRL values summed exactly per
// column; moves before and after other cards; filters; a contact's cards;
// the events; refusals with their field errors.
func TestKanbanBoardCardsAndTotals(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("kanban")
	agentID, agentToken := env.user(acme, crm.RoleAgent, "Vera")
	contact := contactCreate(t, env, acme.AdminToken, map[string]any{"name": "Loja Azul", "phone": "+5511955551234"})
	label := createdID(t, env.do(http.MethodPost, "/api/v1/labels", acme.AdminToken, map[string]any{"name": "Quente"}))

	res := env.do(http.MethodPost, "/api/v1/boards", agentToken, map[string]any{"name": "Vendas"})
	require.Equal(t, http.StatusForbidden, res.Status, "agents move cards, they do not shape boards")
	res = env.do(http.MethodPost, "/api/v1/boards", acme.AdminToken, map[string]any{"name": "Vendas"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	board := res.JSON()["id"].(string)
	cols := map[string]string{}
	for _, c := range res.JSON()["columns"].([]any) {
		col := c.(map[string]any)
		cols[col["name"].(string)] = col["id"].(string)
	}
	require.Len(t, cols, 5)
	require.Equal(t, "won", res.JSON()["columns"].([]any)[3].(map[string]any)["kind"])

	card := func(title, value string, extra map[string]any) string {
		t.Helper()
		body := map[string]any{"board_id": board, "title": title, "value": value}
		for k, v := range extra {
			body[k] = v
		}
		return createdID(t, env.do(http.MethodPost, "/api/v1/cards", agentToken, body))
	}
	a := card("A", "0.10", map[string]any{"contact_id": contact["id"], "label_ids": []string{label}})
	b := card("B", "0.20", map[string]any{"assignee_id": agentID, "due_at": time.Now().Add(24 * time.Hour)})
	c := card("C", "1234.50", nil)
	_, columns := boardCards(t, env, agentToken, board, "")
	require.Equal(t, "1234.80", columns["Novo"]["total"], "summed as decimals, never floats")
	require.Equal(t, float64(3), columns["Novo"]["count"])

	move := func(id string, body map[string]any) response {
		t.Helper()
		return env.do(http.MethodPatch, "/api/v1/cards/"+id, agentToken, body)
	}
	require.Equal(t, http.StatusOK, move(c, map[string]any{"column_id": cols["Novo"], "before_id": a}).Status)
	byColumn, _ := boardCards(t, env, agentToken, board, "")
	require.Equal(t, []string{"C", "A", "B"}, byColumn["Novo"])
	require.Equal(t, http.StatusOK, move(a, map[string]any{"column_id": cols["Ganho"]}).Status)
	require.Equal(t, http.StatusOK, move(b, map[string]any{"column_id": cols["Ganho"], "before_id": a}).Status)
	require.Equal(t, http.StatusOK, move(c, map[string]any{"column_id": cols["Ganho"], "after_id": b}).Status)
	byColumn, columns = boardCards(t, env, agentToken, board, "")
	require.Equal(t, []string{"B", "C", "A"}, byColumn["Ganho"])
	require.Empty(t, byColumn["Novo"])
	require.Equal(t, "1234.80", columns["Ganho"]["total"])
	require.Equal(t, "0.00", columns["Novo"]["total"])

	// Filters: assignee, label, due date; totals follow the filter.
	byColumn, columns = boardCards(t, env, agentToken, board, "?assignee_id=me")
	require.Equal(t, []string{"B"}, byColumn["Ganho"])
	require.Equal(t, "0.20", columns["Ganho"]["total"])
	byColumn, _ = boardCards(t, env, agentToken, board, "?label_id="+label)
	require.Equal(t, []string{"A"}, byColumn["Ganho"])
	byColumn, _ = boardCards(t, env, agentToken, board, "?due_before="+time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339))
	require.Equal(t, []string{"B"}, byColumn["Ganho"])

	// The contact panel's list, and the agent's own.
	res = env.do(http.MethodGet, "/api/v1/cards?contact_id="+contact["id"].(string), agentToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Len(t, res.Items(), 1)
	require.Equal(t, "Loja Azul", res.Items()[0]["contact_name"])
	res = env.do(http.MethodGet, "/api/v1/cards", agentToken, nil)
	require.Len(t, res.Items(), 1)
	require.Equal(t, "B", res.Items()[0]["title"])

	// Refusals, each with its field; nothing changes.
	for body, field := range map[string]map[string]any{
		"value":     {"value": "12.345"},
		"column_id": {"column_id": crm.NewID()},
		"before_id": {"column_id": cols["Ganho"], "before_id": crm.NewID()},
		"title":     {"title": ""},
	} {
		res := move(a, field)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", body, res.Body)
		require.Contains(t, res.Fields(), body)
	}
	res = env.do(http.MethodPost, "/api/v1/cards", agentToken, map[string]any{"board_id": board, "title": "X", "value": 12.5})
	require.Equal(t, http.StatusBadRequest, res.Status, "a float is not an amount")
	res = env.do(http.MethodDelete, "/api/v1/columns/"+cols["Ganho"], acme.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "column_not_empty", res.ErrorCode())
	byColumn, _ = boardCards(t, env, agentToken, board, "")
	require.Equal(t, []string{"B", "C", "A"}, byColumn["Ganho"])

	// Every change was a tenant event, for the consoles.
	var types []string
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT type FROM tenant_events WHERE type LIKE 'card.%' OR type LIKE 'board.%' ORDER BY seq`)
		if err != nil {
			return err
		}
		types, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	require.Equal(t, "board.created", types[0])
	require.Contains(t, types, "card.updated")

	// Another tenant's board, card and contact do not exist here.
	other := env.tenant("kanban-other")
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, "/api/v1/boards/"+board, other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPatch, "/api/v1/cards/"+a, other.AdminToken, map[string]any{"title": "x"}).Status)
	res = env.do(http.MethodPatch, "/api/v1/cards/"+a, acme.AdminToken, map[string]any{"contact_id": crm.NewID()})
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Contains(t, res.Fields(), "contact_id")
}

// Two users move cards into one column at once, all at the same spot: every
// move lands, no card is lost or doubled, and the order read twice is the
// same (the moves were applied one after the other against the column).
func TestKanbanConcurrentMovesConverge(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("kanban-race")
	_, other := env.user(acme, crm.RoleAgent, "Rui")
	res := env.do(http.MethodPost, "/api/v1/boards", acme.AdminToken, map[string]any{"name": "Funil",
		"columns": []map[string]any{{"name": "De"}, {"name": "Para"}}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	board := res.JSON()["id"].(string)
	from := res.JSON()["columns"].([]any)[0].(map[string]any)["id"].(string)
	to := res.JSON()["columns"].([]any)[1].(map[string]any)["id"].(string)
	anchor := createdID(t, env.do(http.MethodPost, "/api/v1/cards", acme.AdminToken, map[string]any{"board_id": board, "column_id": to, "title": "anchor"}))
	var ids []string
	for i := range 40 {
		ids = append(ids, createdID(t, env.do(http.MethodPost, "/api/v1/cards", acme.AdminToken,
			map[string]any{"board_id": board, "column_id": from, "title": fmt.Sprint("card ", i)})))
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		token := acme.AdminToken
		if i%2 == 1 {
			token = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := env.do(http.MethodPatch, "/api/v1/cards/"+id, token, map[string]any{"column_id": to, "after_id": anchor})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		}()
	}
	// Meanwhile the same card is moved by both users to two places: one wins.
	wg.Wait()
	first, _ := boardCards(t, env, acme.AdminToken, board, "")
	second, _ := boardCards(t, env, acme.AdminToken, board, "")
	require.Equal(t, first, second)
	require.Len(t, first["Para"], 41)
	require.Empty(t, first["De"])
	require.Equal(t, "anchor", first["Para"][0], "every move went after the anchor")
	seen := map[string]bool{}
	for _, title := range first["Para"] {
		require.False(t, seen[title], "card %s twice", title)
		seen[title] = true
	}
	// Ranks are distinct: the order does not hang on ids.
	ranks := map[string]bool{}
	require.NoError(t, env.db.TenantTx(context.Background(), acme.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT rank FROM cards WHERE board_id = $1`, uuid.MustParse(board))
		if err != nil {
			return err
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, r := range all {
			ranks[r] = true
		}
		return err
	}))
	require.Len(t, ranks, 41)
}

// A plan without kanban refuses the boards.
func TestKanbanNeedsThePlanFeature(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	acme := env.tenant("kanban-plan")
	ctx := context.Background()
	plan, err := env.db.CreatePlan(ctx, persistence.NewPlan{Name: "no-kanban", MonthlyPrice: "10.00", Limits: planLimitsGenerous})
	require.NoError(t, err)
	require.NoError(t, env.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET plan_id = $2 WHERE id = $1`, acme.ID, plan)
		return err
	}))
	res := env.do(http.MethodGet, "/api/v1/boards", acme.AdminToken, nil)
	require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
	require.Equal(t, "feature_disabled", res.ErrorCode())
}
