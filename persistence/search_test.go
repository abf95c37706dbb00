package persistence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// addConversation makes a conversation of contact in the fixture's tenant.
func (f convFixture) addConversation(t testing.TB, contact uuid.UUID, assignee *uuid.UUID) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		c := &crm.Conversation{TenantID: f.tenant, ConnectionID: f.conn, ContactID: contact, Channel: "whatsapp", AssigneeID: assignee}
		err := persistence.InsertConversation(ctx, tx, c)
		id = c.ID
		return err
	}))
	return id
}

// addMessages stores messages of the given type and texts in a
// conversation, one second apart, the last one newest.
func (f convFixture) addMessages(t testing.TB, conversation uuid.UUID, typ string, texts ...string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var ids []uuid.UUID
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM messages WHERE tenant_id = $1 AND conversation_id = $2`,
			f.tenant, conversation).Scan(&seq); err != nil {
			return err
		}
		base := time.Now().Add(-time.Hour)
		for i, text := range texts {
			id := crm.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO messages (tenant_id, id, created_at, conversation_id, connection_id, contact_id, seq,
				direction, type, text, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'inbound', $8, $9, 'received')`,
				f.tenant, id, base.Add(time.Duration(seq+int64(i))*time.Second), conversation, f.conn, f.contact, seq+int64(i)+1, typ, text); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	}))
	return ids
}

func hitTexts(page crm.Page[persistence.MessageHit]) []string {
	out := []string{}
	for _, h := range page.Items {
		out = append(out, h.Message.Text)
	}
	return out
}

// Message search ignores accents and case, takes each word as a prefix,
// skips the timeline's system lines, and answers with the conversation to
// open.
func TestSearchMessagesIgnoresAccentsAndCase(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	conv := f.addConversation(t, f.contact, nil)
	f.addMessages(t, conv, "text", "Olá, quero saber do meu pedido", "A entrega em São Paulo atrasou", "JOÃO vai buscar amanhã")
	f.addMessages(t, conv, "system", "Conversa atribuída a São Paulo")
	all := crm.Visibility{All: true}
	search := func(q string) []string {
		t.Helper()
		page, err := f.db.SearchMessages(ctx, f.tenant, all, q, "", 10)
		require.NoError(t, err)
		return hitTexts(page)
	}
	require.Equal(t, []string{"A entrega em São Paulo atrasou"}, search("sao paulo"))
	require.Equal(t, []string{"A entrega em São Paulo atrasou"}, search("SÃO"))
	require.Equal(t, []string{"A entrega em São Paulo atrasou"}, search("entreg paul"), "every word a prefix")
	require.Equal(t, []string{"JOÃO vai buscar amanhã"}, search("joao amanha"))
	require.Equal(t, []string{"Olá, quero saber do meu pedido"}, search("ola"))
	require.Empty(t, search("paulo rio"), "every word must be there")
	require.Empty(t, search("atribuida"), "system lines are not searched")
	require.Empty(t, search("  !! "))
	require.Empty(t, search(`'\ & | :*`), "query syntax is text, not operators")

	page, err := f.db.SearchMessages(ctx, f.tenant, all, "entrega", "", 10)
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	hit := page.Items[0]
	require.Equal(t, conv, hit.Conversation.ID)
	require.Equal(t, conv, hit.Message.ConversationID)
	require.EqualValues(t, 2, hit.Message.Seq, "the seq the console opens the conversation at")
	require.Equal(t, "Maria", hit.Conversation.Contact.Name)
}

