package crm

import (
	"time"

	"github.com/google/uuid"
)

// Unlimited is a PlanLimits value meaning "no limit" (NULL in the plans
// table). Zero means none allowed.
const Unlimited = -1

// PlanLimits are a plan's quotas; 0 means none allowed, Unlimited (any
// negative value) no limit.
type PlanLimits struct {
	Users                int `json:"users"`
	Connections          int `json:"connections"`
	Contacts             int `json:"contacts"`
	MonthlyConversations int `json:"monthly_conversations"`
	MonthlyCampaigns     int `json:"monthly_campaigns"`
}

// Of returns the limit for a resource name (users, connections, contacts,
// monthly_conversations, monthly_campaigns).
func (l PlanLimits) Of(resource string) int {
	switch resource {
	case "users":
		return l.Users
	case "connections":
		return l.Connections
	case "contacts":
		return l.Contacts
	case "monthly_conversations":
		return l.MonthlyConversations
	case "monthly_campaigns":
		return l.MonthlyCampaigns
	}
	return Unlimited
}

// PlanFeatures are a plan's feature flags.
type PlanFeatures struct {
	Chatbot   bool `json:"chatbot"`
	Campaigns bool `json:"campaigns"`
	Kanban    bool `json:"kanban"`
	Agenda    bool `json:"agenda"`
	Reports   bool `json:"reports"`
	API       bool `json:"api"`
	Instagram bool `json:"instagram"`
	Messenger bool `json:"messenger"`
}

// FeatureNames are the flags a plan can turn on, as the API names them.
var FeatureNames = []string{"chatbot", "campaigns", "kanban", "agenda", "reports", "api", "instagram", "messenger"}

// Enabled reports whether the named feature is on; unknown names are off.
func (f PlanFeatures) Enabled(name string) bool {
	switch name {
	case "chatbot":
		return f.Chatbot
	case "campaigns":
		return f.Campaigns
	case "kanban":
		return f.Kanban
	case "agenda":
		return f.Agenda
	case "reports":
		return f.Reports
	case "api":
		return f.API
	case "instagram":
		return f.Instagram
	case "messenger":
		return f.Messenger
	}
	return false
}

