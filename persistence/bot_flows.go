package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// BotFlowStats counts a flow's sessions by how they went.
type BotFlowStats struct {
	Started   int `json:"started"`
	Completed int `json:"completed"`
	HandedOff int `json:"handed_off"`
}

// BotFlowSummary is a flow as the list shows it: without its graph.
type BotFlowSummary struct {
	ID                    uuid.UUID      `json:"id"`
	Name                  string         `json:"name"`
	Description           string         `json:"description"`
	Trigger               crm.BotTrigger `json:"trigger"`
	Active                bool           `json:"active"`
	ActiveVersion         *int           `json:"active_version"` // null when not published
	LatestVersion         *int           `json:"latest_version"` // null when never published
	PublishedAt           *time.Time     `json:"published_at"`   // of the latest version
	HasUnpublishedChanges bool           `json:"has_unpublished_changes"`
	NodeCount             int            `json:"node_count"`
	Stats                 BotFlowStats   `json:"stats"`
	CreatedBy             *uuid.UUID     `json:"created_by"`
	CreatedAt             time.Time      `json:"created_at"`
	UpdatedAt             time.Time      `json:"updated_at"`
}

// BotFlowRecord is a flow with its draft graph.
type BotFlowRecord struct {
	BotFlowSummary
	Nodes []crm.BotNode `json:"nodes"`
	Edges []crm.BotEdge `json:"edges"`
}

// Definition is the draft as the engine reads it.
func (r BotFlowRecord) Definition() crm.BotFlow {
	return crm.BotFlow{Trigger: r.Trigger, Nodes: r.Nodes, Edges: r.Edges}
}

// BotFlowVersion is one published, immutable version.
type BotFlowVersion struct {
	FlowID      uuid.UUID   `json:"flow_id"`
	Version     int         `json:"version"`
	Definition  crm.BotFlow `json:"definition"`
	PublishedAt time.Time   `json:"published_at"`
}

// NewBotFlow is a flow to create (its definition already shape-checked).
type NewBotFlow struct {
	Name        string
	Description string
	Flow        crm.BotFlow
	// RenameOnConflict picks "Name (2)", "Name (3)"… when the name is
	// taken, as an import does, instead of answering a conflict.
	RenameOnConflict bool
}

// BotFlowPatch changes the fields that are not nil; Nodes and Edges replace
// the whole set. Check sees the draft as it would be after the patch and
// may refuse it.
type BotFlowPatch struct {
	Name        *string
	Description *string
	Trigger     *crm.BotTrigger
	Nodes       *[]crm.BotNode
	Edges       *[]crm.BotEdge
	Check       func(crm.BotFlow) error
}

// BotFlowFilter selects a page of flows.
type BotFlowFilter struct {
	Cursor string
	Limit  int
}

const botFlowNameConstraint = "bot_flows_tenant_id_name_key"

const botFlowColumns = `f.id, f.name, f.description, f.trigger, f.active, f.active_version,
	v.version, v.published_at, (v.version IS NULL OR f.draft_updated_at > v.published_at),
	(SELECT count(*) FROM bot_flow_nodes n WHERE n.tenant_id = f.tenant_id AND n.flow_id = f.id),
	coalesce(s.started, 0), coalesce(s.completed, 0), coalesce(s.handed_off, 0),
	f.created_by, f.created_at, f.updated_at`

// botFlowFrom joins each flow with its latest version and its session counts.
const botFlowFrom = ` FROM bot_flows f
	LEFT JOIN LATERAL (SELECT version, published_at FROM bot_flow_versions v
		WHERE v.tenant_id = f.tenant_id AND v.flow_id = f.id ORDER BY version DESC LIMIT 1) v ON true
	LEFT JOIN LATERAL (SELECT count(*) AS started,
		count(*) FILTER (WHERE status = 'completed') AS completed,
		count(*) FILTER (WHERE status = 'handed_off') AS handed_off
		FROM bot_sessions s WHERE s.tenant_id = f.tenant_id AND s.flow_id = f.id) s ON true`

