package actors_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crm/actors"
	"crm/actors/storetest"
	"crm/persistence/pgtest"
)

// TestPostgresStore runs the store contract against PostgreSQL, under the
// tenant role and its row-level security as the grains use it.
func TestPostgresStore(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) storetest.Fixture {
		db := pgtest.NewDB(t)
		seed := func(slug string) storetest.Tenant {
			tenant, connection := seedTenant(t, db, slug)
			contact, _, err := db.ResolveContact(context.Background(), tenant, "whatsapp", "5511999990000", "Ana", "+5511999990000")
			require.NoError(t, err)
			return storetest.Tenant{ID: tenant, ConnectionID: connection, ContactID: contact}
		}
		return storetest.Fixture{Store: actors.PostgresStore(db), A: seed("store-a"), B: seed("store-b")}
	})
}
