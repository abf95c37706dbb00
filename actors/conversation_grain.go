package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	json "github.com/goccy/go-json"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// conversationGrain serialises everything that happens to one conversation
// (identity tenant/connection/contact): inbound messages, echoes, agent
// sends, assignment and status. It caches the conversation row and writes it
// fenced on its version, so a duplicate activation elsewhere cannot corrupt
// it: the stale one gets ErrFenced, stops, and the caller retries on the owner.
type conversationGrain struct {
	engine                      *Engine
	identity                    string
	tenant, connection, contact uuid.UUID
	conv                        *crm.Conversation
	loaded                      bool
	// recent remembers the results of the last inbox events stored here: a
	// request retried after its first attempt timed out (the grain was
	// busy, not gone) is answered without touching the database.
	recent     [8]recentInbound
	recentNext int
}

type recentInbound struct {
	inbox  uuid.UUID
	result *crmpb.InboundEventResult
}

func (g *conversationGrain) remembered(inbox uuid.UUID) *crmpb.InboundEventResult {
	if inbox == uuid.Nil {
		return nil
	}
	for _, r := range g.recent {
		if r.inbox == inbox {
			return &crmpb.InboundEventResult{ConversationId: r.result.GetConversationId(), MessageId: r.result.GetMessageId(),
				Seq: r.result.GetSeq(), Duplicate: true}
		}
	}
	return nil
}

func (g *conversationGrain) remember(inbox uuid.UUID, res *crmpb.InboundEventResult) {
	if inbox == uuid.Nil || res.GetError() != nil {
		return
	}
	g.recent[g.recentNext] = recentInbound{inbox, res}
	g.recentNext = (g.recentNext + 1) % len(g.recent)
}

