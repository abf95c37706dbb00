package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/uuid"

	"crm"
	"crm/actors/bot"
	"crm/channels"
	"crm/persistence"
	crmpb "crm/proto"
)

// The chatbot runs inside the conversation grain. A flow's step (bot.Step,
// pure) runs in the same tenant transaction as what moves it: the customer's
// message it answers, or the job that ends a wait. Its session, its messages
// (stored pending, like an agent's), its contact changes and the jobs of its
// next waits commit together with that, or not at all. So a redelivered
// webhook finds its message stored and runs no step; a grain that fails over
// or a node killed mid-step leaves either the whole step or none of it; and
// the sends, pending in the database, are handed to the connection after the
// commit and by the stale-send sweeper if the node dies first.

// Session statuses (bot_sessions.status).
const (
	botActive    = "active"
	botWaiting   = "waiting"
	botCompleted = "completed"
	botHandedOff = "handed_off"
	botStopped   = "stopped"
	botFailed    = "failed"
)

// botTurn is what bot steps did in one transaction: the tenant events to
// append, the sends to hand over after the commit, and whether the
// conversation itself changed (bot_active, assignment, status) beyond the
// messages, which then needs a conversation.updated.
type botTurn struct {
	events      []crm.TenantEvent
	sends       []*crmpb.SendRequest
	convChanged bool
}

