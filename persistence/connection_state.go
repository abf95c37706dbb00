package persistence

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// RecordConnectionState stores a connection's health (connected,
// disconnected, connecting, reconnecting, error), its last event time and
// last error, and returns the public view for the consoles.
func RecordConnectionState(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, status, lastError string, at time.Time) (map[string]any, error) {
	var name, channel, provider string
	err := tx.QueryRow(ctx, `UPDATE connections SET status = $3, last_event_at = $4,
		last_error = CASE WHEN $5 = '' THEN last_error ELSE $5 END,
		last_error_at = CASE WHEN $5 = '' THEN last_error_at ELSE $4 END
		WHERE tenant_id = $1 AND id = $2 RETURNING name, channel, provider`,
		tenantID, connectionID, status, at, lastError).Scan(&name, &channel, &provider)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crm.NotFound("connection")
	}
	if err != nil {
		return nil, translate(err)
	}
	return map[string]any{"id": connectionID, "name": name, "channel": channel, "provider": provider,
		"status": status, "last_error": lastError, "last_event_at": at}, nil
}