func (g *conversationGrain) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		g.identity = msg.Identity.Identity
		var err error
		if g.tenant, g.connection, g.contact, err = parseIdentity(g.identity); err != nil {
			g.engine.log.Error("conversation grain with a bad identity", "identity", g.identity)
			ctx.Stop(ctx.Self())
			return
		}
		g.engine.metrics.activations.WithLabelValues(KindConversation).Inc()
		ctx.SetReceiveTimeout(g.engine.cfg.PassivateAfter)
	case *actor.ReceiveTimeout:
		ctx.Poison(ctx.Self()) // passivate: the next request re-activates from the database
	case *crmpb.InboundEvent:
		res := g.inbound(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.SendMessage:
		res := g.send(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.Assign:
		res := g.command(uuid.Nil, func(c *crm.Conversation) (bool, *crmpb.ResultError) {
			changed, e := assign(c, msg)
			if c.AssigneeID != nil && c.BotActive {
				c.BotActive, changed = false, true // a person takes the conversation: the bot steps aside
			}
			return changed, e
		})
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.ChangeStatus:
		res := g.command(uuid.Nil, func(c *crm.Conversation) (bool, *crmpb.ResultError) {
			changed, e := changeStatus(c, msg.GetStatus(), g.engine.cfg.Now())
			if changed && c.BotActive && (c.Status == crm.ConversationResolved || c.Status == crm.ConversationArchived) {
				c.BotActive = false
			}
			return changed, e
		})
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.MarkRead:
		res := g.command(uuid.Nil, func(c *crm.Conversation) (bool, *crmpb.ResultError) {
			if c.UnreadCount == 0 {
				return false, nil
			}
			c.UnreadCount = 0
			return true, nil
		})
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.SetLabels:
		res := g.setLabels(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.BotInput:
		res := g.botInput(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.BotControl:
		res := g.botControl(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.AutoAssign:
		res := g.autoAssign(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	case *crmpb.CloseIdle:
		res := g.closeIdle(msg)
		ctx.Respond(res)
		g.stopIfFenced(ctx, res.GetError())
	}
}

func (g *conversationGrain) stopIfFenced(ctx actor.Context, e *crmpb.ResultError) {
	if e != nil && e.GetCode() == "fenced" {
		g.engine.log.Warn("stale conversation activation stopped", "identity", g.identity)
		ctx.Stop(ctx.Self())
	}
}

// current returns the live conversation, loading it on first use.
func (g *conversationGrain) current(ctx context.Context, tx TenantStore) (*crm.Conversation, error) {
	if !g.loaded {
		c, err := tx.CurrentConversation(ctx, g.connection, g.contact)
		if err != nil {
			return nil, err
		}
		g.conv, g.loaded = c, true
	}
	if g.conv == nil {
		return nil, nil
	}
	copy := *g.conv
	return &copy, nil
}

// write runs fn in a tenant transaction and, on success, keeps the
// conversation it returns and publishes the events.
func (g *conversationGrain) write(fn func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var conv *crm.Conversation
	var events []crm.TenantEvent
	err := g.engine.store.InTenant(ctx, g.tenant, func(tx TenantStore) error {
		var err error
		conv, events, err = fn(ctx, tx)
		return err
	})
	if err != nil {
		g.loaded = false // reload next time: the cache may be ahead of the rolled-back state
		return err
	}
	if conv != nil {
		g.conv, g.loaded = conv, true
	}
	g.engine.publish(g.tenant, events)
	return nil
}

// resultError is a grain's answer for err. It is retryable only when
// asking again may succeed (a fenced activation stopped itself, a deadlock
// or serialization failure, a connection lost before sending): an unknown
// error is answered as it is, not retried as if it were transient.
func resultError(err error) *crmpb.ResultError {
	var coded *crm.Error
	switch {
	case errors.Is(err, persistence.ErrFenced):
		return &crmpb.ResultError{Code: "fenced", Message: err.Error(), Retryable: true}
	case errors.As(err, &coded):
		return &crmpb.ResultError{Code: coded.Code, Message: coded.Message, Retryable: persistence.Transient(coded)}
	}
	return &crmpb.ResultError{Code: "internal", Message: err.Error(), Retryable: persistence.Transient(err)}
}

func conversationEvent(typ string, c *crm.Conversation) (crm.TenantEvent, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding %s of conversation %s: %w", typ, c.ID, err)
	}
	id := c.ID
	return crm.TenantEvent{Type: typ, ConversationID: &id, AssigneeID: c.AssigneeID, TeamID: c.TeamID, Payload: payload}, nil
}

func messageEvent(typ string, c *crm.Conversation, m *crm.Message) (crm.TenantEvent, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding %s of message %s: %w", typ, m.ID, err)
	}
	id := c.ID
	return crm.TenantEvent{Type: typ, ConversationID: &id, AssigneeID: c.AssigneeID, TeamID: c.TeamID, Payload: payload}, nil
}

// messageWithConversation is message.created's payload: the message, and
// under "conversation" the conversation's state with the message applied.
type messageWithConversation struct {
	*crm.Message
	Conversation *crm.Conversation `json:"conversation"`
}

// messageCreated is the one event of a message stored in an existing
// conversation: the conversation's new state (preview, unread count, status)
// rides in the same event, so a message costs one tenant event row and one
// frame per console instead of a message.created and a conversation.updated.
func messageCreated(c *crm.Conversation, m *crm.Message) (crm.TenantEvent, error) {
	payload, err := json.Marshal(messageWithConversation{Message: m, Conversation: c})
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding message.created of message %s: %w", m.ID, err)
	}
	id := c.ID
	return crm.TenantEvent{Type: "message.created", ConversationID: &id, AssigneeID: c.AssigneeID, TeamID: c.TeamID, Payload: payload}, nil
}

// appendEvents gives the events their tenant sequence numbers.
func appendEvents(ctx context.Context, tx TenantStore, events []crm.TenantEvent) error {
	return tx.AppendTenantEvents(ctx, events)
}

// saveOrInsert persists the conversation: fenced update, or insert when new.
// A live conversation created meanwhile by another activation is a fence too.
func saveOrInsert(ctx context.Context, tx TenantStore, c *crm.Conversation, isNew bool) error {
	if !isNew {
		return tx.SaveConversation(ctx, c)
	}
	if err := tx.InsertConversation(ctx, c); err != nil {
		var coded *crm.Error
		if errors.As(err, &coded) && errors.Is(coded.Kind, crm.ErrConflict) {
			return persistence.ErrFenced
		}
		return err
	}
	return nil
}

// inboundMessage builds the message an event carries and when it happened.
func inboundMessage(ev *crmpb.ChannelEvent, m *crm.Message, now time.Time) (time.Time, error) {
	occurred := now
	if ts := ev.GetTimestampMs(); ts > 0 {
		occurred = time.UnixMilli(ts).UTC()
	}
	switch body := ev.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage:
		m.Direction, m.Status = "inbound", crm.DeliveryReceived
		fillMessage(m, body.InboundMessage.GetMessage())
	case *crmpb.ChannelEvent_OutboundEcho:
		m.Direction, m.Status, m.Via = "outbound", crm.DeliverySent, "phone"
		fillMessage(m, body.OutboundEcho.GetMessage())
		m.SentAt = &occurred
	case *crmpb.ChannelEvent_Reaction:
		r := body.Reaction
		m.Direction, m.Status, m.Type = "inbound", crm.DeliveryReceived, "reaction"
		m.Reaction = rawJSON(map[string]any{"target_external_id": r.GetTargetExternalId(), "emoji": r.GetEmoji(), "removed": r.GetRemoved()})
		key := ev.GetDedupeKey()
		m.ExternalID = &key
	default:
		return occurred, errors.New("not a conversation event")
	}
	return occurred, nil
}

