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

// Kanban: boards of ordered columns holding cards. A card's place in its
// column is its rank (crm.RankBetween), so a move writes that one card; the
// moves into a column take the column's row lock, so two users moving
// cards at once are applied one after the other against the column as it
// stands and every console converges on the same order. Every change is
// audited and is a tenant event (board.*, column.*, card.*).

// Board is a pipeline. Get fills its columns (with totals) and cards.
type Board struct {
	ID          uuid.UUID     `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	Columns     []BoardColumn `json:"columns,omitempty"`
	Cards       []Card        `json:"cards,omitempty"`
}

// BoardColumn is a stage; Kind won or lost makes it terminal.
type BoardColumn struct {
	ID       uuid.UUID `json:"id"`
	BoardID  uuid.UUID `json:"board_id"`
	Name     string    `json:"name"`
	Color    string    `json:"color"`
	Kind     string    `json:"kind"` // open, won, lost
	Position int       `json:"position"`
	// Count and Total are the cards (of the board's filter) in the column
	// and the sum of their values (BRL, exact decimal).
	Count int    `json:"count"`
	Total string `json:"total"`
}

// Card is a deal or task on a board.
type Card struct {
	ID             uuid.UUID   `json:"id"`
	BoardID        uuid.UUID   `json:"board_id"`
	ColumnID       uuid.UUID   `json:"column_id"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Value          string      `json:"value"` // BRL, exact decimal ("1234.50")
	DueAt          *time.Time  `json:"due_at"`
	ContactID      *uuid.UUID  `json:"contact_id"`
	ContactName    *string     `json:"contact_name"`
	ConversationID *uuid.UUID  `json:"conversation_id"`
	AssigneeID     *uuid.UUID  `json:"assignee_id"`
	LabelIDs       []uuid.UUID `json:"label_ids"`
	Rank           string      `json:"rank"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

// ColumnKinds are the kinds a column may be.
var ColumnKinds = []string{"open", "won", "lost"}

// NewColumn is a validated column to create.
type NewColumn struct {
	Name, Color, Kind string
}

// DefaultColumns are a new board's stages when none are given.
var DefaultColumns = []NewColumn{
	{Name: "Novo", Color: "#64748b", Kind: "open"},
	{Name: "Em negociação", Color: "#0ea5e9", Kind: "open"},
	{Name: "Proposta enviada", Color: "#f59e0b", Kind: "open"},
	{Name: "Ganho", Color: "#16a34a", Kind: "won"},
	{Name: "Perdido", Color: "#dc2626", Kind: "lost"},
}

// ColumnPatch changes the fields that are not nil; Position moves the
// column among the board's (0 first).
type ColumnPatch struct {
	Name, Color, Kind *string
	Position          *int
}

// NewCard is a validated card to create; nil ColumnID is the board's first
// column. It goes to the column's end.
type NewCard struct {
	BoardID        uuid.UUID
	ColumnID       *uuid.UUID
	Title          string
	Description    string
	Value          string
	DueAt          *time.Time
	ContactID      *uuid.UUID
	ConversationID *uuid.UUID
	AssigneeID     *uuid.UUID
	LabelIDs       []uuid.UUID
}

// CardPatch changes the fields that are not nil (Clear* empties the
// optional ones). A move names the column and, optionally, the card to go
// before or after; neither is the column's end.
type CardPatch struct {
	Title, Description, Value *string
	DueAt                     *time.Time
	ClearDue                  bool
	ContactID                 *uuid.UUID
	ClearContact              bool
	ConversationID            *uuid.UUID
	ClearConversation         bool
	AssigneeID                *uuid.UUID
	ClearAssignee             bool
	LabelIDs                  *[]uuid.UUID
	Move                      *CardMove
}

// CardMove places a card in a column, before or after another of its cards.
type CardMove struct {
	ColumnID uuid.UUID
	BeforeID *uuid.UUID
	AfterID  *uuid.UUID
}

// CardFilter narrows a board's cards.
type CardFilter struct {
	AssigneeID *uuid.UUID
	Unassigned bool
	LabelID    *uuid.UUID
	DueBefore  *time.Time
	DueAfter   *time.Time
}

const cardColumns = `c.id, c.board_id, c.column_id, c.title, c.description, c.value::text, c.due_at, c.contact_id,
	(SELECT ct.name FROM contacts ct WHERE ct.tenant_id = c.tenant_id AND ct.id = c.contact_id),
	c.conversation_id, c.assignee_id,
	ARRAY(SELECT cl.label_id FROM card_labels cl WHERE cl.tenant_id = c.tenant_id AND cl.card_id = c.id ORDER BY cl.label_id),
	c.rank, c.created_at, c.updated_at`

func scanCard(row pgx.Row) (Card, error) {
	var c Card
	err := row.Scan(&c.ID, &c.BoardID, &c.ColumnID, &c.Title, &c.Description, &c.Value, &c.DueAt, &c.ContactID, &c.ContactName,
		&c.ConversationID, &c.AssigneeID, &c.LabelIDs, &c.Rank, &c.CreatedAt, &c.UpdatedAt)
	if c.LabelIDs == nil {
		c.LabelIDs = []uuid.UUID{}
	}
	return c, err
}

func loadCard(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (Card, error) {
	c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards c WHERE c.tenant_id = $1 AND c.id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, crm.NotFound("card")
	}
	return c, err
}

func loadBoard(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (Board, error) {
	q := `SELECT id, name, description, created_at, updated_at FROM boards WHERE tenant_id = $1 AND id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	var b Board
	err := tx.QueryRow(ctx, q, tenantID, id).Scan(&b.ID, &b.Name, &b.Description, &b.CreatedAt, &b.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, crm.NotFound("board")
	}
	return b, err
}