// botReply is the session input of a customer's message: its text, and the
// id of the button, list row or postback tapped.
func botReply(ev *crmpb.ChannelEvent) (bot.Input, bool) {
	body, ok := ev.GetEvent().(*crmpb.ChannelEvent_InboundMessage)
	if !ok {
		return bot.Input{}, false
	}
	msg := body.InboundMessage.GetMessage()
	in := bot.Input{Kind: bot.InputReply, Text: msg.GetText()}
	switch {
	case msg.GetButtonReply() != nil:
		in.ButtonID, in.Text = msg.GetButtonReply().GetId(), firstNonEmpty(in.Text, msg.GetButtonReply().GetTitle())
	case msg.GetListReply() != nil:
		in.ButtonID, in.Text = msg.GetListReply().GetId(), firstNonEmpty(in.Text, msg.GetListReply().GetTitle())
	case msg.GetPostback() != nil:
		in.ButtonID, in.Text = msg.GetPostback().GetPayload(), firstNonEmpty(in.Text, msg.GetPostback().GetTitle())
	case msg.GetQuickReplyPayload() != "":
		in.ButtonID = msg.GetQuickReplyPayload()
	case msg.GetTemplateButton() != nil:
		in.ButtonID, in.Text = msg.GetTemplateButton().GetPayload(), firstNonEmpty(in.Text, msg.GetTemplateButton().GetText())
	}
	return in, true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// botPrep is what a bot step needs from outside its transaction, resolved
// before the transaction opens: the tenant's chatbot (plan, hours, active
// flows, opt-out words) and whether the connection shows buttons. A step
// never takes a second pool connection while its transaction holds the
// tenant's locks (the usage row, the event sequence): with the pool full of
// the tenant's transactions waiting on those locks, it would never get one.
type botPrep struct {
	tb          *tenantBots
	interactive bool
}

// prepareBot resolves the step's outside needs (from memory, mostly).
func (g *conversationGrain) prepareBot(ctx context.Context) (*botPrep, error) {
	tb, err := g.engine.bots.tenant(ctx, g.tenant)
	if err != nil {
		return nil, fmt.Errorf("reading the tenant's chatbot: %w", err)
	}
	return &botPrep{tb: tb, interactive: g.sendsInteractive(ctx)}, nil
}

// botMayRun reports whether an inbound message of this conversation may
// move or start a chatbot: its session runs, or the tenant has active flows.
func botMayRun(conv *crm.Conversation, prep *botPrep) bool {
	return conv != nil && conv.BotActive || prep != nil && prep.tb.runs()
}

// needsOwnTransaction reports whether an inbound message goes through its
// own transaction instead of the group commit: a bot may answer it, or it
// opts its contact out, answers a reminder or falls outside business hours.
// Answered from memory: tb is the tenant's cached chatbot and routing.
func (g *conversationGrain) needsOwnTransaction(tb *tenantBots, conv *crm.Conversation, ev *crmpb.ChannelEvent) bool {
	if _, message := ev.GetEvent().(*crmpb.ChannelEvent_InboundMessage); !message {
		return false
	}
	if conv != nil && conv.BotActive {
		return true
	}
	if tb.runs() || optingOut(ev, &botPrep{tb: tb}) {
		return true
	}
	if _, answer := appointmentAnswer(ev); answer && tb.state.Features.Agenda {
		return true // perhaps a reminder's answer: read in the message's transaction
	}
	_, closed := tb.outsideHours(conv, g.connection, g.engine.cfg.Now())
	return closed
}

// botOnInbound runs the bot on a customer's message just stored in tx:
// the running session takes it as a reply, or a flow whose trigger matches
// starts. A conversation an agent holds starts no flow.
func (g *conversationGrain) botOnInbound(ctx context.Context, tx TenantStore, conv *crm.Conversation, ev *crmpb.ChannelEvent, isNew bool, now time.Time, prep *botPrep) (*botTurn, error) {
	in, ok := botReply(ev)
	if !ok {
		return nil, nil
	}
	tb := prep.tb
	if conv.BotActive {
		sess, err := tx.LiveBotSession(ctx, conv.ID)
		if err != nil {
			return nil, err
		}
		if sess != nil {
			return g.botStep(ctx, tx, conv, prep, sess, nil, in, now)
		}
		conv.BotActive = false // its flow was deleted: nothing runs
	}
	if conv.AssigneeID != nil || !tb.runs() {
		return nil, nil
	}
	event := bot.Event{ConnectionID: g.connection, Text: in.Text, FirstMessage: isNew, InHours: crm.OpenAt(tb.calendar(conv.TeamID), now)}
	for i := range tb.flows {
		f := &tb.flows[i]
		if bot.Matches(f.trigger, event) {
			return g.botStep(ctx, tx, conv, prep, nil, f, bot.Input{Kind: bot.InputStart}, now)
		}
	}
	return nil, nil
}

// botStep moves a session (or starts flow when sess is nil) on one input,
// and carries out what the step says, in tx.
func (g *conversationGrain) botStep(ctx context.Context, tx TenantStore, conv *crm.Conversation, prep *botPrep,
	sess *crm.BotSession, start *activeFlow, in bot.Input, now time.Time) (*botTurn, error) {
	tb := prep.tb
	var compiled *bot.Compiled
	var st bot.State
	if sess == nil {
		compiled = start.compiled
		sess = &crm.BotSession{ID: crm.NewID(), ConversationID: conv.ID, FlowID: start.id, Version: compiled.Version, StartedAt: now}
	} else {
		var err error
		if compiled, err = g.engine.bots.versionIn(ctx, tx, g.tenant, sess.FlowID, sess.Version); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(sess.State, &st); err != nil {
			return nil, fmt.Errorf("bot session %s state: %w", sess.ID, err)
		}
	}
	contact, err := tx.BotContact(ctx, g.contact)
	if err != nil {
		return nil, err
	}
	env := bot.Env{Contact: bot.Contact{Name: contact.Name, Phone: contact.Phone, Email: contact.Email, Fields: contact.Fields,
		Labels: contact.Labels}, Channel: conv.Channel, Interactive: prep.interactive, InHours: crm.OpenAt(tb.calendar(conv.TeamID), now)}
	next, actions := bot.Step(compiled, st, in, env)
	if len(actions) == 0 && next.WaitID == st.WaitID && next.Node == st.Node && next.Waiting == st.Waiting && next.Done == st.Done {
		return nil, nil // an input the session does not wait for (a late wake-up)
	}
	g.engine.metrics.botSteps.Inc()

	turn := &botTurn{}
	ref := crm.BotWaitRef{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact, ConversationID: conv.ID, SessionID: sess.ID}
	end := ""
	before := *conv
	for _, a := range actions {
		switch a.Kind {
		case bot.ActSendMessage:
			if err := g.botSend(ctx, tx, conv, a.Message, now, turn); err != nil {
				return nil, err
			}
		case bot.ActSetContactField:
			if _, err := tx.SetContactField(ctx, g.contact, a.Field, a.Value); err != nil {
				return nil, err
			}
		case bot.ActAddLabel, bot.ActRemoveLabel:
			if _, err := tx.SetContactLabel(ctx, g.contact, a.LabelID, a.Kind == bot.ActAddLabel); err != nil {
				return nil, err
			}
		case bot.ActScheduleDelay, bot.ActScheduleTimeout:
			wake := crm.BotWake{BotWaitRef: ref, Input: string(bot.InputDelay)}
			if a.Kind == bot.ActScheduleTimeout {
				wake.Input = string(bot.InputTimeout)
			}
			wake.WaitID = a.WaitID
			if err := tx.ScheduleJob(ctx, wake, now.Add(a.After)); err != nil {
				return nil, err
			}
		case bot.ActCallWebhook:
			call := crm.BotWebhookCall{BotWaitRef: ref, Method: a.Request.Method, URL: a.Request.URL, Headers: a.Request.Headers,
				Body: a.Request.Body, TimeoutMS: int(a.Request.Timeout / time.Millisecond)}
			call.WaitID = a.WaitID
			if err := tx.ScheduleJob(ctx, call, now); err != nil {
				return nil, err
			}
		case bot.ActHandoff:
			end = botHandedOff
			if a.TeamID != nil {
				conv.TeamID = a.TeamID
			}
			if a.AgentID != nil {
				conv.AssigneeID = a.AgentID
				conv.Status = conv.Status.AfterAssign(true)
			}
		case bot.ActEnd:
			end = botCompleted
			if a.Resolve && conv.Status.CanTransition(crm.ConversationResolved) {
				conv.Status, conv.ResolvedAt = crm.ConversationResolved, &now
			}
		case bot.ActError:
			end = botFailed
			g.engine.metrics.botErrors.WithLabelValues(a.Code).Inc()
			if err := g.botNote(ctx, tx, conv, "Chatbot: "+a.Error, turn); err != nil {
				return nil, err
			}
		}
	}

	state, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("bot session %s state: %w", sess.ID, err)
	}
	sess.State, sess.Node, sess.Variables, sess.Waiting, sess.UpdatedAt = state, next.Node, next.Variables, string(next.Waiting), now
	switch {
	case next.Done && end != "":
		sess.Status = end
	case next.Done:
		sess.Status = botCompleted
	case next.Waiting != bot.WaitingNone:
		sess.Status = botWaiting
	default:
		sess.Status = botActive
	}
	if !sess.Live() {
		sess.EndedAt = &now
	}
	if err := tx.SaveBotSession(ctx, sess); err != nil {
		return nil, err
	}
	conv.BotActive = sess.Live()
	turn.convChanged = conv.BotActive != before.BotActive || conv.Status != before.Status ||
		!sameID(conv.AssigneeID, before.AssigneeID) || !sameID(conv.TeamID, before.TeamID)
	return turn, nil
}