// openFor returns the conversation m goes to: a copy of the live one, or a
// new one when there is none (or it was archived).
// A new one joins the connection's default team (tb's routing; nil: none).
func (g *conversationGrain) openFor(live *crm.Conversation, channel crmpb.Channel, tb *tenantBots) (*crm.Conversation, bool) {
	if live == nil || live.Status == crm.ConversationArchived {
		return &crm.Conversation{ID: crm.NewID(), TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact,
			Channel: ChannelName(channel), Status: crm.ConversationOpen, TeamID: tb.defaultTeam(g.connection)}, true
	}
	c := *live
	return &c, false
}

// applyInbound moves the conversation past message m: its sequence, last
// message, unread count, the 24-hour window and a reopening.
func applyInbound(conv *crm.Conversation, m *crm.Message, occurred, now time.Time) {
	conv.LastSeq++
	m.Seq, m.ConversationID = conv.LastSeq, conv.ID
	conv.LastMessageAt, conv.LastActivityAt = &now, now
	conv.LastMessagePreview, conv.LastMessageDirection = preview(m), m.Direction
	if m.Direction != "inbound" {
		return
	}
	conv.UnreadCount++
	conv.LastInboundAt = &occurred
	conv.ExtendWindow(occurred)
	if conv.Status == crm.ConversationResolved {
		conv.ResolvedAt = nil // reopened
	}
	conv.Status = conv.Status.AfterInbound(conv.AssigneeID != nil)
}

// applyOutbound moves the conversation past a message sent from our side
// (an agent's or the bot's, stored before the provider is called): its
// sequence, last message, unread count (a reply reads the conversation), the
// first response of a person, and the status a reply leaves. The 24-hour
// window is the customer's to open: a reply leaves it as it is. Echoes of
// messages sent from the phone are inbound events: see applyInbound.
func applyOutbound(conv *crm.Conversation, m *crm.Message, now time.Time) {
	conv.LastSeq++
	m.Seq = conv.LastSeq
	conv.LastMessageAt, conv.LastActivityAt = &now, now
	conv.LastMessagePreview, conv.LastMessageDirection = preview(m), "outbound"
	conv.UnreadCount = 0
	if conv.FirstResponseAt == nil && m.SentBy != nil {
		conv.FirstResponseAt = &now
	}
	if next := conv.Status.AfterReply(); next != conv.Status {
		conv.Status, conv.ResolvedAt = next, nil
	}
}

// applyBotOutbound moves the conversation past a chatbot's message: its
// sequence and last message. No person has answered, so the unread count,
// the first response and the status stay as they were.
func applyBotOutbound(conv *crm.Conversation, m *crm.Message, now time.Time) {
	conv.LastSeq++
	m.Seq = conv.LastSeq
	conv.LastMessageAt, conv.LastActivityAt = &now, now
	conv.LastMessagePreview, conv.LastMessageDirection = preview(m), "outbound"
}