// Plan is a stored plan.
type Plan struct {
	ID           uuid.UUID    `json:"id"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	MonthlyPrice string       `json:"monthly_price"`
	Currency     string       `json:"currency"`
	Limits       PlanLimits   `json:"limits"`
	Features     PlanFeatures `json:"features"`
	RetiredAt    *time.Time   `json:"retired_at"`
	Tenants      int          `json:"tenants"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// TenantUsage is what a tenant uses now, from the counters.
type TenantUsage struct {
	Users                int        `json:"users"`
	Connections          int        `json:"connections"`
	Contacts             int        `json:"contacts"`
	MonthlyConversations int        `json:"monthly_conversations"`
	MonthlyCampaigns     int        `json:"monthly_campaigns"`
	Warned80At           *time.Time `json:"conversations_warned_80_at"`
	Warned100At          *time.Time `json:"conversations_warned_100_at"`
}

// Of returns the usage of a resource name.
func (u TenantUsage) Of(resource string) int {
	switch resource {
	case "users":
		return u.Users
	case "connections":
		return u.Connections
	case "contacts":
		return u.Contacts
	case "monthly_conversations":
		return u.MonthlyConversations
	case "monthly_campaigns":
		return u.MonthlyCampaigns
	}
	return 0
}

// LimitResources are the limited resources, in the order reports list them.
var LimitResources = []string{"users", "connections", "contacts", "monthly_conversations", "monthly_campaigns"}

// LimitExceeded is one resource a tenant uses beyond its plan.
type LimitExceeded struct {
	Resource string `json:"resource"`
	Limit    int    `json:"limit"`
	Used     int    `json:"used"`
}

// Exceeded lists the resources whose usage is above the limits.
func Exceeded(limits PlanLimits, usage TenantUsage) []LimitExceeded {
	out := []LimitExceeded{}
	for _, r := range LimitResources {
		if lim := limits.Of(r); lim >= 0 && usage.Of(r) > lim {
			out = append(out, LimitExceeded{Resource: r, Limit: lim, Used: usage.Of(r)})
		}
	}
	return out
}

// Tenant is a stored tenant with its plan's limits and its usage.
type Tenant struct {
	ID              uuid.UUID    `json:"id"`
	Name            string       `json:"name"`
	Slug            string       `json:"slug"`
	Email           string       `json:"email"`
	Document        string       `json:"document"`
	Phone           string       `json:"phone"`
	PlanID          uuid.UUID    `json:"plan_id"`
	PlanName        string       `json:"plan_name"`
	Status          string       `json:"status"`
	SuspendedAt     *time.Time   `json:"suspended_at"`
	SuspendedReason string       `json:"suspended_reason"`
	DeletedAt       *time.Time   `json:"deleted_at"`
	LastExportAt    *time.Time   `json:"last_export_at"`
	Limits          PlanLimits   `json:"limits"`
	Features        PlanFeatures `json:"features"`
	Usage           TenantUsage  `json:"usage"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

// TenantState is what the engine needs to decide whether a tenant may act.
type TenantState struct {
	Status          string // active, suspended, deleted
	SuspendedReason string
	PlanID          uuid.UUID
	Limits          PlanLimits
	Features        PlanFeatures
	// BusinessHours are the tenant's opening hours (settings.business_hours);
	// nil: always open.
	BusinessHours *BusinessHours
	// OptOutKeywords are the messages that opt a contact out of marketing
	// (settings.opt_out_keywords; DefaultOptOutKeywords when unset), and
	// OptOutReply the confirmation sent back (settings.opt_out_reply).
	OptOutKeywords []string
	OptOutReply    string
	// OutsideHoursReply answers customers while the business is closed;
	// AutoClose resolves idle conversations (settings.outside_hours_reply,
	// settings.auto_close).
	OutsideHoursReply OutsideHoursReply
	AutoClose         AutoClose
}

// DefaultOptOutKeywords opt a contact out unless the tenant set its own.
var DefaultOptOutKeywords = []string{"SAIR", "PARAR", "STOP", "CANCELAR"}

// DefaultOptOutReply confirms an opt-out unless the tenant set its own.
const DefaultOptOutReply = "Pronto! Você não receberá mais nossas mensagens promocionais. Se mudar de ideia, é só nos avisar por aqui."

// OptOutWords are the tenant's opt-out keywords as FoldText leaves them,
// and the longest one's length in bytes: a message longer than a keyword by
// more than a few characters of spaces and punctuation is no keyword, which
// spares folding every message.
func (s TenantState) OptOutWords() (words map[string]bool, longest int) {
	keywords := s.OptOutKeywords
	if keywords == nil {
		keywords = DefaultOptOutKeywords
	}
	words = make(map[string]bool, len(keywords))
	for _, k := range keywords {
		if f := FoldText(k); f != "" {
			words[f] = true
			longest = max(longest, len(k))
		}
	}
	return words, longest
}

// IsOptOut reports whether a customer's message is one of the opt-out
// keywords: the whole message, without case, accents or punctuation.
func (s TenantState) IsOptOut(text string) bool {
	words, longest := s.OptOutWords()
	return IsOptOutWord(text, words, longest)
}

// IsOptOutWord is IsOptOut with the words already folded.
func IsOptOutWord(text string, words map[string]bool, longest int) bool {
	if text == "" || len(text) > 2*longest+8 {
		return false
	}
	return words[FoldText(text)]
}

// InHours reports whether the tenant is open at t.
func (s TenantState) InHours(t time.Time) bool {
	return s.BusinessHours == nil || s.BusinessHours.Open(t)
}

// Active reports whether the tenant may send and be served.
func (s TenantState) Active() bool { return s.Status == "active" }

// Err is nil for an active tenant, else the coded error to refuse with:
// 403 tenant_suspended (with the reason) or 404 for a deleted tenant.
func (s TenantState) Err() error {
	switch s.Status {
	case "active":
		return nil
	case "suspended":
		return NewError(ErrForbidden, "tenant_suspended", "this company's account is suspended",
			map[string]any{"reason": s.SuspendedReason})
	}
	return NotFound("tenant")
}