// botSend stores one of the bot's messages as pending, in tx.
func (g *conversationGrain) botSend(ctx context.Context, tx TenantStore, conv *crm.Conversation, out *bot.Outgoing, now time.Time, turn *botTurn) error {
	req := &crmpb.SendMessage{ConversationId: conv.ID.String(), Type: "text", Text: out.Text}
	switch {
	case len(out.Buttons) > 0 || out.List != nil:
		content := InteractiveContent{Type: "button", Body: out.Text}
		for _, b := range out.Buttons {
			content.Buttons = append(content.Buttons, InteractiveButton{ID: b.ID, Title: b.Title})
		}
		if out.List != nil {
			content.Type, content.ListButton = "list", out.List.Button
			for _, s := range out.List.Sections {
				section := InteractiveList{Title: s.Title}
				for _, r := range s.Rows {
					section.Rows = append(section.Rows, struct {
						ID          string `json:"id"`
						Title       string `json:"title"`
						Description string `json:"description,omitempty"`
					}{r.ID, r.Title, r.Description})
				}
				content.Sections = append(content.Sections, section)
			}
		}
		raw, err := json.Marshal(content)
		if err != nil {
			return fmt.Errorf("bot interactive message: %w", err)
		}
		req.Type, req.ContentJson = "interactive", raw
	case out.Media != nil && out.Media.MediaID != nil:
		req.Type, req.MediaId, req.Text = out.Media.Type, out.Media.MediaID.String(), firstNonEmpty(out.Media.Caption, out.Text)
	case out.Media != nil && out.Media.URL != "":
		req.Text = strings.TrimSpace(out.Text + "\n" + out.Media.URL)
	}
	res, err := g.storeOutbound(ctx, tx, conv, req, now, true)
	if err != nil {
		return err
	}
	if res.refused != nil {
		// The window closed, the media was deleted: the flow goes on, and
		// the timeline says what was not sent.
		return g.botNote(ctx, tx, conv, "Chatbot: mensagem não enviada ("+res.refused.GetMessage()+")", turn)
	}
	created, err := messageCreated(conv, res.message)
	if err != nil {
		return err
	}
	turn.events = append(turn.events, created)
	turn.sends = append(turn.sends, res.job)
	return nil
}