// inboundEvents are the tenant events of an inbound message: a new
// conversation is announced first (conversation.created), then the message
// carries the conversation's state.
func inboundEvents(conv *crm.Conversation, m *crm.Message, isNew bool) ([]crm.TenantEvent, error) {
	created, err := messageCreated(conv, m)
	if err != nil {
		return nil, err
	}
	if !isNew {
		return []crm.TenantEvent{created}, nil
	}
	opened, err := conversationEvent("conversation.created", conv)
	if err != nil {
		return nil, err
	}
	return []crm.TenantEvent{opened, created}, nil
}

func (g *conversationGrain) inbound(req *crmpb.InboundEvent) *crmpb.InboundEventResult {
	var inbox uuid.UUID // none: the event has no inbox row to mark
	if id := req.GetInboxEventId(); id != "" {
		var err error
		if inbox, err = uuid.Parse(id); err != nil {
			return &crmpb.InboundEventResult{Error: &crmpb.ResultError{Code: "invalid_input", Message: "inbox event id: " + err.Error()}}
		}
	}
	if res := g.remembered(inbox); res != nil {
		return res
	}
	res, ok := g.inboundBatched(req, inbox)
	if !ok {
		res = g.inboundAlone(req, inbox)
	}
	g.remember(inbox, res)
	return res
}

// inboundBatched stores an inbound message or reaction through the engine's
// group commit (one transaction for many conversations). It answers false
// when the event is not for that path (echoes, which may settle parked
// statuses) or its batch failed for a reason not its own (a duplicate, a
// conflict): inboundAlone then stores it with its own checks.
func (g *conversationGrain) inboundBatched(req *crmpb.InboundEvent, inboxID uuid.UUID) (*crmpb.InboundEventResult, bool) {
	if g.engine.committer == nil {
		return nil, false
	}
	ev := req.GetEvent()
	switch ev.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage, *crmpb.ChannelEvent_Reaction:
	default:
		return nil, false
	}
	now := g.engine.cfg.Now().UTC()
	m := &crm.Message{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact, CreatedAt: now}
	occurred, err := inboundMessage(ev, m, now)
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !g.loaded && req.GetNewContact() {
		g.conv, g.loaded = nil, true // first sight of this person: no conversation to load
	}
	if !g.loaded {
		c, err := g.engine.loader.load(ctx, persistence.ConversationKey{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact})
		if err != nil {
			if c, err = g.engine.db.LoadConversation(ctx, g.tenant, g.connection, g.contact); err != nil {
				return nil, false
			}
		}
		g.conv, g.loaded = c, true
	}
	tb, err := g.engine.bots.tenant(ctx, g.tenant)
	if err != nil {
		return nil, false // the own transaction's preparation reports (and retries) it
	}
	if g.needsOwnTransaction(tb, g.conv, ev) {
		return nil, false // the bot's step, the opt-out, a reminder's answer or the outside-hours reply goes in the message's own transaction
	}
	conv, isNew := g.openFor(g.conv, ev.GetChannel(), tb)
	applyInbound(conv, m, occurred, now)
	w := &persistence.InboundWrite{Conv: conv, IsNew: isNew, Message: m, InboxID: inboxID,
		Events: func() ([]crm.TenantEvent, error) { return inboundEvents(conv, m, isNew) }}
	if err := g.engine.committer.write(ctx, w); err != nil {
		g.loaded = false // reload: another activation may have written
		if errors.Is(err, persistence.ErrFenced) {
			return &crmpb.InboundEventResult{Error: resultError(err)}, true
		}
		return nil, false
	}
	g.conv = conv
	g.engine.publish(g.tenant, w.Stored)
	if m.Media != nil {
		go g.engine.fetchInboundMedia(g.tenant, g.connection, m)
	}
	return &crmpb.InboundEventResult{ConversationId: conv.ID.String(), MessageId: m.ID.String(), Seq: m.Seq, NewConversation: isNew}, true
}

