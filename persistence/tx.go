package persistence

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Tx is one transaction of one tenant, under its row-level security: what
// the engine's grains do to conversations, messages and the tenant's events,
// without seeing pgx. The actors declare the interface it meets
// (actors.TenantStore); every method is the package function of the same
// name (or LoadConversationByID for ConversationByID) in this transaction
// and for its tenant.
type Tx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	jobs   JobInserter
}

// InTenant runs fn in a tenant transaction (DB.TenantTx), committed when fn
// returns nil.
func (db *DB) InTenant(ctx context.Context, tenantID uuid.UUID, fn func(*Tx) error) error {
	return db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return fn(&Tx{tx: tx, tenant: tenantID, jobs: db.jobs})
	})
}

func (t *Tx) CurrentConversation(ctx context.Context, connectionID, contactID uuid.UUID) (*crm.Conversation, error) {
	return CurrentConversation(ctx, t.tx, t.tenant, connectionID, contactID)
}

func (t *Tx) ConversationByID(ctx context.Context, id uuid.UUID) (*crm.Conversation, error) {
	return LoadConversationByID(ctx, t.tx, t.tenant, id)
}

func (t *Tx) InsertConversation(ctx context.Context, c *crm.Conversation) error {
	return InsertConversation(ctx, t.tx, c)
}

func (t *Tx) SaveConversation(ctx context.Context, c *crm.Conversation) error {
	return SaveConversation(ctx, t.tx, c)
}

func (t *Tx) SetConversationLabels(ctx context.Context, conversationID uuid.UUID, labelIDs []uuid.UUID) error {
	return SetConversationLabels(ctx, t.tx, t.tenant, conversationID, labelIDs)
}

func (t *Tx) InsertMessage(ctx context.Context, m *crm.Message) (existing *crm.Message, err error) {
	return InsertMessage(ctx, t.tx, m)
}

func (t *Tx) FindMessageByKey(ctx context.Context, kind string, connectionID uuid.UUID, key string) (*crm.Message, error) {
	return FindMessageByKey(ctx, t.tx, t.tenant, kind, connectionID, key)
}

func (t *Tx) MessageByID(ctx context.Context, id uuid.UUID) (*crm.Message, error) {
	return MessageByID(ctx, t.tx, t.tenant, id)
}

func (t *Tx) UpdateOutbound(ctx context.Context, m *crm.Message, externalID string, status crm.DeliveryStatus, sendErr json.RawMessage, at time.Time) (*crm.Message, error) {
	return UpdateOutbound(ctx, t.tx, m, externalID, status, sendErr, at)
}

func (t *Tx) SetMessageMediaID(ctx context.Context, messageID, mediaID uuid.UUID, mime string, size int64) (*crm.Message, error) {
	return SetMessageMediaID(ctx, t.tx, t.tenant, messageID, mediaID, mime, size)
}

func (t *Tx) MediaExists(ctx context.Context, id uuid.UUID) (bool, error) {
	return MediaExists(ctx, t.tx, t.tenant, id)
}

func (t *Tx) ContactExternalID(ctx context.Context, contactID uuid.UUID, channel string) (string, error) {
	return ContactExternalID(ctx, t.tx, t.tenant, contactID, channel)
}

func (t *Tx) ApplyStatus(ctx context.Context, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) (*crm.Message, bool, error) {
	return ApplyStatus(ctx, t.tx, t.tenant, connectionID, externalID, status, at, statusErr)
}

func (t *Tx) ParkStatus(ctx context.Context, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) error {
	return ParkStatus(ctx, t.tx, t.tenant, connectionID, externalID, status, at, statusErr)
}

func (t *Tx) TakeParkedStatuses(ctx context.Context, connectionID uuid.UUID, externalID string) ([]ParkedStatus, error) {
	return TakeParkedStatuses(ctx, t.tx, t.tenant, connectionID, externalID)
}

func (t *Tx) ApplyWatermark(ctx context.Context, connectionID uuid.UUID, channel, contactExternalID, messageExternalID string, status crm.DeliveryStatus, upTo time.Time) ([]*crm.Message, error) {
	return ApplyWatermark(ctx, t.tx, t.tenant, connectionID, channel, contactExternalID, messageExternalID, status, upTo)
}

func (t *Tx) AppendTenantEvents(ctx context.Context, events []crm.TenantEvent) error {
	return AppendTenantEvents(ctx, t.tx, t.tenant, events)
}

func (t *Tx) MarkInboxProcessed(ctx context.Context, id uuid.UUID) error {
	return MarkInboxProcessed(ctx, t.tx, t.tenant, id)
}

func (t *Tx) InsertNote(ctx context.Context, n *Note) error {
	return InsertNote(ctx, t.tx, t.tenant, n)
}

func (t *Tx) RecordConnectionState(ctx context.Context, connectionID uuid.UUID, status, lastError string, at time.Time) (map[string]any, error) {
	return RecordConnectionState(ctx, t.tx, t.tenant, connectionID, status, lastError, at)
}