func scanBotFlowSummary(row pgx.Row, extra ...any) (BotFlowSummary, error) {
	var f BotFlowSummary
	var trigger []byte
	err := row.Scan(append([]any{&f.ID, &f.Name, &f.Description, &trigger, &f.Active, &f.ActiveVersion, &f.LatestVersion,
		&f.PublishedAt, &f.HasUnpublishedChanges, &f.NodeCount, &f.Stats.Started, &f.Stats.Completed,
		&f.Stats.HandedOff, &f.CreatedBy, &f.CreatedAt, &f.UpdatedAt}, extra...)...)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(trigger, &f.Trigger); err != nil {
		return f, fmt.Errorf("decoding bot flow %s's trigger: %w", f.ID, err)
	}
	normalizeTrigger(&f.Trigger)
	return f, nil
}

func normalizeTrigger(t *crm.BotTrigger) {
	if t.Keywords == nil {
		t.Keywords = []string{}
	}
	if t.ConnectionIDs == nil {
		t.ConnectionIDs = []uuid.UUID{}
	}
}

func loadBotFlow(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (BotFlowRecord, error) {
	if forUpdate {
		// Lock the flow itself (the joins cannot be locked): one writer at a time.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM bot_flows WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return BotFlowRecord{}, crm.NotFound("bot flow")
		}
		if err != nil {
			return BotFlowRecord{}, err
		}
	}
	summary, err := scanBotFlowSummary(tx.QueryRow(ctx, `SELECT `+botFlowColumns+botFlowFrom+
		` WHERE f.tenant_id = $1 AND f.id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return BotFlowRecord{}, crm.NotFound("bot flow")
	}
	if err != nil {
		return BotFlowRecord{}, err
	}
	out := BotFlowRecord{BotFlowSummary: summary, Nodes: []crm.BotNode{}, Edges: []crm.BotEdge{}}
	rows, err := tx.Query(ctx, `SELECT id, type, name, config, position_x, position_y FROM bot_flow_nodes
		WHERE tenant_id = $1 AND flow_id = $2 ORDER BY ordinal, id`, tenantID, id)
	if err != nil {
		return out, err
	}
	out.Nodes, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.BotNode, error) {
		var n crm.BotNode
		var config []byte
		err := row.Scan(&n.ID, &n.Type, &n.Name, &config, &n.Position.X, &n.Position.Y)
		n.Config = config
		return n, err
	})
	if err != nil {
		return out, err
	}
	rows, err = tx.Query(ctx, `SELECT source_node_id, target_node_id, handle FROM bot_flow_edges
		WHERE tenant_id = $1 AND flow_id = $2 ORDER BY ordinal, id`, tenantID, id)
	if err != nil {
		return out, err
	}
	out.Edges, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.BotEdge, error) {
		var e crm.BotEdge
		err := row.Scan(&e.From, &e.To, &e.Handle)
		return e, err
	})
	return out, err
}

// writeBotGraph replaces the draft's nodes and edges (deleting the nodes
// deletes their edges).
func writeBotGraph(ctx context.Context, tx pgx.Tx, tenantID, flowID uuid.UUID, nodes []crm.BotNode, edges []crm.BotEdge) error {
	if _, err := tx.Exec(ctx, `DELETE FROM bot_flow_nodes WHERE tenant_id = $1 AND flow_id = $2`, tenantID, flowID); err != nil {
		return err
	}
	// One statement per table (COPY is refused under row-level security).
	if len(nodes) > 0 {
		ids, types, names, configs := make([]string, len(nodes)), make([]string, len(nodes)), make([]string, len(nodes)), make([]string, len(nodes))
		xs, ys := make([]float64, len(nodes)), make([]float64, len(nodes))
		for i, n := range nodes {
			config := strings.TrimSpace(string(n.Config))
			if config == "" || config == "null" {
				config = "{}"
			}
			ids[i], types[i], names[i], configs[i], xs[i], ys[i] = n.ID, n.Type, n.Name, config, n.Position.X, n.Position.Y
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bot_flow_nodes (tenant_id, flow_id, id, type, name, config, position_x, position_y, ordinal)
			SELECT $1, $2, n.id, n.type, n.name, n.config::jsonb, n.x, n.y, n.ordinal - 1
			FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
				WITH ORDINALITY AS n(id, type, name, config, x, y, ordinal)`,
			tenantID, flowID, ids, types, names, configs, xs, ys); err != nil {
			return err
		}
	}
	if len(edges) > 0 {
		ids := make([]uuid.UUID, len(edges))
		from, to, handles := make([]string, len(edges)), make([]string, len(edges)), make([]string, len(edges))
		for i, e := range edges {
			ids[i], from[i], to[i], handles[i] = crm.NewID(), e.From, e.To, e.Handle
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bot_flow_edges (tenant_id, flow_id, id, source_node_id, target_node_id, handle, ordinal)
			SELECT $1, $2, e.id, e.source, e.target, e.handle, e.ordinal - 1
			FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e(id, source, target, handle, ordinal)`,
			tenantID, flowID, ids, from, to, handles); err != nil {
			return err
		}
	}
	return nil
}

func encodeTrigger(t crm.BotTrigger) ([]byte, error) {
	normalizeTrigger(&t)
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encoding the trigger: %w", err)
	}
	return b, nil
}

// freeBotFlowName is name, or "name (n)" for the first n free.
func freeBotFlowName(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, name string) (string, error) {
	rows, err := tx.Query(ctx, `SELECT name FROM bot_flows WHERE tenant_id = $1 AND (name = $2 OR name LIKE $3)`,
		tenantID, name, escapeLike(name)+" (%)")
	if err != nil {
		return "", err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	used := make(map[string]bool, len(taken))
	for _, t := range taken {
		used[t] = true
	}
	candidate := name
	for n := 2; used[candidate]; n++ {
		suffix := fmt.Sprintf(" (%d)", n)
		base := []rune(name)
		if len(base)+len(suffix) > 120 {
			base = base[:120-len(suffix)]
		}
		candidate = string(base) + suffix
	}
	return candidate, nil
}

// CreateBotFlow stores a new, unpublished flow.
func (db *DB) CreateBotFlow(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewBotFlow) (BotFlowRecord, error) {
	var out BotFlowRecord
	trigger, err := encodeTrigger(in.Flow.Trigger)
	if err != nil {
		return out, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		name := in.Name
		if in.RenameOnConflict {
			var err error
			if name, err = freeBotFlowName(ctx, tx, tenantID, name); err != nil {
				return err
			}
		}
		var createdBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			createdBy = &by.Actor.UserID
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO bot_flows (tenant_id, id, name, description, trigger, created_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, id, name, in.Description, string(trigger), createdBy); err != nil {
			return directoryConflict(err, botFlowNameConstraint, "name", "a bot flow with this name already exists")
		}
		if err := writeBotGraph(ctx, tx, tenantID, id, in.Flow.Nodes, in.Flow.Edges); err != nil {
			return err
		}
		var err error
		if out, err = loadBotFlow(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "bot_flow", id, nil, out.BotFlowSummary
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// GetBotFlow loads a flow with its draft graph.
func (db *DB) GetBotFlow(ctx context.Context, tenantID, id uuid.UUID) (BotFlowRecord, error) {
	var out BotFlowRecord
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadBotFlow(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// ListBotFlows returns one page of flows ordered by name (case aside), as
// the users, teams and labels lists are.
func (db *DB) ListBotFlows(ctx context.Context, tenantID uuid.UUID, f BotFlowFilter) (crm.Page[BotFlowSummary], error) {
	l := newNameList(tenantID, "f", strings.TrimPrefix(botFlowFrom, " FROM "), botFlowColumns)
	return listByName(ctx, db, tenantID, l, f.Cursor, f.Limit, scanBotFlowSummary, func(x BotFlowSummary) uuid.UUID { return x.ID })
}

// UpdateBotFlow applies the patch to the draft. The published versions are
// not touched.
func (db *DB) UpdateBotFlow(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch BotFlowPatch) (BotFlowRecord, error) {
	var out BotFlowRecord
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBotFlow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		draft := before.Definition()
		graph := patch.Nodes != nil || patch.Edges != nil
		if patch.Trigger != nil {
			draft.Trigger = *patch.Trigger
		}
		if patch.Nodes != nil {
			draft.Nodes = *patch.Nodes
		}
		if patch.Edges != nil {
			draft.Edges = *patch.Edges
		}
		if patch.Check != nil && (graph || patch.Trigger != nil) {
			if err := patch.Check(draft); err != nil {
				return err
			}
		}
		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Name != nil {
			set = append(set, "name = "+arg(*patch.Name))
		}
		if patch.Description != nil {
			set = append(set, "description = "+arg(*patch.Description))
		}
		if patch.Trigger != nil {
			trigger, err := encodeTrigger(*patch.Trigger)
			if err != nil {
				return err
			}
			set = append(set, "trigger = "+arg(string(trigger)))
		}
		if graph || patch.Trigger != nil {
			set = append(set, "draft_updated_at = clock_timestamp()")
		}
		if len(set) == 0 {
			out = before
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE bot_flows SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
			args...); err != nil {
			return directoryConflict(err, botFlowNameConstraint, "name", "a bot flow with this name already exists")
		}
		if graph {
			if err := writeBotGraph(ctx, tx, tenantID, id, draft.Nodes, draft.Edges); err != nil {
				return err
			}
		}
		if out, err = loadBotFlow(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "bot_flow", id, before.BotFlowSummary, out.BotFlowSummary
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// DeleteBotFlow removes a flow, its versions and its sessions.
func (db *DB) DeleteBotFlow(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBotFlow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bot_flows WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "bot_flow", id, before.BotFlowSummary, nil
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return translate(err)
}

// PublishBotFlow checks the draft with check (the engine's validation) and
// makes it the active version: a new immutable version, or the latest one
// again when the draft has not changed since it was published.
func (db *DB) PublishBotFlow(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, check func(crm.BotFlow) error) (BotFlowRecord, error) {
	var out BotFlowRecord
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBotFlow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		draft := before.Definition()
		if err := check(draft); err != nil {
			return err
		}
		version := 0
		if before.LatestVersion != nil && !before.HasUnpublishedChanges {
			version = *before.LatestVersion
		} else {
			definition, err := json.Marshal(draft)
			if err != nil {
				return fmt.Errorf("encoding bot flow %s: %w", id, err)
			}
			var publishedBy *uuid.UUID
			if by.Actor.UserID != uuid.Nil {
				publishedBy = &by.Actor.UserID
			}
			if err := tx.QueryRow(ctx, `INSERT INTO bot_flow_versions (tenant_id, flow_id, version, definition, published_by)
				SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4 FROM bot_flow_versions WHERE tenant_id = $1 AND flow_id = $2
				RETURNING version`, tenantID, id, string(definition), publishedBy).Scan(&version); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE bot_flows SET active = true, active_version = $3 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, version); err != nil {
			return err
		}
		if out, err = loadBotFlow(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "publish", "bot_flow", id, before.BotFlowSummary, out.BotFlowSummary
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// UnpublishBotFlow stops new conversations from starting the flow;
// conversations in it finish on their version.
func (db *DB) UnpublishBotFlow(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (BotFlowRecord, error) {
	var out BotFlowRecord
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBotFlow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE bot_flows SET active = false, active_version = NULL WHERE tenant_id = $1 AND id = $2`,
			tenantID, id); err != nil {
			return err
		}
		if out, err = loadBotFlow(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "unpublish", "bot_flow", id, before.BotFlowSummary, out.BotFlowSummary
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

func scanBotFlowVersion(row pgx.Row) (BotFlowVersion, error) {
	var v BotFlowVersion
	var definition []byte
	if err := row.Scan(&v.FlowID, &v.Version, &definition, &v.PublishedAt); err != nil {
		return v, err
	}
	if err := json.Unmarshal(definition, &v.Definition); err != nil {
		return v, fmt.Errorf("decoding bot flow %s version %d: %w", v.FlowID, v.Version, err)
	}
	return v, nil
}

// GetBotFlowVersion loads one published version of a flow (a conversation
// pinned to it, an export of it).
func (db *DB) GetBotFlowVersion(ctx context.Context, tenantID, flowID uuid.UUID, version int) (BotFlowVersion, error) {
	var out BotFlowVersion
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanBotFlowVersion(tx.QueryRow(ctx, `SELECT flow_id, version, definition, published_at FROM bot_flow_versions
			WHERE tenant_id = $1 AND flow_id = $2 AND version = $3`, tenantID, flowID, version))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("bot flow version")
		}
		return err
	})
	return out, translate(err)
}

// ActiveBotFlowVersions are the active version of every published flow of
// the tenant, oldest flow first: what an inbound message's trigger is
// matched against.
func (db *DB) ActiveBotFlowVersions(ctx context.Context, tenantID uuid.UUID) ([]BotFlowVersion, error) {
	var out []BotFlowVersion
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT v.flow_id, v.version, v.definition, v.published_at
			FROM bot_flows f JOIN bot_flow_versions v ON v.tenant_id = f.tenant_id AND v.flow_id = f.id AND v.version = f.active_version
			WHERE f.tenant_id = $1 AND f.active ORDER BY f.created_at, f.id`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (BotFlowVersion, error) { return scanBotFlowVersion(row) })
		return err
	})
	return out, translate(err)
}