// inboundAlone stores one event in its own transaction, checking first that
// its message is not stored already.
func (g *conversationGrain) inboundAlone(req *crmpb.InboundEvent, inboxID uuid.UUID) *crmpb.InboundEventResult {
	res := &crmpb.InboundEventResult{}
	ev := req.GetEvent()
	now := g.engine.cfg.Now().UTC()
	var stored *crm.Message
	var sends []*crmpb.SendRequest
	var prep *botPrep // resolved before the transaction: nothing in it may wait for another pool connection
	tb, err := g.engine.bots.tenant(context.Background(), g.tenant)
	if err != nil {
		return &crmpb.InboundEventResult{Error: resultError(err)}
	}
	if _, message := ev.GetEvent().(*crmpb.ChannelEvent_InboundMessage); message {
		if prep, err = g.prepareBot(context.Background()); err != nil {
			return &crmpb.InboundEventResult{Error: resultError(err)}
		}
	}
	err = g.write(func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error) {
		m := &crm.Message{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact, CreatedAt: now}
		occurred, err := inboundMessage(ev, m, now)
		if err != nil {
			return nil, nil, err
		}
		if m.ExternalID != nil {
			existing, err := tx.FindMessageByKey(ctx, "external", g.connection, *m.ExternalID)
			if err != nil {
				return nil, nil, err
			}
			if existing != nil {
				res.Duplicate, res.MessageId, res.Seq = true, existing.ID.String(), existing.Seq
				return nil, nil, markInbox(ctx, tx, inboxID)
			}
		}
		live, err := g.current(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		conv, isNew := g.openFor(live, ev.GetChannel(), tb)
		if m.ReplyToExternalID != "" {
			if target, err := tx.FindMessageByKey(ctx, "external", g.connection, m.ReplyToExternalID); err != nil {
				return nil, nil, err
			} else if target != nil {
				m.ReplyToID = &target.ID
			}
		}
		applyInbound(conv, m, occurred, now)
		if err := saveOrInsert(ctx, tx, conv, isNew); err != nil {
			return nil, nil, err
		}
		if existing, err := tx.InsertMessage(ctx, m); err != nil {
			return nil, nil, err
		} else if existing != nil {
			// Stored meanwhile by a duplicate activation: roll back ours.
			return nil, nil, persistence.ErrFenced
		}
		if m.Direction == "outbound" && m.ExternalID != nil {
			if err := applyParkedTo(ctx, tx, g.connection, *m.ExternalID); err != nil {
				return nil, nil, err
			}
		}
		if err := markInbox(ctx, tx, inboxID); err != nil {
			return nil, nil, err
		}
		events, err := inboundEvents(conv, m, isNew)
		if err != nil {
			return nil, nil, err
		}
		if m.Direction == "inbound" && prep != nil && (botMayRun(conv, prep) || optingOut(ev, prep)) {
			before := *conv
			var turn *botTurn
			if optingOut(ev, prep) {
				turn, err = g.optOut(ctx, tx, conv, now, prep)
			} else {
				turn, err = g.botOnInbound(ctx, tx, conv, ev, isNew, now, prep)
			}
			if err != nil {
				return nil, nil, err
			}
			if turn != nil || conv.BotActive != before.BotActive {
				if turn == nil {
					turn = &botTurn{convChanged: true}
				}
				more, err := finishBotTurn(ctx, tx, conv, &before, turn)
				if err != nil {
					return nil, nil, err
				}
				events, sends = append(events, more...), turn.sends
			}
		}
		if confirm, answer := appointmentAnswer(ev); answer && m.Direction == "inbound" && prep != nil && !conv.BotActive && prep.tb.state.Features.Agenda {
			turn, err := g.answerAppointment(ctx, tx, conv, confirm, now)
			if err != nil {
				return nil, nil, err
			}
			if turn != nil {
				if err := tx.SaveConversation(ctx, conv); err != nil {
					return nil, nil, err
				}
				events, sends = append(events, turn.events...), append(sends, turn.sends...)
			}
		}
		if m.Direction == "inbound" && prep != nil && !conv.BotActive {
			if period, closed := prep.tb.outsideHours(conv, g.connection, now); closed {
				turn, err := g.outsideHoursReply(ctx, tx, conv, period, now, prep.tb)
				if err != nil {
					return nil, nil, err
				}
				if turn != nil {
					if err := tx.SaveConversation(ctx, conv); err != nil {
						return nil, nil, err
					}
					events, sends = append(events, turn.events...), append(sends, turn.sends...)
				}
			}
		}
		// Last: appending takes the tenant's sequence lock, held until commit.
		if err := appendEvents(ctx, tx, events); err != nil {
			return nil, nil, err
		}
		res.ConversationId, res.MessageId, res.Seq, res.NewConversation = conv.ID.String(), m.ID.String(), m.Seq, isNew
		stored = m
		return conv, events, nil
	})
	if err != nil {
		res.Error = resultError(err)
	} else if stored != nil && stored.Media != nil {
		go g.engine.fetchInboundMedia(g.tenant, g.connection, stored)
	}
	if err == nil {
		g.engine.handInOrder(sends)
	}
	return res
}

