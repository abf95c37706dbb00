package persistence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm"
)

// Contact is one person across channels: the phone is the WhatsApp identity,
// the identities the other channels' ids.
type Contact struct {
	ID           uuid.UUID         `json:"id"`
	Name         string            `json:"name"`
	Phone        *string           `json:"phone"` // E.164
	Email        *string           `json:"email"` // lower-case
	AvatarURL    string            `json:"avatar_url"`
	CustomFields map[string]any    `json:"custom_fields"`
	LabelIDs     []uuid.UUID       `json:"label_ids"`
	Identities   []ContactIdentity `json:"identities"`
	Blocked      bool              `json:"blocked"`
	OptedOut     bool              `json:"opted_out"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// ContactIdentity is the contact's id on one channel (wa_id, PSID, IGSID).
type ContactIdentity struct {
	Channel     string `json:"channel"`
	ExternalID  string `json:"external_id"`
	DisplayName string `json:"display_name"`
}

// NewContact is a validated contact to create.
type NewContact struct {
	Name         string
	Phone        *string // E.164, nil for none
	Email        *string // lower-case, nil for none
	CustomFields map[string]any
	LabelIDs     []uuid.UUID
	Blocked      bool
	OptedOut     bool
}

// ContactPatch changes only the fields that are not nil. A Phone or Email
// pointing to "" clears it; LabelIDs and CustomFields replace the whole set.
type ContactPatch struct {
	Name         *string
	Phone        *string
	Email        *string
	CustomFields map[string]any // nil: unchanged
	LabelIDs     *[]uuid.UUID
	Blocked      *bool
	OptedOut     *bool
}

func (p ContactPatch) empty() bool {
	return p.Name == nil && p.Phone == nil && p.Email == nil && p.CustomFields == nil && p.LabelIDs == nil &&
		p.Blocked == nil && p.OptedOut == nil
}

// ContactFilter selects contacts. Lists are ordered by name (case-insensitive),
// then id, so a page boundary never moves when contacts are added.
type ContactFilter struct {
	// Q matches, ignoring case and accents, literally a substring of the name or
	// the email; when it looks like a phone number (digits and phone
	// punctuation only) it also matches the phone's digits, whatever the
	// formatting, and the number it normalises to.
	Q       string
	LabelID *uuid.UUID
	Cursor  string
	Limit   int
}

const contactColumns = `c.id, c.name, c.phone, c.email, c.avatar_url, c.custom_fields, c.blocked, c.opted_out,
	c.created_at, c.updated_at`

// contactPhoneConstraint is the (tenant_id, phone) unique constraint.
const contactPhoneConstraint = "contacts_tenant_id_phone_key"

// contactMaxCustomFields is the most custom fields a contact may hold, also
// after an import merges new ones into it.
const contactMaxCustomFields = 50

func scanContact(row pgx.Row, extra ...any) (Contact, error) {
	var c Contact
	err := row.Scan(append([]any{&c.ID, &c.Name, &c.Phone, &c.Email, &c.AvatarURL, &c.CustomFields, &c.Blocked,
		&c.OptedOut, &c.CreatedAt, &c.UpdatedAt}, extra...)...)
	if c.CustomFields == nil {
		c.CustomFields = map[string]any{}
	}
	c.LabelIDs = []uuid.UUID{}
	c.Identities = []ContactIdentity{}
	return c, err
}

// loadContactRelations fills the label ids and identities of the contacts
// with two queries, however many contacts there are.
func loadContactRelations(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, contacts []Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(contacts))
	index := make(map[uuid.UUID]int, len(contacts))
	for i, c := range contacts {
		ids[i] = c.ID
		index[c.ID] = i
	}
	rows, err := tx.Query(ctx, `SELECT contact_id, label_id FROM contact_labels
		WHERE tenant_id = $1 AND contact_id = ANY($2) ORDER BY contact_id, label_id`, tenantID, ids)
	if err != nil {
		return err
	}
	var contactID, labelID uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&contactID, &labelID}, func() error {
		i := index[contactID]
		contacts[i].LabelIDs = append(contacts[i].LabelIDs, labelID)
		return nil
	})
	if err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT contact_id, channel, external_id, display_name FROM contact_identities
		WHERE tenant_id = $1 AND contact_id = ANY($2) ORDER BY contact_id, created_at, id`, tenantID, ids)
	if err != nil {
		return err
	}
	var identity ContactIdentity
	_, err = pgx.ForEachRow(rows, []any{&contactID, &identity.Channel, &identity.ExternalID, &identity.DisplayName},
		func() error {
			i := index[contactID]
			contacts[i].Identities = append(contacts[i].Identities, identity)
			return nil
		})
	return err
}