func loadColumn(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (BoardColumn, error) {
	q := `SELECT id, board_id, name, color, kind, position FROM board_columns WHERE tenant_id = $1 AND id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	var c BoardColumn
	err := tx.QueryRow(ctx, q, tenantID, id).Scan(&c.ID, &c.BoardID, &c.Name, &c.Color, &c.Kind, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, crm.NotFound("column")
	}
	c.Total = "0.00"
	return c, err
}

const boardNameConstraint = "boards_tenant_id_name_key"
const columnNameConstraint = "board_columns_tenant_id_board_id_name_key"

// ListBoards lists the tenant's boards by name (without columns or cards).
func (db *DB) ListBoards(ctx context.Context, tenantID uuid.UUID) ([]Board, error) {
	out := []Board{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name, description, created_at, updated_at FROM boards
			WHERE tenant_id = $1 ORDER BY name, id`, tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b Board
			if err := rows.Scan(&b.ID, &b.Name, &b.Description, &b.CreatedAt, &b.UpdatedAt); err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// CreateBoard stores a board with its columns (DefaultColumns when none).
func (db *DB) CreateBoard(ctx context.Context, tenantID uuid.UUID, by AuditEntry, name, description string, columns []NewColumn) (Board, crm.TenantEvent, error) {
	if len(columns) == 0 {
		columns = DefaultColumns
	}
	var out Board
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO boards (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)`,
			tenantID, id, name, description); err != nil {
			return directoryConflict(err, boardNameConstraint, "name", "a board with this name already exists")
		}
		for i, c := range columns {
			if _, err := tx.Exec(ctx, `INSERT INTO board_columns (tenant_id, id, board_id, name, color, kind, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, crm.NewID(), id, c.Name, c.Color, c.Kind, i); err != nil {
				return directoryConflict(err, columnNameConstraint, fmt.Sprintf("columns[%d].name", i), "two columns have this name")
			}
		}
		var err error
		if out, err = getBoard(ctx, tx, tenantID, id, CardFilter{}); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "board", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// GetBoard loads a board with its columns (totals of the filtered cards)
// and its cards, in column order then rank.
func (db *DB) GetBoard(ctx context.Context, tenantID, id uuid.UUID, f CardFilter) (Board, error) {
	var out Board
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = getBoard(ctx, tx, tenantID, id, f)
		return err
	})
	return out, translate(err)
}