func markInbox(ctx context.Context, tx TenantStore, inboxID uuid.UUID) error {
	if inboxID == uuid.Nil {
		return nil
	}
	return tx.MarkInboxProcessed(ctx, inboxID)
}

// command applies a change to a conversation and records it: to the live
// one, or with a target to that conversation, which may be an older,
// archived one of the same contact (no activation keeps those, so it is
// changed here without becoming the grain's).
func (g *conversationGrain) command(target uuid.UUID, change func(*crm.Conversation) (bool, *crmpb.ResultError)) *crmpb.CommandResult {
	return g.commandTx(target, func(_ context.Context, _ TenantStore, c *crm.Conversation, _ *botTurn) (bool, *crmpb.ResultError, error) {
		changed, e := change(c)
		return changed, e, nil
	})
}

// commandTx is command with a change that reads or writes in the
// transaction: it may store messages, whose events and sends it adds to
// turn (sent once committed).
func (g *conversationGrain) commandTx(target uuid.UUID, change func(context.Context, TenantStore, *crm.Conversation, *botTurn) (bool, *crmpb.ResultError, error)) *crmpb.CommandResult {
	res := &crmpb.CommandResult{}
	turn := &botTurn{}
	var cmdErr *crmpb.ResultError
	var older *crm.Conversation
	err := g.write(func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error) {
		conv, err := g.current(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		kept := conv != nil && (target == uuid.Nil || conv.ID == target)
		if !kept && target != uuid.Nil {
			if conv, err = tx.ConversationByID(ctx, target); err != nil {
				return nil, nil, err
			}
			if conv.ConnectionID != g.connection || conv.ContactID != g.contact {
				return nil, nil, crm.NotFound("conversation")
			}
		}
		if conv == nil {
			return nil, nil, crm.NotFound("conversation")
		}
		keep := func(c *crm.Conversation) *crm.Conversation {
			if kept {
				return c
			}
			older = c
			return nil
		}
		before := *conv
		turn.events, turn.sends = nil, nil // a retried transaction starts again
		changed, e, err := change(ctx, tx, conv, turn)
		if err != nil {
			return nil, nil, err
		}
		if e != nil {
			cmdErr = e
			return nil, nil, errors.New(e.GetMessage())
		}
		res.ConversationId, res.Changed = conv.ID.String(), changed
		if !changed {
			return keep(conv), nil, nil
		}
		if conv.UnreadCount == before.UnreadCount && slices.Equal(conv.LabelIDs, before.LabelIDs) ||
			conv.Status != before.Status || !sameID(conv.AssigneeID, before.AssigneeID) {
			// Activity moves the conversation up; reading or labelling it does not.
			conv.LastActivityAt = g.engine.cfg.Now().UTC()
		}
		if before.BotActive && !conv.BotActive {
			if err := g.endBot(ctx, tx, conv, botStopped, g.engine.cfg.Now().UTC()); err != nil {
				return nil, nil, err
			}
		}
		if err := tx.SaveConversation(ctx, conv); err != nil {
			return nil, nil, err
		}
		if !slices.Equal(conv.LabelIDs, before.LabelIDs) {
			if err := tx.SetConversationLabels(ctx, conv.ID, conv.LabelIDs); err != nil {
				return nil, nil, err
			}
		}
		updated, err := conversationEvent("conversation.updated", conv)
		if err != nil {
			return nil, nil, err
		}
		events := append(turn.events, updated)
		if !sameID(conv.AssigneeID, before.AssigneeID) || !sameID(conv.TeamID, before.TeamID) {
			// A transfer: those who could see it before get the update too,
			// so their consoles drop it from their lists.
			previous := updated
			previous.AssigneeID, previous.TeamID = before.AssigneeID, before.TeamID
			events = append(events, previous)
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return nil, nil, err
		}
		return keep(conv), events, nil
	})
	switch {
	case cmdErr != nil:
		res.Error = cmdErr
	case err != nil:
		res.Error = resultError(err)
	default:
		g.engine.handInOrder(turn.sends)
	}
	shown := g.conv
	if older != nil {
		shown = older
	}
	if shown != nil {
		res.Status = statusToProto(shown.Status)
		res.Unread = int32(shown.UnreadCount)
		if shown.AssigneeID != nil {
			res.AssigneeId = shown.AssigneeID.String()
		}
		if shown.TeamID != nil {
			res.TeamId = shown.TeamID.String()
		}
	}
	return res
}

