package actors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"crm"
	crmpb "crm/proto"
)

// Status is where a conversation stands in its life.
type Status uint8

const (
	StatusNone Status = iota // no conversation started yet
	StatusOpen
	StatusInProgress
	StatusWaiting
	StatusResolved
	StatusArchived
)

var statusNames = [...]string{"none", "open", "in_progress", "waiting", "resolved", "archived"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseStatus reads the API spelling of a status.
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if n == name && i != int(StatusNone) {
			return Status(i), nil
		}
	}
	return StatusNone, crm.NewError(crm.ErrInvalid, "invalid_status", "unknown conversation status "+name, nil)
}

// allowedTransitions lists the status changes an agent may ask for. Inbound
// messages move statuses on their own (see Inbound); archived is terminal:
// the next inbound message starts a new conversation.
var allowedTransitions = map[Status][]Status{
	StatusOpen:       {StatusInProgress, StatusWaiting, StatusResolved, StatusArchived},
	StatusInProgress: {StatusOpen, StatusWaiting, StatusResolved, StatusArchived},
	StatusWaiting:    {StatusOpen, StatusInProgress, StatusResolved, StatusArchived},
	StatusResolved:   {StatusOpen, StatusInProgress, StatusArchived},
	StatusArchived:   nil,
}

// CanTransition reports whether an agent may move a conversation from one
// status to another.
func CanTransition(from, to Status) bool {
	return slices.Contains(allowedTransitions[from], to)
}

// Delivery is a message's delivery status. Its rank orders it: a status only
// ever moves to a higher rank. Failed ranks between sent and delivered, so a
// failure replaces pending or sent, and a later delivered, read or played
// (which proves the message arrived) replaces a failure. Because the final
// status is the highest rank seen, it does not depend on arrival order.
type Delivery uint8

const (
	DeliveryNone Delivery = iota // inbound messages have none
	DeliveryPending
	DeliverySent
	DeliveryDelivered
	DeliveryRead
	DeliveryPlayed
	DeliveryFailed
)

var deliveryNames = [...]string{"", "pending", "sent", "delivered", "read", "played", "failed"}

func (d Delivery) String() string {
	if int(d) < len(deliveryNames) {
		return deliveryNames[d]
	}
	return fmt.Sprintf("delivery(%d)", d)
}

func (d Delivery) rank() int {
	switch d {
	case DeliveryPending:
		return 10
	case DeliverySent:
		return 20
	case DeliveryFailed:
		return 25
	case DeliveryDelivered:
		return 30
	case DeliveryRead:
		return 40
	case DeliveryPlayed:
		return 50
	}
	return 0
}

// DeliveryFromProto maps the channel adapters' status to ours.
func DeliveryFromProto(s crmpb.DeliveryStatus) Delivery {
	if s >= crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING && s <= crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED {
		return Delivery(s) // the enums are numbered alike; TestDeliveryMatchesProto keeps them so
	}
	return DeliveryNone
}

// Proto maps a delivery status to the wire enum.
func (d Delivery) Proto() crmpb.DeliveryStatus { return crmpb.DeliveryStatus(d) }

// Proto maps a status to the wire enum.
func (s Status) Proto() crmpb.ConversationStatus { return crmpb.ConversationStatus(s) }

// StatusFromProto maps the wire enum to a status.
func StatusFromProto(s crmpb.ConversationStatus) Status {
	if s >= crmpb.ConversationStatus_CONVERSATION_STATUS_OPEN && s <= crmpb.ConversationStatus_CONVERSATION_STATUS_ARCHIVED {
		return Status(s)
	}
	return StatusNone
}

// WindowLength is WhatsApp's customer service window: free-form messages may
// be sent for 24 hours after the customer's last message.
const WindowLength = 24 * time.Hour

// MessageRecord is what the state remembers of one message.
type MessageRecord struct {
	ID             string
	ConversationID string
	Seq            int64
	Inbound        bool
	ExternalID     string // provider message id; for outbound, known once accepted
	IdempotencyKey string // outbound only
	SenderUserID   string
	Type           string
	Delivery       Delivery
	Error          *crmpb.ResultError
	CreatedAt      time.Time
	DeliveryAt     time.Time
}

