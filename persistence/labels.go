package persistence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Label tags contacts and conversations.
type Label struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DefaultLabelColor is the color of a label created without one.
const DefaultLabelColor = "#64748b"

// NewLabel is a validated label to create.
type NewLabel struct {
	Name  string
	Color string // #rrggbb; empty means DefaultLabelColor
}

// LabelPatch changes only the fields that are not nil.
type LabelPatch struct {
	Name  *string
	Color *string
}

// LabelFilter selects a page of labels.
type LabelFilter struct {
	Q      string // name contains, case-insensitive, taken literally
	Cursor string
	Limit  int
}

const labelColumns = `l.id, l.name, l.color, l.created_at, l.updated_at`

const labelNameConstraint = "labels_tenant_id_name_key"

func scanLabel(row pgx.Row, extra ...any) (Label, error) {
	var l Label
	err := row.Scan(append([]any{&l.ID, &l.Name, &l.Color, &l.CreatedAt, &l.UpdatedAt}, extra...)...)
	return l, err
}

func loadLabel(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (Label, error) {
	query := `SELECT ` + labelColumns + ` FROM labels l WHERE l.tenant_id = $1 AND l.id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	l, err := scanLabel(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, crm.NotFound("label")
	}
	return l, err
}

// CreateLabel stores a label. It answers the label.created event appended
// with it (see writeDirectoryChange), for the caller to publish.
func (db *DB) CreateLabel(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewLabel) (Label, crm.TenantEvent, error) {
	if in.Color == "" {
		in.Color = DefaultLabelColor
	}
	var out Label
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO labels (tenant_id, id, name, color) VALUES ($1, $2, $3, $4)`,
			tenantID, id, in.Name, in.Color); err != nil {
			return directoryConflict(err, labelNameConstraint, "name", "a label with this name already exists")
		}
		var err error
		if out, err = loadLabel(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "label", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// GetLabel loads one label of the tenant.
func (db *DB) GetLabel(ctx context.Context, tenantID, id uuid.UUID) (Label, error) {
	var out Label
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadLabel(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// ListLabels returns one page of labels ordered by name, then id.
func (db *DB) ListLabels(ctx context.Context, tenantID uuid.UUID, f LabelFilter) (crm.Page[Label], error) {
	l := newNameList(tenantID, "l", "labels l", labelColumns)
	if f.Q != "" {
		l.filter("l.name ILIKE " + l.arg("%"+escapeLike(f.Q)+"%"))
	}
	return listByName(ctx, db, tenantID, l, f.Cursor, f.Limit, scanLabel, func(x Label) uuid.UUID { return x.ID })
}

// UpdateLabel applies the patch, and answers the label.updated event
// appended with it (none when the patch changes nothing).
func (db *DB) UpdateLabel(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch LabelPatch) (Label, crm.TenantEvent, error) {
	var out Label
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadLabel(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if patch.Name == nil && patch.Color == nil {
			out = before
			return nil
		}
		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Name != nil {
			set = append(set, "name = "+arg(*patch.Name))
		}
		if patch.Color != nil {
			set = append(set, "color = "+arg(*patch.Color))
		}
		if _, err := tx.Exec(ctx, `UPDATE labels SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
			args...); err != nil {
			return directoryConflict(err, labelNameConstraint, "name", "a label with this name already exists")
		}
		if out, err = loadLabel(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "label", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteLabel removes a label; contacts and conversations lose it. It
// answers the label.deleted event appended with it.
func (db *DB) DeleteLabel(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadLabel(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		// The label leaves its conversations (ON DELETE CASCADE) behind their
		// grains' backs: their versions move, so a grain holding one with
		// the label is fenced on its next write and reloads it.
		if _, err := tx.Exec(ctx, `UPDATE conversations SET version = version + 1 WHERE tenant_id = $1 AND id IN
			(SELECT conversation_id FROM conversation_labels WHERE tenant_id = $1 AND label_id = $2)`, tenantID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM labels WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "label", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}