// setLabels replaces a conversation's labels. They change here, not beside
// the grain: its cached conversation rides in every message.created, and a
// write it did not make would leave that copy stale.
func (g *conversationGrain) setLabels(req *crmpb.SetLabels) *crmpb.CommandResult {
	target, err := uuid.Parse(req.GetConversationId())
	if err != nil {
		return &crmpb.CommandResult{Error: errorf("invalid_input", "conversation id is not a UUID")}
	}
	labels := make([]uuid.UUID, 0, len(req.GetLabelIds()))
	for _, raw := range req.GetLabelIds() {
		id, err := uuid.Parse(raw)
		if err != nil {
			return &crmpb.CommandResult{Error: errorf("invalid_input", "label id %q is not a UUID", raw)}
		}
		labels = append(labels, id)
	}
	// Held as the database reads them back: each once, in uuid order.
	slices.SortFunc(labels, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	labels = slices.Compact(labels)
	return g.command(target, func(c *crm.Conversation) (bool, *crmpb.ResultError) {
		if slices.Equal(c.LabelIDs, labels) {
			return false, nil
		}
		c.LabelIDs = labels
		return true, nil
	})
}

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func assign(c *crm.Conversation, a *crmpb.Assign) (bool, *crmpb.ResultError) {
	changed := false
	if a.GetUnassign() {
		if c.AssigneeID != nil {
			c.AssigneeID, changed = nil, true
			c.Status = c.Status.AfterAssign(false)
		}
	} else if a.GetAssigneeId() != "" {
		id, err := uuid.Parse(a.GetAssigneeId())
		if err != nil {
			return false, errorf("invalid_assignee", "assignee id is not a UUID")
		}
		if !sameID(c.AssigneeID, &id) {
			c.AssigneeID, changed = &id, true
			c.Status = c.Status.AfterAssign(true)
		}
	}
	if a.GetClearTeam() {
		if c.TeamID != nil {
			c.TeamID, changed = nil, true
		}
	} else if a.GetTeamId() != "" {
		id, err := uuid.Parse(a.GetTeamId())
		if err != nil {
			return false, errorf("invalid_team", "team id is not a UUID")
		}
		if !sameID(c.TeamID, &id) {
			c.TeamID, changed = &id, true
		}
	}
	return changed, nil
}

func changeStatus(c *crm.Conversation, to crmpb.ConversationStatus, now time.Time) (bool, *crmpb.ResultError) {
	from, err := crm.ParseConversationStatus(string(c.Status))
	if err != nil {
		return false, errorf("invalid_status", "%v", err)
	}
	target := statusFromProto(to)
	if target == from {
		return false, nil
	}
	if !from.CanTransition(target) {
		return false, &crmpb.ResultError{Code: "invalid_transition", Message: "a " + string(from) + " conversation cannot become " + string(target)}
	}
	c.Status = target
	if target == crm.ConversationResolved {
		c.ResolvedAt = &now
	} else {
		c.ResolvedAt = nil
	}
	return true, nil
}