func loadContact(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (Contact, error) {
	query := `SELECT ` + contactColumns + ` FROM contacts c WHERE c.tenant_id = $1 AND c.id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	c, err := scanContact(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, crm.NotFound("contact")
	}
	if err != nil {
		return c, err
	}
	one := []Contact{c}
	if err := loadContactRelations(ctx, tx, tenantID, one); err != nil {
		return c, err
	}
	return one[0], nil
}

// contactPhoneTaken returns a 409 on the phone field when another contact of
// the tenant already has phone; its id is in the details so a client can open it.
func contactPhoneTaken(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, phone string, except uuid.UUID) error {
	var other uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM contacts WHERE tenant_id = $1 AND phone = $2 AND id <> $3`,
		tenantID, phone, except).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	conflict := crm.Conflict("phone", "a contact with this phone number already exists")
	conflict.Details["contact_id"] = other
	return conflict
}

// errPhoneRace is a concurrent writer taking the phone between our check
// and our write: the transaction is aborted by then, so the contact that
// holds the phone is looked up after it (phoneRaceConflict).
var errPhoneRace = errors.New("the phone was taken by a concurrent write")

// contactWriteError turns the phone's unique violation into errPhoneRace.
func contactWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == contactPhoneConstraint {
		return errPhoneRace
	}
	return err
}

// phoneRaceConflict answers errPhoneRace as the check would have: a 409 on
// the phone with the id of the contact that now holds it, so the console can
// link to it.
func (db *DB) phoneRaceConflict(ctx context.Context, tenantID uuid.UUID, phone string, except uuid.UUID) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return contactPhoneTaken(ctx, tx, tenantID, phone, except)
	})
	if err == nil { // the holder is gone again; the conflict stands for this attempt
		err = crm.Conflict("phone", "a contact with this phone number already exists")
	}
	return translate(err)
}

// checkContactLabels fails with a field error on label_ids unless every id
// names a label of this tenant (another tenant's labels are invisible under RLS).
func checkContactLabels(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM labels WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			fields := crm.FieldErrors{}
			fields.Add("label_ids", "unknown label %s", id)
			return fields.Err()
		}
	}
	return nil
}

// setContactLabels makes the contact's labels exactly ids.
func setContactLabels(ctx context.Context, tx pgx.Tx, tenantID, contactID uuid.UUID, ids []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_labels WHERE tenant_id = $1 AND contact_id = $2 AND NOT label_id = ANY($3)`,
		tenantID, contactID, ids); err != nil {
		return err
	}
	return addContactLabels(ctx, tx, tenantID, contactID, ids)
}

func addContactLabels(ctx context.Context, tx pgx.Tx, tenantID, contactID uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id)
		SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`, tenantID, contactID, ids)
	return err
}

