package persistence

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// nameList is a tenant list ordered by lower(name), then id, paged with a
// (name, id) cursor: the shape of the users, teams and labels lists.
type nameList struct {
	alias   string // the table's alias in from, e.g. "l"
	from    string // e.g. "labels l"
	columns string // the selected columns; lower(<alias>.name) is appended
	where   []string
	args    []any // $1 is the tenant id
}

func newNameList(tenantID uuid.UUID, alias, from, columns string) *nameList {
	return &nameList{alias: alias, from: from, columns: columns, where: []string{alias + ".tenant_id = $1"}, args: []any{tenantID}}
}

// arg adds a query argument and returns its placeholder.
func (l *nameList) arg(v any) string {
	l.args = append(l.args, v)
	return fmt.Sprintf("$%d", len(l.args))
}

// filter adds a condition.
func (l *nameList) filter(cond string) { l.where = append(l.where, cond) }

// listByName runs the list; scan reads one row, then the sort key into its extra argument.
func listByName[T any](ctx context.Context, db *DB, tenantID uuid.UUID, l *nameList, cursor string, limit int,
	scan func(pgx.Row, ...any) (T, error), idOf func(T) uuid.UUID) (crm.Page[T], error) {
	var afterName string
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(cursor, &afterName, &afterID)
	if err != nil {
		return crm.Page[T]{}, err
	}
	limit = crm.ClampLimit(limit)
	key := "lower(" + l.alias + ".name)"
	if hasCursor {
		l.filter("(" + key + ", " + l.alias + ".id) > (" + l.arg(afterName) + ", " + l.arg(afterID) + ")")
	}
	query := `SELECT ` + l.columns + `, ` + key + ` FROM ` + l.from + ` WHERE ` + strings.Join(l.where, " AND ") +
		` ORDER BY ` + key + `, ` + l.alias + `.id LIMIT ` + l.arg(limit+1)
	page := crm.Page[T]{Items: []T{}}
	var keys []string
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, l.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			item, err := scan(rows, &k)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, item)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return crm.Page[T]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(keys[limit-1], idOf(page.Items[limit-1]))
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}
