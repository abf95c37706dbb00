package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// ContactLookup asks for the contact behind a channel identity, as
// ResolveContact does; ResolveContacts answers many at once.
type ContactLookup struct {
	TenantID   uuid.UUID
	Channel    string
	ExternalID string
	Name       string
	Phone      string
	// ContactID is the answer.
	ContactID uuid.UUID
	// Created says the contact was made by this resolution (first sight):
	// it can have no conversation yet.
	Created bool
}

// ResolveContacts is ResolveContact for many identities of many tenants in
// one transaction of two pipelines (as crm_engine, app.tenant_ids set to the
// lookups' tenants): the identities and phones already known are read, then
// the missing contacts and identities are inserted and empty names filled.
// When anything does not add up (a concurrent first message from the same
// person took an identity or phone meanwhile) nothing is written and an
// error is returned: the caller resolves each lookup alone.
func (db *DB) ResolveContacts(ctx context.Context, lookups []*ContactLookup) error {
	if len(lookups) == 0 {
		return nil
	}
	if !db.EngineBatches() {
		return errors.New("batched contact resolution needs the crm_engine role")
	}
	type identity struct {
		tenant  uuid.UUID
		channel string
		key     string
	}
	// One entry per identity, in a fixed order (locks are taken in it).
	first := map[identity]*ContactLookup{}
	var uniq []*ContactLookup
	for _, l := range lookups {
		k := identity{l.TenantID, l.Channel, l.ExternalID}
		if first[k] == nil {
			first[k] = l
			uniq = append(uniq, l)
		}
	}
	sort.SliceStable(uniq, func(i, j int) bool {
		if c := bytes.Compare(uniq[i].TenantID[:], uniq[j].TenantID[:]); c != 0 {
			return c < 0
		}
		if uniq[i].Channel != uniq[j].Channel {
			return uniq[i].Channel < uniq[j].Channel
		}
		return uniq[i].ExternalID < uniq[j].ExternalID
	})
	var tenants []uuid.UUID
	for i, l := range uniq {
		if i == 0 || l.TenantID != uniq[i-1].TenantID {
			tenants = append(tenants, l.TenantID)
		}
	}

	n := len(uniq)
	ts, chans, keys, phones := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]string, n)
	for i, l := range uniq {
		ts[i], chans[i], keys[i], phones[i] = l.TenantID, l.Channel, l.ExternalID, l.Phone
	}
	// A known identity's contact, and a contact an agent created with the
	// phone; both read in the first pipeline.
	err := db.inEngineTx(ctx, tenants, map[string]string{"crm.allow_over_limit": "on"}, func(send func(*pgx.Batch) error) error {
		known := make([]uuid.UUID, n)   // by identity
		byPhone := make([]uuid.UUID, n) // a contact an agent created with the phone
		b := &pgx.Batch{}
		b.Queue(`SELECT u.pos, i.contact_id FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS u(t, ch, k, pos)
		JOIN contact_identities i ON i.tenant_id = u.t AND i.channel = u.ch AND i.external_id = u.k`,
			ts, chans, keys).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var pos int64
				var id uuid.UUID
				if err := rows.Scan(&pos, &id); err != nil {
					return err
				}
				known[pos-1] = id
			}
			return rows.Err()
		})
		b.Queue(`SELECT u.pos, c.id FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(t, p, pos)
		JOIN contacts c ON c.tenant_id = u.t AND c.phone = u.p WHERE u.p <> ''`,
			ts, phones).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var pos int64
				var id uuid.UUID
				if err := rows.Scan(&pos, &id); err != nil {
					return err
				}
				byPhone[pos-1] = id
			}
			return rows.Err()
		})
		if err := send(b); err != nil {
			return err
		}

		// New contacts (one per tenant and phone), new identities, names to fill.
		type phoneKey struct {
			tenant uuid.UUID
			phone  string
		}
		newByPhone := map[phoneKey]uuid.UUID{}
		var cT, cID []uuid.UUID
		var cName []string
		var cPhone []*string
		var iT, iID, iContact []uuid.UUID
		var iChan, iKey, iName []string
		var nT, nID []uuid.UUID
		var nName []string
		for i, l := range uniq {
			name := truncateRunes(l.Name, 200)
			if known[i] != uuid.Nil {
				l.ContactID = known[i]
				if name != "" {
					nT, nID, nName = append(nT, l.TenantID), append(nID, l.ContactID), append(nName, name)
				}
				continue
			}
			switch {
			case byPhone[i] != uuid.Nil:
				l.ContactID = byPhone[i]
			case l.Phone != "" && newByPhone[phoneKey{l.TenantID, l.Phone}] != uuid.Nil:
				l.ContactID = newByPhone[phoneKey{l.TenantID, l.Phone}]
			default:
				l.ContactID, l.Created = crm.NewID(), true
				var phone *string
				if l.Phone != "" {
					p := l.Phone
					phone = &p
					newByPhone[phoneKey{l.TenantID, l.Phone}] = l.ContactID
				}
				cT, cID, cName, cPhone = append(cT, l.TenantID), append(cID, l.ContactID), append(cName, name), append(cPhone, phone)
			}
			iT, iID, iContact = append(iT, l.TenantID), append(iID, crm.NewID()), append(iContact, l.ContactID)
			iChan, iKey, iName = append(iChan, l.Channel), append(iKey, l.ExternalID), append(iName, name)
		}
		b = &pgx.Batch{}
		if len(cT) > 0 {
			want := len(cT)
			b.Queue(`WITH ins AS (INSERT INTO contacts (tenant_id, id, name, phone)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
			ON CONFLICT (tenant_id, phone) DO NOTHING RETURNING 1) SELECT count(*) FROM ins`,
				cT, cID, cName, cPhone).QueryRow(func(row pgx.Row) error {
				var got int
				if err := row.Scan(&got); err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("%d of %d new contacts' phones taken meanwhile", want-got, want)
				}
				return nil
			})
		}
		if len(iT) > 0 {
			want := len(iT)
			b.Queue(`WITH ins AS (INSERT INTO contact_identities (tenant_id, id, contact_id, channel, external_id, display_name)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[])
			ON CONFLICT (tenant_id, channel, external_id) DO NOTHING RETURNING 1) SELECT count(*) FROM ins`,
				iT, iID, iContact, iChan, iKey, iName).QueryRow(func(row pgx.Row) error {
				var got int
				if err := row.Scan(&got); err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("%d of %d identities taken meanwhile", want-got, want)
				}
				return nil
			})
		}
		if len(nT) > 0 {
			b.Queue(`UPDATE contacts c SET name = u.name FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS u(t, id, name)
			WHERE c.tenant_id = u.t AND c.id = u.id AND c.name = ''`, nT, nID, nName)
		}
		if b.Len() == 0 {
			return nil
		}
		return send(b)
	})
	if err != nil {
		return err
	}
	for _, l := range lookups {
		f := first[identity{l.TenantID, l.Channel, l.ExternalID}]
		l.ContactID, l.Created = f.ContactID, f.Created
	}
	return nil
}