// One tenant never finds another's messages: not through the API's
// function, and not through search_tenant_messages called in another
// tenant's transaction or in none.
func TestSearchMessagesStaysInTheTenant(t *testing.T) {
	t.Parallel()
	a := newConvFixture(t)
	ctx := context.Background()
	b := convFixture{db: a.db, tenant: createTenant(t, a.db, "other"), conn: crm.NewID()}
	require.NoError(t, b.db.TenantTx(ctx, b.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'wa', 'whatsapp', 'sandbox', 'v', 's')`, b.tenant, b.conn)
		return err
	}))
	var err error
	b.contact, _, err = b.db.ResolveContact(ctx, b.tenant, "whatsapp", "5511900000001", "Beto", "+5511900000001")
	require.NoError(t, err)
	a.addMessages(t, a.addConversation(t, a.contact, nil), "text", "segredo comercial da empresa A")
	b.addMessages(t, b.addConversation(t, b.contact, nil), "text", "segredo comercial da empresa B")

	all := crm.Visibility{All: true}
	for _, f := range []convFixture{a, b} {
		page, err := f.db.SearchMessages(ctx, f.tenant, all, "segredo", "", 10)
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		require.Equal(t, f.tenant, page.Items[0].Message.TenantID)
		require.Equal(t, f.tenant, page.Items[0].Conversation.TenantID)
	}
	count := func(tenant uuid.UUID) (n int) {
		t.Helper()
		require.NoError(t, a.db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM search_tenant_messages(search_query('segredo empresa'), NULL, NULL, 100) s
				JOIN messages m ON m.id = s.id`).Scan(&n)
		}))
		return n
	}
	require.Equal(t, 1, count(a.tenant))
	require.Equal(t, 1, count(b.tenant))
	// A tenant role transaction with no tenant set finds nothing.
	require.NoError(t, a.db.TenantTx(ctx, a.tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', '', true)`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM search_tenant_messages(search_query('segredo'), NULL, NULL, 100)`).Scan(&n); err != nil {
			return err
		}
		require.Zero(t, n)
		return nil
	}))
}

// An agent finds messages only in the conversations they may see, and
// pages walk every hit once, newest first.
func TestSearchMessagesFollowsVisibilityAndPages(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	me, other := crm.NewID(), crm.NewID()
	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		for _, u := range []uuid.UUID{me, other} {
			if _, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, 'u', $3, 'x', 'AGENT')`,
				f.tenant, u, u.String()+"@x.test"); err != nil {
				return err
			}
		}
		return nil
	}))
	mine := f.addConversation(t, f.contact, &me)
	someone, _, err := f.db.ResolveContact(ctx, f.tenant, "whatsapp", "5511933334444", "Outro", "+5511933334444")
	require.NoError(t, err)
	theirs := f.addConversation(t, someone, &other)
	var texts []string
	for i := range 7 {
		texts = append(texts, fmt.Sprintf("boleto número %d", i))
	}
	f.addMessages(t, mine, "text", texts...)
	f.addMessages(t, theirs, "text", "boleto do outro agente")

	agent := crm.VisibilityFor(crm.Principal{UserID: me, Role: crm.RoleAgent}, nil)
	var got []string
	cursor := ""
	for range 20 {
		page, err := f.db.SearchMessages(ctx, f.tenant, agent, "boleto", cursor, 3)
		require.NoError(t, err)
		for _, h := range page.Items {
			require.Equal(t, mine, h.Conversation.ID, "only the agent's own conversation")
		}
		got = append(got, hitTexts(page)...)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	want := []string{}
	for i := 6; i >= 0; i-- {
		want = append(want, texts[i])
	}
	require.Equal(t, want, got, "newest first, each once")

	page, err := f.db.SearchMessages(ctx, f.tenant, crm.Visibility{All: true}, "boleto", "", 50)
	require.NoError(t, err)
	require.Len(t, page.Items, 8, "an admin sees both")
}

// Contacts and the conversation list match names and emails whatever the
// accents and case.
func TestContactAndConversationSearchIgnoreAccents(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	joao, _, err := f.db.ResolveContact(ctx, f.tenant, "whatsapp", "5511911112222", "João Conceição", "+5511911112222")
	require.NoError(t, err)
	conv := f.addConversation(t, joao, nil)
	for _, q := range []string{"joao", "JOÃO", "conceicao", "Joao Concei", "ÇÃO"} {
		contacts, err := f.db.ListContacts(ctx, f.tenant, persistence.ContactFilter{Q: q})
		require.NoError(t, err)
		require.Len(t, contacts.Items, 1, q)
		require.Equal(t, joao, contacts.Items[0].ID, q)
		convs, err := f.db.ListConversations(ctx, f.tenant, crm.Visibility{All: true}, persistence.ConversationFilter{Query: q})
		require.NoError(t, err)
		require.Len(t, convs.Items, 1, q)
		require.Equal(t, conv, convs.Items[0].ID, q)
	}
	contacts, err := f.db.ListContacts(ctx, f.tenant, persistence.ContactFilter{Q: "j%o"})
	require.NoError(t, err)
	require.Empty(t, contacts.Items, "LIKE metacharacters match literally")
}
