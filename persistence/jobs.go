package persistence

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// JobArgs are one durable job's arguments: a JSON-encodable value whose Kind
// names the worker that runs it (the same shape as River's JobArgs, so the
// kinds of package jobs satisfy it). Args carry ids, never data: the worker
// reads what it needs in its own transaction when it runs.
type JobArgs interface{ Kind() string }

// JobOpts says when a job runs; the zero value means as soon as its
// transaction commits.
type JobOpts struct {
	RunAt time.Time
}

// JobInserter puts durable jobs into a transaction of ours: a row and the job
// that acts on it (a scheduled message and its send, an appointment and its
// reminder) commit together or not at all, and the job is not seen by any
// node before the commit. A job whose kind and unique key match one that is
// already waiting, running or done is skipped, not doubled.
//
// jobs.Client implements it with River's InsertTx. It is declared here,
// beside the stores that need it, so that pgx.Tx does not travel past
// persistence: a store takes a JobInserter and calls it inside its TenantTx or
// PlatformTx; the transaction goes from the store to River's driver and
// nowhere else, and callers above persistence never see it.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args JobArgs, opts JobOpts) error
}