// BotState is where a bot flow stands in the conversation. The bot engine
// owns its meaning; the state machine only keeps it and resets it when a new
// conversation starts.
type BotState struct {
	FlowID          string
	NodeID          string
	Variables       map[string]string
	PendingQuestion string
	TimerAt         time.Time
	HandedOff       bool
}

type parkedStatus struct {
	delivery Delivery
	at       time.Time
	err      *crmpb.ResultError
}

// StateConfig configures a ConversationState.
type StateConfig struct {
	// Channel decides whether the 24-hour window applies (WhatsApp only).
	Channel crmpb.Channel
	// NewID makes conversation and message ids (UUIDv7 in production; a
	// counter in tests, so outcomes are reproducible).
	NewID func() string
	// MaxRemembered bounds the messages kept for deduplication. The current
	// conversation's messages are always kept; beyond the bound the oldest
	// messages of earlier conversations are forgotten, and a very late
	// provider retry of one of them is caught by the database's unique key
	// instead. 0 keeps everything.
	MaxRemembered int
	// MaxParked bounds the statuses waiting for a message we may never see
	// (sent from another tool on the same number); the oldest go first.
	// 0 keeps everything.
	MaxParked int
}

// ConversationState is the conversation grain's pure logic for one contact
// on one connection (the grain identity tenant/connection/contact). It holds
// the current conversation and the indexes that make inbound external ids
// and send idempotency keys idempotent across conversations: a provider
// retry arriving after the conversation was archived is still a duplicate.
//
// It is not safe for concurrent use; the grain serialises access.
type ConversationState struct {
	cfg StateConfig

	ConversationID  string
	Status          Status
	AssigneeID      string
	TeamID          string
	Unread          int
	LastSeq         int64 // per-conversation sequence, restarts with each conversation
	ReadSeq         int64 // the highest seq an agent has read
	LastInboundAt   time.Time
	WindowExpiresAt time.Time // zero when the channel has no window
	LastActivityAt  time.Time
	OpenedAt        time.Time
	Bot             BotState
	// Version fences the grain's writes (UPDATE … WHERE version = $n); the
	// grain bumps it after each successful write.
	Version int64

	messages      map[string]*MessageRecord // by message id
	byExternalID  map[string]string         // provider message id → message id
	byIdempotency map[string]string         // send idempotency key → message id
	parked        map[string]parkedStatus   // statuses for external ids not seen yet
}

// NewConversationState returns the state of a contact with no conversation.
func NewConversationState(cfg StateConfig) (*ConversationState, error) {
	if cfg.NewID == nil {
		return nil, crm.NewError(crm.ErrInvalid, "invalid_config", "conversation state needs an id generator", nil)
	}
	return &ConversationState{
		cfg:           cfg,
		messages:      map[string]*MessageRecord{},
		byExternalID:  map[string]string{},
		byIdempotency: map[string]string{},
		parked:        map[string]parkedStatus{},
	}, nil
}

// Message returns a copy of the message with the given id.
func (s *ConversationState) Message(id string) (MessageRecord, bool) {
	m, ok := s.messages[id]
	if !ok {
		return MessageRecord{}, false
	}
	return *m, true
}

// MessageByExternalID returns a copy of the message with a provider id.
func (s *ConversationState) MessageByExternalID(externalID string) (MessageRecord, bool) {
	id, ok := s.byExternalID[externalID]
	if !ok {
		return MessageRecord{}, false
	}
	return s.Message(id)
}

