package actors

import (
	"context"
	"log/slog"
	"slices"
	"time"

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
	queue *groupcommit.Queue[*loadRequest]
}

type loadRequest struct {
	key  persistence.ConversationKey
	conv *persistence.Conversation
	err  error
	done chan struct{}
}

func newConversationLoader(db *persistence.DB, log *slog.Logger, maxBatch int, maxDelay time.Duration) *conversationLoader {
	l := &conversationLoader{db: db, log: log}
	l.queue = groupcommit.New(groupcommit.Config{MaxBatch: maxBatch, MaxDelay: maxDelay}, nil, l.flush)
	return l
}

// load answers with the live conversation of key, nil when there is none.
// An error (the batch failed, or the loader is closed) leaves the caller to
// load it alone.
func (l *conversationLoader) load(ctx context.Context, key persistence.ConversationKey) (*persistence.Conversation, error) {
	req := &loadRequest{key: key, done: make(chan struct{})}
	if err := l.queue.Put(ctx, 0, req); err != nil {
		return nil, err
	}
	<-req.done
	return req.conv, req.err
}

func (l *conversationLoader) close() { l.queue.Close() }

func (l *conversationLoader) flush(batch []*loadRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys := make([]persistence.ConversationKey, len(batch))
	for i, req := range batch {
		keys[i] = req.key
	}
	found, err := l.db.LoadConversations(ctx, keys)
	if err != nil {
		l.log.Info("conversations loaded one by one: their batch failed", "loads", len(batch), "error", err)
	}
	handed := map[persistence.ConversationKey]bool{}
	for _, req := range batch {
		if err != nil {
			req.err = err
		} else if c := found[req.key]; c != nil {
			if handed[req.key] {
				// Two grains of one key (a duplicate activation) must not
				// share one struct.
				cp := *c
				cp.LabelIDs = slices.Clone(c.LabelIDs)
				c = &cp
			}
			handed[req.key] = true
			req.conv = c
		}
		close(req.done)
	}
}