func getBoard(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, f CardFilter) (Board, error) {
	b, err := loadBoard(ctx, tx, tenantID, id, false)
	if err != nil {
		return b, err
	}
	where := []string{"c.tenant_id = $1", "c.board_id = $2"}
	args := []any{tenantID, id}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.AssigneeID != nil {
		where = append(where, "c.assignee_id = "+arg(*f.AssigneeID))
	}
	if f.Unassigned {
		where = append(where, "c.assignee_id IS NULL")
	}
	if f.LabelID != nil {
		where = append(where, "EXISTS (SELECT 1 FROM card_labels cl WHERE cl.tenant_id = c.tenant_id AND cl.card_id = c.id AND cl.label_id = "+arg(*f.LabelID)+")")
	}
	if f.DueBefore != nil {
		where = append(where, "c.due_at < "+arg(*f.DueBefore))
	}
	if f.DueAfter != nil {
		where = append(where, "c.due_at >= "+arg(*f.DueAfter))
	}
	rows, err := tx.Query(ctx, `SELECT `+cardColumns+` FROM cards c JOIN board_columns bc ON bc.tenant_id = c.tenant_id AND bc.id = c.column_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY bc.position, c.rank, c.id`, args...)
	if err != nil {
		return b, err
	}
	b.Cards = []Card{}
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			rows.Close()
			return b, err
		}
		b.Cards = append(b.Cards, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, err
	}
	// Totals in SQL: exact decimals, never floats.
	rows, err = tx.Query(ctx, `SELECT bc.id, bc.board_id, bc.name, bc.color, bc.kind, bc.position,
		count(c.id), coalesce(sum(c.value), 0)::numeric(14,2)::text
		FROM board_columns bc LEFT JOIN cards c ON c.tenant_id = bc.tenant_id AND c.column_id = bc.id AND c.id = ANY($3)
		WHERE bc.tenant_id = $1 AND bc.board_id = $2 GROUP BY bc.tenant_id, bc.id ORDER BY bc.position, bc.id`, tenantID, id, cardIDs(b.Cards))
	if err != nil {
		return b, err
	}
	defer rows.Close()
	b.Columns = []BoardColumn{}
	for rows.Next() {
		var c BoardColumn
		if err := rows.Scan(&c.ID, &c.BoardID, &c.Name, &c.Color, &c.Kind, &c.Position, &c.Count, &c.Total); err != nil {
			return b, err
		}
		b.Columns = append(b.Columns, c)
	}
	return b, rows.Err()
}

func cardIDs(cards []Card) []uuid.UUID {
	out := make([]uuid.UUID, len(cards))
	for i, c := range cards {
		out[i] = c.ID
	}
	return out
}