// Messages returns copies of every remembered message, ordered by
// conversation id (UUIDv7 ids sort by creation) then seq.
func (s *ConversationState) Messages() []MessageRecord {
	out := make([]MessageRecord, 0, len(s.messages))
	for _, m := range s.messages {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b MessageRecord) int {
		if a.ConversationID != b.ConversationID {
			return strings.Compare(a.ConversationID, b.ConversationID)
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return out
}

// ParkedCount is the number of statuses waiting for their message.
func (s *ConversationState) ParkedCount() int { return len(s.parked) }

// WindowOpen reports whether a free-form message may be sent at time at.
// Channels without a window are always open.
func (s *ConversationState) WindowOpen(at time.Time) bool {
	if s.cfg.Channel != crmpb.Channel_CHANNEL_WHATSAPP {
		return true
	}
	return !s.WindowExpiresAt.IsZero() && at.Before(s.WindowExpiresAt)
}

// startConversation begins a new conversation: a fresh id and sequence, no
// assignee, no unread, a fresh bot.
func (s *ConversationState) startConversation(at time.Time) {
	s.ConversationID = s.cfg.NewID()
	s.Status = StatusOpen
	s.AssigneeID = ""
	s.TeamID = ""
	s.Unread = 0
	s.LastSeq = 0
	s.ReadSeq = 0
	s.OpenedAt = at
	s.Bot = BotState{}
}

func (s *ConversationState) active() bool {
	return s.Status != StatusNone && s.Status != StatusArchived
}

// Inbound is a customer message.
type Inbound struct {
	ExternalID string
	Type       string
	At         time.Time // provider timestamp
}

// InboundOutcome tells the grain what an inbound message changed.
type InboundOutcome struct {
	Message         MessageRecord
	Duplicate       bool // already seen: Message is the first delivery's
	NewConversation bool
	StatusChanged   bool
	PreviousStatus  Status
	// Applied holds the parked statuses applied to this message (only for
	// echoes of outbound messages; empty for customer messages).
	Applied []StatusOutcome
}

// Inbound records a customer message: deduplicated on its external id,
// given the next seq, counted unread, and it reopens the conversation
// (resolved → open; waiting → in_progress when assigned, else open) or
// starts a new one when there is none or the last was archived.
func (s *ConversationState) Inbound(in Inbound) (InboundOutcome, error) {
	if in.ExternalID == "" {
		return InboundOutcome{}, crm.NewError(crm.ErrInvalid, "missing_external_id", "inbound message without a provider id", nil)
	}
	if id, ok := s.byExternalID[in.ExternalID]; ok {
		return InboundOutcome{Message: *s.messages[id], Duplicate: true}, nil
	}
	out := InboundOutcome{PreviousStatus: s.Status}
	if !s.active() {
		s.startConversation(in.At)
		out.NewConversation = true
	}
	switch s.Status {
	case StatusResolved:
		s.Status = StatusOpen
	case StatusWaiting:
		if s.AssigneeID != "" {
			s.Status = StatusInProgress
		} else {
			s.Status = StatusOpen
		}
	}
	out.StatusChanged = out.NewConversation || s.Status != out.PreviousStatus

	s.LastSeq++
	m := &MessageRecord{
		ID:             s.cfg.NewID(),
		ConversationID: s.ConversationID,
		Seq:            s.LastSeq,
		Inbound:        true,
		ExternalID:     in.ExternalID,
		Type:           in.Type,
		CreatedAt:      in.At,
	}
	s.messages[m.ID] = m
	s.byExternalID[in.ExternalID] = m.ID
	s.trim()
	s.Unread++
	// Providers deliver out of order: the window follows the newest customer
	// message, not the last one to arrive.
	if in.At.After(s.LastInboundAt) {
		s.LastInboundAt = in.At
		if s.cfg.Channel == crmpb.Channel_CHANNEL_WHATSAPP {
			s.WindowExpiresAt = in.At.Add(WindowLength)
		}
	}
	s.touch(in.At)
	// A status parked under an inbound id cannot apply to it; drop it.
	delete(s.parked, in.ExternalID)
	out.Message = *m
	return out, nil
}

func (s *ConversationState) touch(at time.Time) {
	if at.After(s.LastActivityAt) {
		s.LastActivityAt = at
	}
}

// Outbound is a message we send: from an agent (SenderUserID set), a bot or
// a campaign.
type Outbound struct {
	IdempotencyKey string
	SenderUserID   string
	Type           string
	At             time.Time
}

// SendOutcome tells the grain what a send changed.
type SendOutcome struct {
	Message         MessageRecord
	Duplicate       bool
	NewConversation bool
	StatusChanged   bool
	PreviousStatus  Status
}

// ErrWindowClosed refuses a free-form WhatsApp message outside the 24-hour
// window (Meta would answer 131047); only a template may be sent.
var ErrWindowClosed = crm.NewError(crm.ErrUnprocessable, "window_closed",
	"the 24-hour window is closed: only a template message can be sent", nil)

// Send stores an outbound message as pending under its idempotency key: a
// repeat with the same key returns the first message and changes nothing.
// An agent's send marks the conversation read and in progress.
func (s *ConversationState) Send(out Outbound) (SendOutcome, error) {
	if out.IdempotencyKey == "" {
		return SendOutcome{}, crm.NewError(crm.ErrInvalid, "missing_idempotency_key", "a send needs an idempotency key", nil)
	}
	if id, ok := s.byIdempotency[out.IdempotencyKey]; ok {
		return SendOutcome{Message: *s.messages[id], Duplicate: true}, nil
	}
	if out.Type != "template" && !s.WindowOpen(out.At) {
		return SendOutcome{}, ErrWindowClosed
	}
	res := SendOutcome{PreviousStatus: s.Status}
	if !s.active() {
		s.startConversation(out.At)
		res.NewConversation = true
	}
	s.LastSeq++
	m := &MessageRecord{
		ID:             s.cfg.NewID(),
		ConversationID: s.ConversationID,
		Seq:            s.LastSeq,
		IdempotencyKey: out.IdempotencyKey,
		SenderUserID:   out.SenderUserID,
		Type:           out.Type,
		Delivery:       DeliveryPending,
		CreatedAt:      out.At,
		DeliveryAt:     out.At,
	}
	s.messages[m.ID] = m
	s.byIdempotency[out.IdempotencyKey] = m.ID
	s.trim()
	if out.SenderUserID != "" {
		s.Unread = 0
		s.ReadSeq = s.LastSeq
		if s.Status != StatusInProgress {
			s.Status = StatusInProgress
		}
	}
	res.StatusChanged = res.NewConversation || s.Status != res.PreviousStatus
	s.touch(out.At)
	res.Message = *m
	return res, nil
}

// StatusUpdate is a delivery status from the provider (or from our own send
// path: accepted → sent, rejected → failed).
type StatusUpdate struct {
	ExternalID string
	Delivery   Delivery
	At         time.Time
	Error      *crmpb.ResultError // for DeliveryFailed
}

// StatusOutcome tells the grain what a status changed.
type StatusOutcome struct {
	Message MessageRecord // zero when parked or ignored
	Parked  bool
	Changed bool
}

// ApplyStatus moves an outbound message's delivery status forward. A status
// for an external id not known yet is parked (keeping the highest seen) and
// applied when the send result names that id.
func (s *ConversationState) ApplyStatus(u StatusUpdate) (StatusOutcome, error) {
	if u.ExternalID == "" || u.Delivery == DeliveryNone {
		return StatusOutcome{}, crm.NewError(crm.ErrInvalid, "invalid_status_update", "status update without id or status", nil)
	}
	id, ok := s.byExternalID[u.ExternalID]
	if !ok {
		p, seen := s.parked[u.ExternalID]
		if !seen || u.Delivery.rank() > p.delivery.rank() {
			s.parked[u.ExternalID] = parkedStatus{delivery: u.Delivery, at: u.At, err: u.Error}
			s.trimParked()
		}
		return StatusOutcome{Parked: true, Changed: !seen || u.Delivery.rank() > p.delivery.rank()}, nil
	}
	m := s.messages[id]
	if m.Inbound {
		return StatusOutcome{Message: *m}, nil
	}
	changed := s.advance(m, u.Delivery, u.At, u.Error)
	return StatusOutcome{Message: *m, Changed: changed}, nil
}

func (s *ConversationState) advance(m *MessageRecord, d Delivery, at time.Time, err *crmpb.ResultError) bool {
	if d.rank() <= m.Delivery.rank() {
		return false
	}
	m.Delivery = d
	m.DeliveryAt = at
	if d == DeliveryFailed {
		m.Error = err
	} else {
		m.Error = nil
	}
	return true
}

// SendAccepted records the provider's id for an outbound message (it is now
// sent) and applies any status that arrived before it. A repeat is harmless.
func (s *ConversationState) SendAccepted(messageID, externalID string, at time.Time) (StatusOutcome, error) {
	m, ok := s.messages[messageID]
	if !ok || m.Inbound {
		return StatusOutcome{}, crm.NotFound("message")
	}
	if externalID == "" {
		return StatusOutcome{}, crm.NewError(crm.ErrInvalid, "missing_external_id", "accepted send without a provider id", nil)
	}
	if m.ExternalID != "" && m.ExternalID != externalID {
		return StatusOutcome{}, crm.Conflict("external_id", "message already accepted under another provider id")
	}
	if other, taken := s.byExternalID[externalID]; taken && other != messageID {
		return StatusOutcome{}, crm.Conflict("external_id", "provider id already belongs to another message")
	}
	m.ExternalID = externalID
	s.byExternalID[externalID] = messageID
	changed := s.advance(m, DeliverySent, at, nil)
	if p, ok := s.parked[externalID]; ok {
		delete(s.parked, externalID)
		if s.advance(m, p.delivery, p.at, p.err) {
			changed = true
		}
	}
	return StatusOutcome{Message: *m, Changed: changed}, nil
}

// SendFailed records that the provider refused an outbound message for
// good (after retries, or a non-retryable error).
func (s *ConversationState) SendFailed(messageID string, err *crmpb.ResultError, at time.Time) (StatusOutcome, error) {
	m, ok := s.messages[messageID]
	if !ok || m.Inbound {
		return StatusOutcome{}, crm.NotFound("message")
	}
	changed := s.advance(m, DeliveryFailed, at, err)
	return StatusOutcome{Message: *m, Changed: changed}, nil
}

// Assignment sets or clears the assignee and the team.
type Assignment struct {
	AssigneeID string
	TeamID     string
	Unassign   bool // clear the assignee
	ClearTeam  bool
	At         time.Time
}

// CommandOutcome tells the grain what an agent command changed.
type CommandOutcome struct {
	Changed        bool
	StatusChanged  bool
	PreviousStatus Status
}

// ErrNoConversation refuses commands on a contact whose conversation is
// archived or was never started.
var ErrNoConversation = crm.NewError(crm.ErrConflict, "conversation_closed",
	"the conversation is archived; a new message starts a new one", nil)

// Assign changes the assignee and/or team. Assigning an open conversation
// puts it in progress; unassigning one in progress puts it back in the open
// queue.
func (s *ConversationState) Assign(a Assignment) (CommandOutcome, error) {
	if !s.active() {
		return CommandOutcome{}, ErrNoConversation
	}
	out := CommandOutcome{PreviousStatus: s.Status}
	assignee, team := s.AssigneeID, s.TeamID
	if a.Unassign {
		assignee = ""
	} else if a.AssigneeID != "" {
		assignee = a.AssigneeID
	}
	if a.ClearTeam {
		team = ""
	} else if a.TeamID != "" {
		team = a.TeamID
	}
	out.Changed = assignee != s.AssigneeID || team != s.TeamID
	s.AssigneeID, s.TeamID = assignee, team
	switch {
	case s.AssigneeID != "" && s.Status == StatusOpen:
		s.Status = StatusInProgress
	case s.AssigneeID == "" && s.Status == StatusInProgress:
		s.Status = StatusOpen
	}
	if s.AssigneeID != "" {
		// A human took over: the bot stops answering.
		s.Bot.HandedOff = true
	}
	out.StatusChanged = s.Status != out.PreviousStatus
	out.Changed = out.Changed || out.StatusChanged
	if out.Changed {
		s.touch(a.At)
	}
	return out, nil
}

// ChangeStatus applies an agent's status change if the transition is
// allowed. Asking for the current status changes nothing.
func (s *ConversationState) ChangeStatus(to Status, at time.Time) (CommandOutcome, error) {
	if !s.active() {
		return CommandOutcome{}, ErrNoConversation
	}
	out := CommandOutcome{PreviousStatus: s.Status}
	if to == s.Status {
		return out, nil
	}
	if !CanTransition(s.Status, to) {
		return out, crm.NewError(crm.ErrUnprocessable, "invalid_transition",
			fmt.Sprintf("a %s conversation cannot become %s", s.Status, to), nil)
	}
	s.Status = to
	out.Changed, out.StatusChanged = true, true
	s.touch(at)
	return out, nil
}

// MarkRead records that an agent read the conversation up to a seq (0 means
// everything); unread becomes the count of customer messages after it.
func (s *ConversationState) MarkRead(upToSeq int64) CommandOutcome {
	if upToSeq <= 0 || upToSeq > s.LastSeq {
		upToSeq = s.LastSeq
	}
	if upToSeq <= s.ReadSeq {
		return CommandOutcome{PreviousStatus: s.Status}
	}
	s.ReadSeq = upToSeq
	unread := 0
	for _, m := range s.messages {
		if m.Inbound && m.ConversationID == s.ConversationID && m.Seq > s.ReadSeq {
			unread++
		}
	}
	changed := unread != s.Unread
	s.Unread = unread
	return CommandOutcome{Changed: changed, PreviousStatus: s.Status}
}

// trim forgets the oldest messages of earlier conversations once there are
// more than MaxRemembered, down to three quarters of it so the sort runs
// rarely.
func (s *ConversationState) trim() {
	limit := s.cfg.MaxRemembered
	if limit <= 0 || len(s.messages) <= limit {
		return
	}
	var old []*MessageRecord
	for _, m := range s.messages {
		if m.ConversationID != s.ConversationID {
			old = append(old, m)
		}
	}
	slices.SortFunc(old, func(a, b *MessageRecord) int {
		if c := strings.Compare(a.ConversationID, b.ConversationID); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	excess := len(s.messages) - limit*3/4
	for _, m := range old[:min(excess, len(old))] {
		delete(s.messages, m.ID)
		if m.ExternalID != "" {
			delete(s.byExternalID, m.ExternalID)
		}
		if m.IdempotencyKey != "" {
			delete(s.byIdempotency, m.IdempotencyKey)
		}
	}
}

func (s *ConversationState) trimParked() {
	limit := s.cfg.MaxParked
	if limit <= 0 || len(s.parked) <= limit {
		return
	}
	type entry struct {
		id string
		at time.Time
	}
	entries := make([]entry, 0, len(s.parked))
	for id, p := range s.parked {
		entries = append(entries, entry{id, p.at})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, e := range entries[:len(entries)-limit] {
		delete(s.parked, e.id)
	}
}

// Snapshot encodes the state for the grain's snapshot row.
func (s *ConversationState) Snapshot(ref *crmpb.ConversationRef) *crmpb.ConversationSnapshot {
	snap := &crmpb.ConversationSnapshot{
		Id:                    s.ConversationID,
		Ref:                   ref,
		Channel:               s.cfg.Channel,
		Status:                s.Status.Proto(),
		AssigneeId:            s.AssigneeID,
		TeamId:                s.TeamID,
		Unread:                int32(s.Unread),
		LastSeq:               s.LastSeq,
		ReadSeq:               s.ReadSeq,
		LastInboundAtUnixMs:   unixMilli(s.LastInboundAt),
		WindowExpiresAtUnixMs: unixMilli(s.WindowExpiresAt),
		LastActivityAtUnixMs:  unixMilli(s.LastActivityAt),
		OpenedAtUnixMs:        unixMilli(s.OpenedAt),
		Version:               s.Version,
		Bot: &crmpb.BotState{
			FlowId:          s.Bot.FlowID,
			NodeId:          s.Bot.NodeID,
			Variables:       s.Bot.Variables,
			PendingQuestion: s.Bot.PendingQuestion,
			TimerAtUnixMs:   unixMilli(s.Bot.TimerAt),
			HandedOff:       s.Bot.HandedOff,
		},
	}
	for _, m := range s.Messages() {
		direction := crmpb.Direction_DIRECTION_OUTBOUND
		if m.Inbound {
			direction = crmpb.Direction_DIRECTION_INBOUND
		}
		snap.Messages = append(snap.Messages, &crmpb.MessageRef{
			Id:              m.ID,
			ConversationId:  m.ConversationID,
			Seq:             m.Seq,
			Direction:       direction,
			ExternalId:      m.ExternalID,
			IdempotencyKey:  m.IdempotencyKey,
			SenderUserId:    m.SenderUserID,
			Type:            m.Type,
			Status:          m.Delivery.Proto(),
			Error:           m.Error,
			CreatedAtUnixMs: unixMilli(m.CreatedAt),
			StatusAtUnixMs:  unixMilli(m.DeliveryAt),
		})
	}
	externalIDs := make([]string, 0, len(s.parked))
	for id := range s.parked {
		externalIDs = append(externalIDs, id)
	}
	slices.Sort(externalIDs)
	for _, id := range externalIDs {
		p := s.parked[id]
		snap.Parked = append(snap.Parked, &crmpb.ParkedStatus{
			ExternalId: id, Status: p.delivery.Proto(), AtUnixMs: unixMilli(p.at), Error: p.err,
		})
	}
	return snap
}

// RestoreConversationState rebuilds the state from a snapshot.
func RestoreConversationState(cfg StateConfig, snap *crmpb.ConversationSnapshot) (*ConversationState, error) {
	s, err := NewConversationState(cfg)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return s, nil
	}
	s.ConversationID = snap.GetId()
	s.Status = StatusFromProto(snap.GetStatus())
	s.AssigneeID = snap.GetAssigneeId()
	s.TeamID = snap.GetTeamId()
	s.Unread = int(snap.GetUnread())
	s.LastSeq = snap.GetLastSeq()
	s.ReadSeq = snap.GetReadSeq()
	s.LastInboundAt = fromUnixMilli(snap.GetLastInboundAtUnixMs())
	s.WindowExpiresAt = fromUnixMilli(snap.GetWindowExpiresAtUnixMs())
	s.LastActivityAt = fromUnixMilli(snap.GetLastActivityAtUnixMs())
	s.OpenedAt = fromUnixMilli(snap.GetOpenedAtUnixMs())
	s.Version = snap.GetVersion()
	if b := snap.GetBot(); b != nil {
		s.Bot = BotState{
			FlowID: b.GetFlowId(), NodeID: b.GetNodeId(), Variables: b.GetVariables(),
			PendingQuestion: b.GetPendingQuestion(), TimerAt: fromUnixMilli(b.GetTimerAtUnixMs()),
			HandedOff: b.GetHandedOff(),
		}
	}
	for _, r := range snap.GetMessages() {
		if r.GetId() == "" {
			return nil, crm.NewError(crm.ErrInvalid, "invalid_snapshot", "message without id in snapshot", nil)
		}
		m := &MessageRecord{
			ID:             r.GetId(),
			ConversationID: r.GetConversationId(),
			Seq:            r.GetSeq(),
			Inbound:        r.GetDirection() == crmpb.Direction_DIRECTION_INBOUND,
			ExternalID:     r.GetExternalId(),
			IdempotencyKey: r.GetIdempotencyKey(),
			SenderUserID:   r.GetSenderUserId(),
			Type:           r.GetType(),
			Delivery:       DeliveryFromProto(r.GetStatus()),
			Error:          r.GetError(),
			CreatedAt:      fromUnixMilli(r.GetCreatedAtUnixMs()),
			DeliveryAt:     fromUnixMilli(r.GetStatusAtUnixMs()),
		}
		s.messages[m.ID] = m
		if m.ExternalID != "" {
			s.byExternalID[m.ExternalID] = m.ID
		}
		if m.IdempotencyKey != "" {
			s.byIdempotency[m.IdempotencyKey] = m.ID
		}
	}
	for _, p := range snap.GetParked() {
		s.parked[p.GetExternalId()] = parkedStatus{
			delivery: DeliveryFromProto(p.GetStatus()), at: fromUnixMilli(p.GetAtUnixMs()), err: p.GetError(),
		}
	}
	return s, nil
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
