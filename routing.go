package crm

import (
	"time"
	"unicode/utf8"
)

// AutoAssign is how a team hands its queue to its members.
type AutoAssign string

const (
	// AutoAssignOff leaves the queue to supervisors' hands.
	AutoAssignOff AutoAssign = "off"
	// AutoAssignRoundRobin gives the next conversation to the member who
	// got one from the team longest ago.
	AutoAssignRoundRobin AutoAssign = "round_robin"
	// AutoAssignLeastBusy gives it to the member with the fewest open
	// conversations (then the one who got one longest ago).
	AutoAssignLeastBusy AutoAssign = "least_busy"
)

// Valid reports whether a is one of the modes.
func (a AutoAssign) Valid() bool {
	return a == AutoAssignOff || a == AutoAssignRoundRobin || a == AutoAssignLeastBusy
}

// Availability is what an agent says about taking conversations.
type Availability string

const (
	AvailabilityOnline  Availability = "online"
	AvailabilityAway    Availability = "away"
	AvailabilityOffline Availability = "offline"
)

// Valid reports whether a is one of the states.
func (a Availability) Valid() bool {
	return a == AvailabilityOnline || a == AvailabilityAway || a == AvailabilityOffline
}

// AgentCap is the most open conversations distribution gives an agent: the
// tighter of the team's cap and the user's own, 0 meaning none.
func AgentCap(team, user int) int {
	switch {
	case team <= 0:
		return max(user, 0)
	case user <= 0:
		return team
	}
	return min(team, user)
}

// OutsideHoursReply is the automatic answer to a customer who writes while
// the business is closed: once per conversation per closed period.
type OutsideHoursReply struct {
	Enabled bool   `json:"enabled"`
	Text    string `json:"text"`
}

// DefaultOutsideHoursText is the reply when the tenant wrote none.
const DefaultOutsideHoursText = "Olá! Nosso atendimento está fechado agora. Recebemos sua mensagem e responderemos assim que voltarmos."

// Message is the text sent (the default when empty).
func (r OutsideHoursReply) Message() string {
	if r.Text == "" {
		return DefaultOutsideHoursText
	}
	return r.Text
}

// AutoClose resolves conversations idle for IdleHours (0: never), sending
// Message first when it is set.
type AutoClose struct {
	IdleHours int    `json:"idle_hours"`
	Message   string `json:"message"`
}

// Idle is how long a conversation may go without activity (0: for ever).
func (a AutoClose) Idle() time.Duration { return time.Duration(a.IdleHours) * time.Hour }

// MaxAutoCloseHours bounds the idle time (90 days).
const MaxAutoCloseHours = 24 * 90

// Validate reports what is wrong, per field.
func (a AutoClose) Validate() FieldErrors {
	fields := FieldErrors{}
	if a.IdleHours < 0 || a.IdleHours > MaxAutoCloseHours {
		fields["idle_hours"] = "must be between 0 (never) and 2160 (90 days)"
	}
	if utf8.RuneCountInString(a.Message) > 4096 {
		fields["message"] = "must be at most 4096 characters"
	}
	return fields
}

// Validate reports what is wrong, per field.
func (r OutsideHoursReply) Validate() FieldErrors {
	fields := FieldErrors{}
	if utf8.RuneCountInString(r.Text) > 4096 {
		fields["text"] = "must be at most 4096 characters"
	}
	return fields
}

// SLADue is when a first response falls due: minutes of business time
// after start (nil hours: plain minutes). The zero time when minutes is 0.
func SLADue(hours *BusinessHours, start time.Time, minutes int) time.Time {
	if minutes <= 0 {
		return time.Time{}
	}
	return BusinessAdd(hours, start, time.Duration(minutes)*time.Minute)
}