// botNote writes a line on the conversation's timeline (an internal note
// without an author), for the bot's errors.
func (g *conversationGrain) botNote(ctx context.Context, tx TenantStore, conv *crm.Conversation, text string, turn *botTurn) error {
	note := &persistence.Note{ConversationID: conv.ID, Text: truncate(text, 2000)}
	if err := tx.InsertNote(ctx, note); err != nil {
		return err
	}
	ev, err := noteCreated(conv, note)
	if err != nil {
		return err
	}
	turn.events = append(turn.events, ev)
	return nil
}

// sendsInteractive reports whether the connection shows reply buttons and
// lists (else the bot numbers the options).
func (g *conversationGrain) sendsInteractive(ctx context.Context) bool {
	if g.engine.cfg.Connections == nil {
		return false
	}
	p, err := g.engine.cfg.Connections.Provider(ctx, g.tenant, g.connection)
	if err != nil {
		return false
	}
	i, ok := p.(channels.InteractiveSender)
	return ok && i.SendsInteractive()
}

// endBot ends the conversation's running session (a person took over, or
// resolved it) and clears bot_active; the caller saves the conversation.
func (g *conversationGrain) endBot(ctx context.Context, tx TenantStore, conv *crm.Conversation, status string, now time.Time) error {
	conv.BotActive = false
	sess, err := tx.LiveBotSession(ctx, conv.ID)
	if err != nil || sess == nil {
		return err
	}
	var st bot.State
	if err := json.Unmarshal(sess.State, &st); err != nil {
		return fmt.Errorf("bot session %s state: %w", sess.ID, err)
	}
	st.Done, st.Waiting = true, bot.WaitingNone
	if sess.State, err = json.Marshal(st); err != nil {
		return fmt.Errorf("bot session %s state: %w", sess.ID, err)
	}
	sess.Status, sess.Waiting, sess.UpdatedAt, sess.EndedAt = status, "", now, &now
	return tx.SaveBotSession(ctx, sess)
}

// finishBotTurn saves the conversation the bot changed and appends the
// events: the bot's messages in order, then conversation.updated when the
// conversation changed beyond them (a hand-off, the bot ending).
func finishBotTurn(ctx context.Context, tx TenantStore, conv *crm.Conversation, before *crm.Conversation, turn *botTurn) ([]crm.TenantEvent, error) {
	if err := tx.SaveConversation(ctx, conv); err != nil {
		return nil, err
	}
	events := turn.events
	if turn.convChanged {
		updated, err := conversationEvent("conversation.updated", conv)
		if err != nil {
			return nil, err
		}
		events = append(events, updated)
		if before != nil && (!sameID(conv.AssigneeID, before.AssigneeID) || !sameID(conv.TeamID, before.TeamID)) {
			previous := updated
			previous.AssigneeID, previous.TeamID = before.AssigneeID, before.TeamID
			events = append(events, previous)
		}
	}
	return events, nil
}

