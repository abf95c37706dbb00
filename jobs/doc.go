// Package jobs is the one mechanism for work that must happen later or on a
// schedule: a bot's delay node, a scheduled message, a campaign's start, an
// appointment reminder, auto-close of idle conversations, report roll-ups,
// backups, message partitions, outbound webhooks (webhooks.go: a periodic
// fan-out and one job per delivery, retried for about a day). It is River (github.com/riverqueue/river) on
// the same PostgreSQL: a job is a row in river_job, so it is as durable as
// the data it acts on, and needs no other server.
//
// # The rule: jobs wake grains, grains decide, idempotently
//
// A job carries ids, not data, and does not act on its own authority. Its
// worker reads what it needs and asks the owner of the effect to do it: a bot
// delay wakes its conversation grain, a campaign tick its campaign grain, a
// reminder the conversation with the contact. The grain checks that the work
// is still due (the message not cancelled, the conversation still idle) and
// does it, once. A job that sends a message goes through the conversation and
// connection grains like an agent's send, never around them (the 24-hour
// window, the send rate, the fencing all live there). Work on tenant data
// runs in the tenant's scoped transaction (persistence.DB.TenantTx), under
// row-level security, like a request would.
//
// A job can run more than once: River retries a job whose worker failed, and
// runs again a job whose node died mid-way, after RescueAfter. So each kind's
// work is idempotent by the key in its args (a unique row, a status that only
// moves forward), and each kind is unique by its args, so inserting the same
// job twice keeps one.
//
// # Inserting a job with its row
//
// A row that needs a job (a scheduled message and its send) is inserted in
// the same transaction as the job: both commit or neither does, and no node
// sees the job before the row. persistence declares JobInserter for this and
// its stores call it inside their TenantTx; Client implements it with River's
// InsertTx, so the transaction itself never leaves persistence and River. The
// tenant roles may insert into river_job (migrations/river.go) and nothing
// else of River's.
//
// River's own tables are not tenant tables: the client runs on a pool of its
// own on DATABASE_URL. Its schema is created by River's migrator from `crm
// migrate` and at node start, after ours (migrations.Apply).
//
// # Adding a kind
//
//  1. An args type with a Kind method, holding the key of one occurrence of
//     the work (ids, fields tagged `river:"unique"` when only some make the
//     key). An args type that a persistence store inserts lives where the
//     store can name it (persistence or the root package); the worker lives
//     here.
//  2. A worker: river.WorkerDefaults[Args] and a Work method that does the
//     above, returning an error to be retried.
//  3. A line in builtinKinds: newKind(worker), or periodicKind(worker,
//     period) for work that runs on a schedule, once per period cluster-wide.
//
// # Timing
//
// A job due now runs at once after its commit (River's LISTEN/NOTIFY wakes a
// node). A job due later is made runnable by the leader node's
// scheduler up to 5 s before its time (a pass every 5 s, looking one pass
// ahead), and a node's fetch, which asks only for jobs already due, takes it
// on its next poll (every 250 ms): it runs within about 0.3 s after its
// time, never before (TestScheduledJobRunsOnceOnTime).
package jobs