// UpdateBoard renames or re-describes a board.
func (db *DB) UpdateBoard(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, name, description *string) (Board, crm.TenantEvent, error) {
	var out Board
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBoard(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE boards SET name = coalesce($3, name), description = coalesce($4, description),
			updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, id, name, description); err != nil {
			return directoryConflict(err, boardNameConstraint, "name", "a board with this name already exists")
		}
		if out, err = loadBoard(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "board", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteBoard deletes a board with its columns and cards.
func (db *DB) DeleteBoard(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadBoard(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM boards WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "board", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}

// CreateColumn adds a column at the board's end.
func (db *DB) CreateColumn(ctx context.Context, tenantID, boardID uuid.UUID, by AuditEntry, in NewColumn) (BoardColumn, crm.TenantEvent, error) {
	var out BoardColumn
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := loadBoard(ctx, tx, tenantID, boardID, true); err != nil {
			return err
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO board_columns (tenant_id, id, board_id, name, color, kind, position)
			VALUES ($1, $2, $3, $4, $5, $6, (SELECT coalesce(max(position) + 1, 0) FROM board_columns WHERE tenant_id = $1 AND board_id = $3))`,
			tenantID, id, boardID, in.Name, in.Color, in.Kind); err != nil {
			return directoryConflict(err, columnNameConstraint, "name", "the board has a column with this name")
		}
		var err error
		if out, err = loadColumn(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "column", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// UpdateColumn changes a column; a new position moves it among the
// board's columns (the few columns are renumbered; cards never are).
func (db *DB) UpdateColumn(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, p ColumnPatch) (BoardColumn, crm.TenantEvent, error) {
	var out BoardColumn
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadColumn(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := loadBoard(ctx, tx, tenantID, before.BoardID, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE board_columns SET name = coalesce($3, name), color = coalesce($4, color),
			kind = coalesce($5, kind), updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, id, p.Name, p.Color, p.Kind); err != nil {
			return directoryConflict(err, columnNameConstraint, "name", "the board has a column with this name")
		}
		if p.Position != nil {
			rows, err := tx.Query(ctx, `SELECT id FROM board_columns WHERE tenant_id = $1 AND board_id = $2 AND id <> $3
				ORDER BY position, id`, tenantID, before.BoardID, id)
			if err != nil {
				return err
			}
			others, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			if err != nil {
				return err
			}
			at := min(max(*p.Position, 0), len(others))
			order := append(append(append([]uuid.UUID{}, others[:at]...), id), others[at:]...)
			for i, col := range order {
				if _, err := tx.Exec(ctx, `UPDATE board_columns SET position = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, col, i); err != nil {
					return err
				}
			}
		}
		if out, err = loadColumn(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "column", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteColumn deletes an empty column (409 column_not_empty otherwise; the
// board keeps at least one).
func (db *DB) DeleteColumn(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadColumn(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		var cards, columns int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM cards WHERE tenant_id = $1 AND column_id = $2),
			(SELECT count(*) FROM board_columns WHERE tenant_id = $1 AND board_id = $3)`, tenantID, id, before.BoardID).Scan(&cards, &columns); err != nil {
			return err
		}
		if cards > 0 {
			return crm.NewError(crm.ErrConflict, "column_not_empty", "move or delete the column's cards first", map[string]any{"cards": cards})
		}
		if columns <= 1 {
			return crm.NewError(crm.ErrConflict, "last_column", "a board keeps at least one column", nil)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM board_columns WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "column", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}

// lockColumns takes the row locks of the columns a move touches, in id
// order (no deadlock between two moves crossing the same columns).
func lockColumns(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids ...uuid.UUID) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM board_columns WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, tenantID, ids)
	return err
}

// rankFor is the rank of a card placed in a column before or after one of
// its cards (the column's end when neither), with the column locked.
func rankFor(ctx context.Context, tx pgx.Tx, tenantID, columnID, moving uuid.UUID, before, after *uuid.UUID) (string, error) {
	anchorRank := func(id uuid.UUID) (string, error) {
		var r string
		err := tx.QueryRow(ctx, `SELECT rank FROM cards WHERE tenant_id = $1 AND id = $2 AND column_id = $3`, tenantID, id, columnID).Scan(&r)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", crm.FieldErrors{"before_id": "no card with this id in the column"}.Err()
		}
		return r, err
	}
	neighbour := func(query string, args ...any) (string, error) {
		var r string
		err := tx.QueryRow(ctx, query, args...).Scan(&r)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
		return r, err
	}
	switch {
	case before != nil:
		hi, err := anchorRank(*before)
		if err != nil {
			return "", err
		}
		lo, err := neighbour(`SELECT rank FROM cards WHERE tenant_id = $1 AND column_id = $2 AND id <> $3 AND rank < $4
			ORDER BY rank DESC, id DESC LIMIT 1`, tenantID, columnID, moving, hi)
		if err != nil {
			return "", err
		}
		return crm.RankBetween(lo, hi), nil
	case after != nil:
		lo, err := anchorRank(*after)
		if err != nil {
			return "", err
		}
		hi, err := neighbour(`SELECT rank FROM cards WHERE tenant_id = $1 AND column_id = $2 AND id <> $3 AND rank > $4
			ORDER BY rank, id LIMIT 1`, tenantID, columnID, moving, lo)
		if err != nil {
			return "", err
		}
		return crm.RankBetween(lo, hi), nil
	}
	lo, err := neighbour(`SELECT rank FROM cards WHERE tenant_id = $1 AND column_id = $2 AND id <> $3 ORDER BY rank DESC, id DESC LIMIT 1`,
		tenantID, columnID, moving)
	if err != nil {
		return "", err
	}
	return crm.RankBetween(lo, ""), nil
}

func setCardLabels(ctx context.Context, tx pgx.Tx, tenantID, cardID uuid.UUID, labels []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM card_labels WHERE tenant_id = $1 AND card_id = $2`, tenantID, cardID); err != nil {
		return err
	}
	if len(labels) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO card_labels (tenant_id, card_id, label_id)
		SELECT $1, $2, l.id FROM labels l WHERE l.tenant_id = $1 AND l.id = ANY($3)`, tenantID, cardID, labels)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != len(labels) {
		return crm.FieldErrors{"label_ids": "a label does not exist"}.Err()
	}
	return nil
}

// checkCardRefs makes sure the contact, conversation and assignee exist in
// the tenant (RLS hides other tenants' rows: they do not exist here).
func checkCardRefs(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, contact, conversation, assignee *uuid.UUID) error {
	fields := crm.FieldErrors{}
	check := func(field, table string, id *uuid.UUID, extra string) error {
		if id == nil {
			return nil
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND id = $2`+extra+`)`, tenantID, *id).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			fields[field] = "does not exist"
		}
		return nil
	}
	if err := check("contact_id", "contacts", contact, ""); err != nil {
		return err
	}
	if err := check("conversation_id", "conversations", conversation, ""); err != nil {
		return err
	}
	if err := check("assignee_id", "users", assignee, " AND active"); err != nil {
		return err
	}
	return fields.Err()
}