// botInput runs a job's input (a delay or answer time over, a webhook
// answered) through the session it names.
func (g *conversationGrain) botInput(req *crmpb.BotInput) *crmpb.CommandResult {
	res := &crmpb.CommandResult{ConversationId: req.GetConversationId()}
	sessionID, err := uuid.Parse(req.GetSessionId())
	if err != nil {
		return &crmpb.CommandResult{Error: errorf("invalid_input", "session id is not a UUID")}
	}
	in := bot.Input{Kind: bot.InputKind(req.GetKind()), WaitID: int(req.GetWaitId()), Status: int(req.GetStatus()), Body: req.GetBody()}
	switch in.Kind {
	case bot.InputDelay, bot.InputTimeout, bot.InputWebhook:
	default:
		return &crmpb.CommandResult{Error: errorf("invalid_input", "bot input %q", req.GetKind())}
	}
	now := g.engine.cfg.Now().UTC()
	var sends []*crmpb.SendRequest
	prep, err := g.prepareBot(context.Background())
	if err != nil {
		return &crmpb.CommandResult{Error: resultError(err)}
	}
	err = g.write(func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error) {
		conv, err := g.current(ctx, tx)
		if err != nil || conv == nil || conv.ID.String() != req.GetConversationId() || !conv.BotActive {
			return nil, nil, err // archived, or the bot stopped: the wake-up is late
		}
		sess, err := tx.LiveBotSession(ctx, conv.ID)
		if err != nil || sess == nil || sess.ID != sessionID {
			return nil, nil, err
		}
		before := *conv
		turn, err := g.botStep(ctx, tx, conv, prep, sess, nil, in, now)
		if err != nil || turn == nil {
			return nil, nil, err
		}
		events, err := finishBotTurn(ctx, tx, conv, &before, turn)
		if err != nil {
			return nil, nil, err
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return nil, nil, err
		}
		res.Changed, sends = true, turn.sends
		return conv, events, nil
	})
	if err != nil {
		res.Error = resultError(err)
	}
	g.engine.handInOrder(sends)
	return res
}

// botControl is a person's hand on the bot: stop it, or start a flow.
func (g *conversationGrain) botControl(req *crmpb.BotControl) *crmpb.CommandResult {
	target := req.GetConversationId()
	if req.GetStop() {
		return g.command(uuid.Nil, func(c *crm.Conversation) (bool, *crmpb.ResultError) {
			if c.ID.String() != target {
				return false, &crmpb.ResultError{Code: "not_found", Message: "conversation not found or already archived"}
			}
			if !c.BotActive {
				return false, &crmpb.ResultError{Code: "bot_not_active", Message: "no chatbot runs on this conversation"}
			}
			c.BotActive = false
			return true, nil
		})
	}
	flowID, err := uuid.Parse(req.GetStartFlowId())
	if err != nil {
		return &crmpb.CommandResult{Error: errorf("validation_failed", "flow_id is not a UUID")}
	}
	res := &crmpb.CommandResult{}
	var refused *crmpb.ResultError
	var sends []*crmpb.SendRequest
	now := g.engine.cfg.Now().UTC()
	g.engine.bots.forget(g.tenant) // the flow may have been published a moment ago
	prep, err := g.prepareBot(context.Background())
	if err != nil {
		return &crmpb.CommandResult{Error: resultError(err)}
	}
	err = g.write(func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error) {
		conv, err := g.current(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		if conv == nil || conv.ID.String() != target {
			refused = &crmpb.ResultError{Code: "not_found", Message: "conversation not found or already archived"}
			return nil, nil, errors.New(refused.Message)
		}
		if conv.BotActive {
			refused = &crmpb.ResultError{Code: "bot_active", Message: "a chatbot already runs on this conversation"}
			return nil, nil, errors.New(refused.Message)
		}
		tb := prep.tb
		var flow *activeFlow
		for i := range tb.flows {
			if tb.flows[i].id == flowID {
				flow = &tb.flows[i]
			}
		}
		if flow == nil || !tb.state.Features.Chatbot {
			refused = &crmpb.ResultError{Code: "validation_failed", Message: "flow_id: the flow is not published"}
			return nil, nil, errors.New(refused.Message)
		}
		before := *conv
		// Handed to a flow, the conversation leaves the agent's hands.
		if conv.AssigneeID != nil {
			conv.AssigneeID = nil
			conv.Status = conv.Status.AfterAssign(false)
		}
		turn, err := g.botStep(ctx, tx, conv, prep, nil, flow, bot.Input{Kind: bot.InputStart}, now)
		if err != nil {
			return nil, nil, err
		}
		if turn == nil {
			turn = &botTurn{}
		}
		turn.convChanged = true
		events, err := finishBotTurn(ctx, tx, conv, &before, turn)
		if err != nil {
			return nil, nil, err
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return nil, nil, err
		}
		res.ConversationId, res.Changed, sends = conv.ID.String(), true, turn.sends
		return conv, events, nil
	})
	switch {
	case refused != nil:
		res.Error = refused
	case err != nil:
		res.Error = resultError(err)
	}
	g.engine.handInOrder(sends)
	return res
}