func contactDedupe(ids []uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// CreateContact stores a contact with its labels, and answers the
// contact.created event appended with it (see writeDirectoryChange).
func (db *DB) CreateContact(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in NewContact) (Contact, crm.TenantEvent, error) {
	labels := contactDedupe(in.LabelIDs)
	if in.CustomFields == nil {
		in.CustomFields = map[string]any{}
	}
	var out Contact
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := checkContactLabels(ctx, tx, tenantID, labels); err != nil {
			return err
		}
		if in.Phone != nil {
			if err := contactPhoneTaken(ctx, tx, tenantID, *in.Phone, uuid.Nil); err != nil {
				return err
			}
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone, email, custom_fields, blocked, opted_out)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, id, in.Name, in.Phone, in.Email, in.CustomFields,
			in.Blocked, in.OptedOut); err != nil {
			return contactWriteError(err)
		}
		if err := addContactLabels(ctx, tx, tenantID, id, labels); err != nil {
			return err
		}
		var err error
		if out, err = loadContact(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "contact", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	if errors.Is(err, errPhoneRace) && in.Phone != nil {
		return out, ev, db.phoneRaceConflict(ctx, tenantID, *in.Phone, uuid.Nil)
	}
	return out, ev, translate(err)
}

// GetContact loads one contact of the tenant.
func (db *DB) GetContact(ctx context.Context, tenantID, id uuid.UUID) (Contact, error) {
	var out Contact
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadContact(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// UpdateContact applies the patch, and answers the contact.updated event
// appended with it (none when the patch changes nothing).
func (db *DB) UpdateContact(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, patch ContactPatch) (Contact, crm.TenantEvent, error) {
	var out Contact
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadContact(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if patch.empty() {
			out = before
			return nil
		}
		set := []string{}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.Name != nil {
			set = append(set, "name = "+arg(*patch.Name))
		}
		if patch.Phone != nil {
			var phone *string
			if *patch.Phone != "" {
				phone = patch.Phone
				if err := contactPhoneTaken(ctx, tx, tenantID, *phone, id); err != nil {
					return err
				}
			}
			set = append(set, "phone = "+arg(phone))
		}
		if patch.Email != nil {
			var email *string
			if *patch.Email != "" {
				email = patch.Email
			}
			set = append(set, "email = "+arg(email))
		}
		if patch.CustomFields != nil {
			set = append(set, "custom_fields = "+arg(patch.CustomFields))
		}
		if patch.Blocked != nil {
			set = append(set, "blocked = "+arg(*patch.Blocked))
		}
		if patch.OptedOut != nil {
			set = append(set, "opted_out = "+arg(*patch.OptedOut))
		}
		if patch.LabelIDs != nil {
			labels := contactDedupe(*patch.LabelIDs)
			if err := checkContactLabels(ctx, tx, tenantID, labels); err != nil {
				return err
			}
			if err := setContactLabels(ctx, tx, tenantID, id, labels); err != nil {
				return err
			}
			set = append(set, "updated_at = now()") // a label change is a change of the contact
		}
		if _, err := tx.Exec(ctx, `UPDATE contacts SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`,
			args...); err != nil {
			return contactWriteError(err)
		}
		if out, err = loadContact(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "contact", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	if errors.Is(err, errPhoneRace) && patch.Phone != nil {
		return out, ev, db.phoneRaceConflict(ctx, tenantID, *patch.Phone, id)
	}
	return out, ev, translate(err)
}

// errContactHasConversations refuses to delete a contact whose conversation
// history would go with it.
func errContactHasConversations() error {
	return crm.NewError(crm.ErrConflict, "contact_has_conversations",
		"this contact has conversations; block it or mark it opted out instead of deleting it", nil)
}

// DeleteContact removes a contact without conversations; its labels,
// identities and campaign entries go with it. It answers the
// contact.deleted event appended with it.
func (db *DB) DeleteContact(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadContact(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		var hasConversations bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE tenant_id = $1 AND contact_id = $2)`,
			tenantID, id).Scan(&hasConversations); err != nil {
			return err
		}
		if hasConversations {
			return errContactHasConversations()
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" {
				return errContactHasConversations() // a conversation started meanwhile
			}
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "contact", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}

// contactPhoneQuery returns the digits of q when q looks like a phone number
// (digits and phone punctuation only, at least three digits), else "".
func contactPhoneQuery(q string) string {
	var digits strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" +-.()/", r):
		default:
			return ""
		}
	}
	if digits.Len() < 3 {
		return ""
	}
	return digits.String()
}

// contactWhere builds the WHERE clause of f (without its cursor), appending
// to args.
func contactWhere(tenantID uuid.UUID, f ContactFilter, args *[]any) string {
	arg := func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	where := []string{"c.tenant_id = " + arg(tenantID)}
	if q := strings.TrimSpace(f.Q); q != "" {
		// search_text is the name and email folded (crm_fold: lower case, no
		// accents), so "joao" finds "João".
		match := []string{"c.search_text LIKE crm_fold(" + arg("%"+escapeLike(q)+"%") + ")"}
		if digits := contactPhoneQuery(q); digits != "" {
			match = append(match, "c.phone LIKE "+arg("%"+digits+"%"))
			if phone, err := crm.NormalizePhone(q); err == nil {
				match = append(match, "c.phone = "+arg(phone))
			}
		}
		where = append(where, "("+strings.Join(match, " OR ")+")")
	}
	if f.LabelID != nil {
		where = append(where, `EXISTS (SELECT 1 FROM contact_labels cl WHERE cl.tenant_id = c.tenant_id
			AND cl.contact_id = c.id AND cl.label_id = `+arg(*f.LabelID)+`)`)
	}
	return strings.Join(where, " AND ")
}

// listContacts reads up to limit contacts after the cursor key, in list
// order, and says whether more follow.
func listContacts(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, f ContactFilter, afterName *string,
	afterID uuid.UUID, limit int) (items []Contact, keys []string, more bool, err error) {
	args := []any{}
	where := contactWhere(tenantID, f, &args)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if afterName != nil {
		where += " AND (lower(c.name), c.id) > (" + arg(*afterName) + ", " + arg(afterID) + ")"
	}
	query := `SELECT ` + contactColumns + `, lower(c.name) FROM contacts c WHERE ` + where +
		` ORDER BY lower(c.name), c.id LIMIT ` + arg(limit+1)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, false, err
	}
	defer rows.Close()
	items = []Contact{}
	for rows.Next() {
		var key string
		c, err := scanContact(rows, &key)
		if err != nil {
			return nil, nil, false, err
		}
		items = append(items, c)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, false, err
	}
	if len(items) > limit {
		items, keys, more = items[:limit], keys[:limit], true
	}
	return items, keys, more, loadContactRelations(ctx, tx, tenantID, items)
}

// ListContacts returns one page of contacts ordered by name, then id.
func (db *DB) ListContacts(ctx context.Context, tenantID uuid.UUID, f ContactFilter) (crm.Page[Contact], error) {
	var afterName string
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &afterName, &afterID)
	if err != nil {
		return crm.Page[Contact]{}, err
	}
	var after *string
	if hasCursor {
		after = &afterName
	}
	limit := crm.ClampLimit(f.Limit)
	page := crm.Page[Contact]{Items: []Contact{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		items, keys, more, err := listContacts(ctx, tx, tenantID, f, after, afterID, limit)
		if err != nil {
			return err
		}
		page.Items = items
		if more {
			next, err := crm.EncodeCursor(keys[len(keys)-1], items[len(items)-1].ID)
			if err != nil {
				return err
			}
			page.NextCursor = &next
		}
		return nil
	})
	if err != nil {
		return crm.Page[Contact]{}, translate(err)
	}
	return page, nil
}

// ContactExportHeader is what an export needs before its first row.
type ContactExportHeader struct {
	CustomFieldKeys []string             // every key used by a matching contact, sorted
	LabelNames      map[uuid.UUID]string // every label of the tenant
}

// contactExportBatch is how many contacts an export reads per transaction;
// short transactions keep a slow download from holding a connection.
const contactExportBatch = 1000

// ExportContacts calls header once, then row for every contact matching f
// (the cursor and limit are ignored) in list order.
func (db *DB) ExportContacts(ctx context.Context, tenantID uuid.UUID, f ContactFilter,
	header func(ContactExportHeader) error, row func(Contact) error) error {
	h := ContactExportHeader{CustomFieldKeys: []string{}, LabelNames: map[uuid.UUID]string{}}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		args := []any{}
		where := contactWhere(tenantID, f, &args)
		rows, err := tx.Query(ctx, `SELECT DISTINCT k FROM contacts c, jsonb_object_keys(c.custom_fields) k WHERE `+
			where+` ORDER BY k`, args...)
		if err != nil {
			return err
		}
		if h.CustomFieldKeys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, name FROM labels WHERE tenant_id = $1`, tenantID)
		if err != nil {
			return err
		}
		var id uuid.UUID
		var name string
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { h.LabelNames[id] = name; return nil })
		return err
	})
	if err != nil {
		return translate(err)
	}
	if err := header(h); err != nil {
		return err
	}
	var after *string
	var afterID uuid.UUID
	for {
		var items []Contact
		var keys []string
		var more bool
		err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			var err error
			items, keys, more, err = listContacts(ctx, tx, tenantID, f, after, afterID, contactExportBatch)
			return err
		})
		if err != nil {
			return translate(err)
		}
		for _, c := range items {
			if err := row(c); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		last := keys[len(keys)-1]
		after, afterID = &last, items[len(items)-1].ID
	}
}
