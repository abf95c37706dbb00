package actors

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Store is the database as the grains see it: a unit of work in one
// tenant's transaction, under its row-level security. The grains never see
// the driver; persistence implements it (PostgresStore) and
// actors/storetest.Exercise is the contract every implementation passes.
type Store interface {
	// InTenant runs fn in one transaction of the tenant, committed when fn
	// returns nil and rolled back otherwise.
	InTenant(ctx context.Context, tenant uuid.UUID, fn func(TenantStore) error) error
}

// TenantStore is what the grains do inside one tenant transaction. Every
// read and write is scoped to that tenant: another tenant's rows are not
// found.
type TenantStore interface {
	// CurrentConversation is the live (not archived) conversation of a
	// connection and contact, or nil.
	CurrentConversation(ctx context.Context, connectionID, contactID uuid.UUID) (*crm.Conversation, error)
	// ConversationByID is any conversation, archived ones too; crm's
	// not-found error when there is none.
	ConversationByID(ctx context.Context, id uuid.UUID) (*crm.Conversation, error)
	// InsertConversation stores a new conversation at version 1: crm's
	// conflict error when the contact already has a live one.
	InsertConversation(ctx context.Context, c *crm.Conversation) error
	// SaveConversation writes c fenced on its version and moves the version
	// on; persistence.ErrFenced when another write got there first.
	SaveConversation(ctx context.Context, c *crm.Conversation) error
	SetConversationLabels(ctx context.Context, conversationID uuid.UUID, labelIDs []uuid.UUID) error

	// InsertMessage stores m unless its external id (per connection) or
	// idempotency key is taken; then it writes nothing and returns the
	// message stored under it.
	InsertMessage(ctx context.Context, m *crm.Message) (existing *crm.Message, err error)
	// FindMessageByKey finds a message by "external" id (on a connection) or
	// "idempotency" key, or nil.
	FindMessageByKey(ctx context.Context, kind string, connectionID uuid.UUID, key string) (*crm.Message, error)
	MessageByID(ctx context.Context, id uuid.UUID) (*crm.Message, error)
	// UpdateOutbound records a send's outcome on its message.
	UpdateOutbound(ctx context.Context, m *crm.Message, externalID string, status crm.DeliveryStatus, sendErr json.RawMessage, at time.Time) (*crm.Message, error)
	SetMessageMediaID(ctx context.Context, messageID, mediaID uuid.UUID, mime string, size int64) (*crm.Message, error)
	MediaExists(ctx context.Context, id uuid.UUID) (bool, error)
	// ContactExternalID is the contact's id on a channel (the send's "to").
	ContactExternalID(ctx context.Context, contactID uuid.UUID, channel string) (string, error)

	// ApplyStatus moves an outbound message's delivery status forward, never
	// back; nil when no message has the external id yet (park the status),
	// and whether it changed.
	ApplyStatus(ctx context.Context, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) (*crm.Message, bool, error)
	ParkStatus(ctx context.Context, connectionID uuid.UUID, externalID string, status crm.DeliveryStatus, at time.Time, statusErr json.RawMessage) error
	TakeParkedStatuses(ctx context.Context, connectionID uuid.UUID, externalID string) ([]persistence.ParkedStatus, error)
	ApplyWatermark(ctx context.Context, connectionID uuid.UUID, channel, contactExternalID, messageExternalID string, status crm.DeliveryStatus, upTo time.Time) ([]*crm.Message, error)

	// AppendTenantEvents gives the events the tenant's next sequence
	// numbers, gap-free and in commit order: the sequence stays locked until
	// the transaction ends, so append last.
	AppendTenantEvents(ctx context.Context, events []crm.TenantEvent) error
	MarkInboxProcessed(ctx context.Context, inboxID uuid.UUID) error
	InsertNote(ctx context.Context, n *persistence.Note) error
	// RecordConnectionState stores a connection's health and returns the
	// connection as connection.updated shows it.
	RecordConnectionState(ctx context.Context, connectionID uuid.UUID, status, lastError string, at time.Time) (map[string]any, error)

	// BotFlowVersion is a published version's definition.
	BotFlowVersion(ctx context.Context, flowID uuid.UUID, version int) (crm.BotFlow, error)
	// LiveBotSession is the conversation's running chatbot session, or nil.
	LiveBotSession(ctx context.Context, conversationID uuid.UUID) (*crm.BotSession, error)
	// SaveBotSession inserts the session or writes its new state.
	SaveBotSession(ctx context.Context, s *crm.BotSession) error
	// BotContact is the contact as a flow reads it.
	BotContact(ctx context.Context, contactID uuid.UUID) (persistence.BotContact, error)
	// SetContactField writes name, email, phone or custom.<key>; false when
	// the value does not fit (skipped, not failed).
	SetContactField(ctx context.Context, contactID uuid.UUID, field, value string) (bool, error)
	// SetContactLabel adds or removes a contact's label; false when nothing
	// changed or the label is gone.
	SetContactLabel(ctx context.Context, contactID, labelID uuid.UUID, on bool) (bool, error)
	// SetContactOptOut records the contact's marketing consent with an
	// audit entry; false when it was already so.
	SetContactOptOut(ctx context.Context, contactID uuid.UUID, optedOut bool, reason string) (bool, error)
	// LinkCampaignRecipient records the message a campaign's recipient was
	// sent, with the message.
	LinkCampaignRecipient(ctx context.Context, campaignID, contactID, messageID, conversationID uuid.UUID) error
	// ClaimAgent picks the team's next agent for a queued conversation
	// (online, under the cap, in the mode's order) and holds their row
	// until the transaction ends; false when nobody can take one.
	ClaimAgent(ctx context.Context, teamID uuid.UUID, mode crm.AutoAssign, teamCap int) (uuid.UUID, bool, error)
	// RecordOutsideHoursReply notes the conversation's outside-hours reply
	// for the closed period that began at periodStart; false when it had
	// one in that period already.
	RecordOutsideHoursReply(ctx context.Context, conversationID uuid.UUID, periodStart time.Time) (bool, error)
	// ScheduleJob inserts a durable job that exists if and only if the
	// transaction commits, due at at.
	ScheduleJob(ctx context.Context, args persistence.JobArgs, at time.Time) error
}

// PostgresStore is Store on the PostgreSQL database.
func PostgresStore(db *persistence.DB) Store { return postgresStore{db} }

type postgresStore struct{ db *persistence.DB }

var _ TenantStore = (*persistence.Tx)(nil)

func (s postgresStore) InTenant(ctx context.Context, tenant uuid.UUID, fn func(TenantStore) error) error {
	return s.db.InTenant(ctx, tenant, func(tx *persistence.Tx) error { return fn(tx) })
}
