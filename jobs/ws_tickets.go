package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"crm/persistence"
)

// WSTicketPurge deletes the single-use records of WebSocket tickets that have
// expired (a ticket lives 30 seconds; its record is only needed that long).
// It runs every ten minutes on one node; deleting what is already gone is a
// no-op, so a retry changes nothing.
type WSTicketPurge struct{}

// Kind names the job.
func (WSTicketPurge) Kind() string { return "ws_ticket_purge" }

type wsTicketPurgeWorker struct {
	river.WorkerDefaults[WSTicketPurge]
	db *persistence.DB
}

func (w *wsTicketPurgeWorker) Work(ctx context.Context, _ *river.Job[WSTicketPurge]) error {
	_, err := w.db.PurgeWSTickets(ctx, time.Now())
	return err
}