// CreateCard stores a card at the end of its column.
func (db *DB) CreateCard(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewCard) (Card, crm.TenantEvent, error) {
	var out Card
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := loadBoard(ctx, tx, tenantID, in.BoardID, false); err != nil {
			return err
		}
		if in.ColumnID == nil {
			var first uuid.UUID
			if err := tx.QueryRow(ctx, `SELECT id FROM board_columns WHERE tenant_id = $1 AND board_id = $2 ORDER BY position, id LIMIT 1`,
				tenantID, in.BoardID).Scan(&first); err != nil {
				return err
			}
			in.ColumnID = &first
		}
		col, err := loadColumn(ctx, tx, tenantID, *in.ColumnID, false)
		if err != nil || col.BoardID != in.BoardID {
			return crm.FieldErrors{"column_id": "no column with this id on the board"}.Err()
		}
		if err := checkCardRefs(ctx, tx, tenantID, in.ContactID, in.ConversationID, in.AssigneeID); err != nil {
			return err
		}
		if in.ConversationID != nil && in.ContactID == nil {
			if err := tx.QueryRow(ctx, `SELECT contact_id FROM conversations WHERE tenant_id = $1 AND id = $2`, tenantID, *in.ConversationID).
				Scan(&in.ContactID); err != nil {
				return err
			}
		}
		if err := lockColumns(ctx, tx, tenantID, col.ID); err != nil {
			return err
		}
		id := crm.NewID()
		rank, err := rankFor(ctx, tx, tenantID, col.ID, id, nil, nil)
		if err != nil {
			return err
		}
		if in.Value == "" {
			in.Value = "0"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cards (tenant_id, id, board_id, column_id, title, description, value, due_at,
			contact_id, conversation_id, assignee_id, rank) VALUES ($1, $2, $3, $4, $5, $6, $7::text::numeric, $8, $9, $10, $11, $12)`,
			tenantID, id, in.BoardID, col.ID, in.Title, in.Description, in.Value, in.DueAt, in.ContactID, in.ConversationID,
			in.AssigneeID, rank); err != nil {
			return err
		}
		if err := setCardLabels(ctx, tx, tenantID, id, directoryDedupe(in.LabelIDs)); err != nil {
			return err
		}
		if out, err = loadCard(ctx, tx, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "card", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// GetCard loads one card.
func (db *DB) GetCard(ctx context.Context, tenantID, id uuid.UUID) (Card, error) {
	var out Card
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadCard(ctx, tx, tenantID, id)
		return err
	})
	return out, translate(err)
}

// ContactCards are a contact's cards on every board, newest first.
func (db *DB) ContactCards(ctx context.Context, tenantID, contactID uuid.UUID) ([]Card, error) {
	return db.cardsWhere(ctx, tenantID, "c.contact_id = $2", contactID)
}

// AssignedCards are a user's cards on every board, newest first.
func (db *DB) AssignedCards(ctx context.Context, tenantID, userID uuid.UUID) ([]Card, error) {
	return db.cardsWhere(ctx, tenantID, "c.assignee_id = $2", userID)
}

func (db *DB) cardsWhere(ctx context.Context, tenantID uuid.UUID, cond string, arg uuid.UUID) ([]Card, error) {
	out := []Card{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+cardColumns+` FROM cards c WHERE c.tenant_id = $1 AND `+cond+`
			ORDER BY c.created_at DESC, c.id LIMIT 200`, tenantID, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCard(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// UpdateCard changes a card and, with a move, its column and place.
func (db *DB) UpdateCard(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, p CardPatch) (Card, crm.TenantEvent, error) {
	var out Card
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCard(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if err := checkCardRefs(ctx, tx, tenantID, p.ContactID, p.ConversationID, p.AssigneeID); err != nil {
			return err
		}
		set := []string{"updated_at = now()"}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if p.Title != nil {
			set = append(set, "title = "+arg(*p.Title))
		}
		if p.Description != nil {
			set = append(set, "description = "+arg(*p.Description))
		}
		if p.Value != nil {
			set = append(set, "value = "+arg(*p.Value)+"::text::numeric")
		}
		optional := func(column string, v *uuid.UUID, clear bool) {
			switch {
			case clear:
				set = append(set, column+" = NULL")
			case v != nil:
				set = append(set, column+" = "+arg(*v))
			}
		}
		optional("contact_id", p.ContactID, p.ClearContact)
		optional("conversation_id", p.ConversationID, p.ClearConversation)
		optional("assignee_id", p.AssigneeID, p.ClearAssignee)
		switch {
		case p.ClearDue:
			set = append(set, "due_at = NULL")
		case p.DueAt != nil:
			set = append(set, "due_at = "+arg(*p.DueAt))
		}
		if p.Move != nil {
			col, err := loadColumn(ctx, tx, tenantID, p.Move.ColumnID, false)
			if err != nil || col.BoardID != before.BoardID {
				return crm.FieldErrors{"column_id": "no column with this id on the card's board"}.Err()
			}
			if (p.Move.BeforeID != nil && *p.Move.BeforeID == id) || (p.Move.AfterID != nil && *p.Move.AfterID == id) {
				return crm.FieldErrors{"before_id": "a card cannot be placed beside itself"}.Err()
			}
			if err := lockColumns(ctx, tx, tenantID, before.ColumnID, col.ID); err != nil {
				return err
			}
			rank, err := rankFor(ctx, tx, tenantID, col.ID, id, p.Move.BeforeID, p.Move.AfterID)
			if err != nil {
				return err
			}
			set = append(set, "column_id = "+arg(col.ID), "rank = "+arg(rank))
		}
		if _, err := tx.Exec(ctx, `UPDATE cards SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`, args...); err != nil {
			return err
		}
		if p.LabelIDs != nil {
			if err := setCardLabels(ctx, tx, tenantID, id, directoryDedupe(*p.LabelIDs)); err != nil {
				return err
			}
		}
		if out, err = loadCard(ctx, tx, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "card", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteCard deletes a card.
func (db *DB) DeleteCard(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCard(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cards WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "card", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}
