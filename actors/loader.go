package actors

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"crm"
	"crm/groupcommit"
	"crm/persistence"
)

// conversationLoader reads the conversations of activating grains in
// groups: a burst of first messages to many conversations (a node starting
// on a backlog, a campaign's replies) shares one read instead of one round
// trip each.
type conversationLoader struct {
	db    *persistence.DB
	log   *slog.Logger
	queue *groupcommit.Queue[*loadCall]
}

type loadCall = groupcommit.Call[persistence.ConversationKey, *crm.Conversation]

func newConversationLoader(db *persistence.DB, log *slog.Logger, maxBatch int, maxDelay time.Duration) *conversationLoader {
	l := &conversationLoader{db: db, log: log}
	l.queue = groupcommit.New(groupcommit.Config{MaxBatch: maxBatch, MaxDelay: maxDelay}, nil, l.flush)
	return l
}

// load answers with the live conversation of key, nil when there is none.
// An error (the batch failed, or the loader is closed) leaves the caller to
// load it alone.
func (l *conversationLoader) load(ctx context.Context, key persistence.ConversationKey) (*crm.Conversation, error) {
	return groupcommit.Do(ctx, l.queue, 0, key)
}

func (l *conversationLoader) close() { l.queue.Close() }

func (l *conversationLoader) flush(batch []*loadCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys := make([]persistence.ConversationKey, len(batch))
	for i, call := range batch {
		keys[i] = call.In
	}
	found, err := l.db.LoadConversations(ctx, keys)
	if err != nil {
		l.log.Info("conversations loaded one by one: their batch failed", "loads", len(batch), "error", err)
	}
	handed := map[persistence.ConversationKey]bool{}
	for _, call := range batch {
		c := found[call.In]
		if c != nil && handed[call.In] {
			// Two grains of one key (a duplicate activation) must not share
			// one struct.
			cp := *c
			cp.LabelIDs = slices.Clone(c.LabelIDs)
			c = &cp
		}
		handed[call.In] = true
		call.Answer(c, err)
	}
}
