// Package actors holds the grains (tenant, connection, conversation) of the
// engine. Live delivery of their events to the consoles (sessions, the
// per-node gateway) is package realtime.
//
// The conversation grain decides everything about its conversation with
// plain functions beside it, testable without an actor system and given the
// time as an argument: applyInbound (sequence, unread count, 24-hour window,
// reopening), assign and changeStatus, on the domain's rules (the statuses,
// their transitions and the window are in package crm). It then stores the
// result fenced on the conversation's version, through the node's group
// commit (committer.go) for inbound messages or a transaction of its own for
// commands and sends, and pushes the events.
//
// The chatbot runs here too (bot_run.go): the flow engine is the pure
// bot.Step, and the grain carries out its actions in the same transaction
// as what moved the session (the customer's message, or the job ending a
// wait): the session row, the bot's messages stored pending, the contact's
// changes and the jobs of its next waits commit together or not at all. A
// tenant with active flows (or a conversation whose bot runs) has its
// messages stored through that transaction instead of the group commit;
// others never pay for the bot. bot_flows.go caches each tenant's flows.
//
// Handlers are idempotent because protoactor-go may deliver a request twice
// (RequestFuture retries): inbound events are deduplicated on the provider's
// message id, sends on their idempotency key, and a grain answers a retried
// inbound request from its memory of the last few.
package actors
