package jobs

import (
	"time"

	"github.com/riverqueue/river"

	"crm/persistence"
)

// Kind is one kind of durable job: the worker that runs it and how its jobs
// are inserted. Kinds are built in this package (builtinKinds); a Client
// registers each once.
type Kind struct {
	name string
	add  func(*river.Workers) error
	opts river.InsertOpts
	// every > 0 makes the kind periodic: the leader node inserts
	// periodicArgs() every so often, and once when it is elected.
	every        time.Duration
	periodicArgs func() river.JobArgs
}

// newKind makes a kind of w's args. Its jobs are unique by their args: args
// hold the key of one occurrence of the work (a scheduled message's id, a
// bot run and its node), never data, so inserting the same job again while
// the first waits, runs or is done keeps the first. Retries still run a job
// more than once (a node dies mid-job): its work is idempotent by that key.
func newKind[T river.JobArgs](w river.Worker[T]) Kind {
	var args T
	return Kind{
		name: args.Kind(),
		add:  func(ws *river.Workers) error { return river.AddWorkerSafely(ws, w) },
		opts: river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}},
	}
}

// periodicKind makes a kind that runs every period, cluster-wide (not on
// each node): one job per period, however many leaders come and go in it.
func periodicKind[T river.JobArgs](w river.Worker[T], every time.Duration) Kind {
	var args T
	return Kind{
		name:         args.Kind(),
		add:          func(ws *river.Workers) error { return river.AddWorkerSafely(ws, w) },
		opts:         river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}},
		every:        every,
		periodicArgs: func() river.JobArgs { return args },
	}
}

// builtinKinds are the kinds every node runs; the chatbot's (bot.go:
// bot_wake for delays and answer times, bot_webhook for webhook nodes) are
// added when the node has an engine (Config.Bots).
func builtinKinds(db *persistence.DB) []Kind {
	return []Kind{
		periodicKind[MessagePartitions](&messagePartitionsWorker{db: db}, 24*time.Hour),
		periodicKind[WSTicketPurge](&wsTicketPurgeWorker{db: db}, 10*time.Minute),
		periodicKind[RateCounterPurge](&rateCounterPurgeWorker{db: db}, 10*time.Minute),
	}
}
