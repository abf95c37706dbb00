package crm

import "github.com/google/uuid"

// Role is what a user may do. Super admins belong to the platform; the other
// roles belong to one tenant.
type Role string

const (
	RoleSuperAdmin  Role = "SUPER_ADMIN"
	RoleTenantAdmin Role = "TENANT_ADMIN"
	RoleSupervisor  Role = "SUPERVISOR"
	RoleAgent       Role = "AGENT"
	// RoleAPITokenRead and RoleAPITokenWrite are the roles of API tokens
	// (scope read and write): never a user's role (Valid refuses them), they
	// read, or read and write, the tenant's data and nothing else: no users,
	// tokens, settings or platform, nor anything only a browser session
	// does (its socket ticket, its own profile).
	RoleAPITokenRead  Role = "API_TOKEN_READ"
	RoleAPITokenWrite Role = "API_TOKEN_WRITE"
)

// TenantRoles are the roles a tenant user can hold.
var TenantRoles = []Role{RoleTenantAdmin, RoleSupervisor, RoleAgent}

// Valid reports whether r is a tenant role.
func (r Role) Valid() bool {
	return r == RoleTenantAdmin || r == RoleSupervisor || r == RoleAgent
}

// IsAPIToken reports whether the role is an API token's.
func (r Role) IsAPIToken() bool { return r == RoleAPITokenRead || r == RoleAPITokenWrite }

// Permission names one capability. Every handler asks for exactly one.
type Permission string

const (
	PermPlatformManage     Permission = "platform:manage"
	PermUsersRead          Permission = "users:read"
	PermUsersWrite         Permission = "users:write"
	PermTeamsRead          Permission = "teams:read"
	PermTeamsWrite         Permission = "teams:write"
	PermContactsRead       Permission = "contacts:read"
	PermContactsWrite      Permission = "contacts:write"
	PermContactsDelete     Permission = "contacts:delete"
	PermContactsImport     Permission = "contacts:import"
	PermLabelsRead         Permission = "labels:read"
	PermLabelsWrite        Permission = "labels:write"
	PermQuickRepliesRead   Permission = "quick_replies:read"
	PermQuickRepliesWrite  Permission = "quick_replies:write"
	PermConnectionsRead    Permission = "connections:read"
	PermConnectionsWrite   Permission = "connections:write"
	PermConversationsRead  Permission = "conversations:read"
	PermConversationsWrite Permission = "conversations:write"
	PermConversationsAll   Permission = "conversations:all"
	PermConversationsTeams Permission = "conversations:teams"
	PermMessagesSend       Permission = "messages:send"
	PermMediaUpload        Permission = "media:upload"
	PermAuditRead          Permission = "audit:read"
	PermTenantRead         Permission = "tenant:read"
	PermSandboxUse         Permission = "sandbox:use"
	// PermBotFlowsRead sees chatbot flows; PermBotFlowsWrite builds,
	// publishes, imports and deletes them.
	PermBotFlowsRead  Permission = "bot_flows:read"
	PermBotFlowsWrite Permission = "bot_flows:write"
	// PermCampaignsRead sees campaigns and their recipients;
	// PermCampaignsWrite writes, starts, pauses and cancels them.
	PermCampaignsRead  Permission = "campaigns:read"
	PermCampaignsWrite Permission = "campaigns:write"
	// PermInboxManage sees the inbox events that failed for good (dead
	// letters) and puts them back.
	PermInboxManage Permission = "inbox:manage"
	// PermProfileWrite changes one's own preferences (the signature switch).
	PermProfileWrite Permission = "profile:write"
	// PermTenantSettings changes the company's settings (signing agents'
	// messages).
	PermTenantSettings Permission = "tenant:settings"
	// PermAPITokensManage lists, creates and revokes the company's API tokens.
	PermAPITokensManage Permission = "api_tokens:manage"
	// PermBoardsRead sees the Kanban boards and their cards; PermBoardsWrite
	// creates, edits and moves cards; PermBoardsManage creates, renames and
	// deletes boards and their columns.
	PermBoardsRead   Permission = "boards:read"
	PermBoardsWrite  Permission = "boards:write"
	PermBoardsManage Permission = "boards:manage"
	// PermAppointmentsRead sees the agenda; PermAppointmentsWrite books,
	// moves and cancels appointments.
	PermAppointmentsRead  Permission = "appointments:read"
	PermAppointmentsWrite Permission = "appointments:write"
	// PermWebhooksManage sees and writes outbound webhook subscriptions and
	// their delivery logs, and replays deliveries.
	PermWebhooksManage Permission = "webhooks:manage"
)

// rolePermissions is the one permission table. It is never written after
// package initialisation.
var rolePermissions = map[Role][]Permission{
	RoleSuperAdmin: {PermPlatformManage},
	RoleTenantAdmin: {
		PermUsersRead, PermUsersWrite, PermTeamsRead, PermTeamsWrite,
		PermContactsRead, PermContactsWrite, PermContactsDelete, PermContactsImport,
		PermLabelsRead, PermLabelsWrite, PermQuickRepliesRead, PermQuickRepliesWrite,
		PermConnectionsRead, PermConnectionsWrite,
		PermConversationsRead, PermConversationsWrite, PermConversationsAll, PermConversationsTeams,
		PermMessagesSend, PermMediaUpload, PermAuditRead, PermTenantRead, PermSandboxUse, PermInboxManage,
		PermBotFlowsRead, PermBotFlowsWrite, PermProfileWrite, PermTenantSettings,
		PermCampaignsRead, PermCampaignsWrite,
		PermAPITokensManage,
		PermBoardsRead, PermBoardsWrite, PermBoardsManage,
		PermAppointmentsRead, PermAppointmentsWrite,
		PermWebhooksManage,
	},
	RoleSupervisor: {
		PermUsersRead, PermTeamsRead,
		PermContactsRead, PermContactsWrite, PermContactsDelete, PermContactsImport,
		PermLabelsRead, PermLabelsWrite, PermQuickRepliesRead,
		PermConnectionsRead,
		PermConversationsRead, PermConversationsWrite, PermConversationsTeams,
		PermMessagesSend, PermMediaUpload, PermTenantRead, PermSandboxUse,
		PermBotFlowsRead, PermBotFlowsWrite, PermProfileWrite,
		PermCampaignsRead, PermCampaignsWrite,
		PermBoardsRead, PermBoardsWrite, PermBoardsManage,
		PermAppointmentsRead, PermAppointmentsWrite,
	},
	RoleAgent: {
		PermUsersRead, PermTeamsRead,
		PermContactsRead, PermContactsWrite,
		PermLabelsRead, PermQuickRepliesRead,
		PermConversationsRead, PermConversationsWrite,
		PermMessagesSend, PermMediaUpload, PermTenantRead, PermSandboxUse,
		PermBotFlowsRead, PermProfileWrite,
		PermBoardsRead, PermBoardsWrite,
		PermAppointmentsRead, PermAppointmentsWrite,
	},
	RoleAPITokenRead: apiTokenReadPermissions,
	RoleAPITokenWrite: append(append([]Permission{}, apiTokenReadPermissions...),
		PermContactsWrite, PermContactsDelete, PermContactsImport, PermLabelsWrite, PermQuickRepliesWrite,
		PermConversationsWrite, PermMessagesSend, PermMediaUpload, PermBotFlowsWrite, PermCampaignsWrite,
		PermBoardsWrite, PermAppointmentsWrite,
	),
}

// apiTokenReadPermissions is what a read-scope API token may do: read the
// tenant's data (every conversation, as an admin sees them). Users and
// teams are readable so that a program can name assignees; their writes,
// connections' writes (credentials), audit, settings and the dead letters
// stay with people.
var apiTokenReadPermissions = []Permission{
	PermUsersRead, PermTeamsRead, PermContactsRead, PermLabelsRead, PermQuickRepliesRead, PermConnectionsRead,
	PermConversationsRead, PermConversationsAll, PermConversationsTeams, PermTenantRead, PermBotFlowsRead, PermCampaignsRead,
	PermBoardsRead, PermAppointmentsRead,
}

// Can reports whether the role holds the permission.
func (r Role) Can(p Permission) bool {
	for _, q := range rolePermissions[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Principal is who is making a request.
type Principal struct {
	UserID   uuid.UUID
	TenantID uuid.UUID // uuid.Nil for super admins
	Role     Role
	Name     string
	Email    string
	// Signs: the tenant signs its agents' messages and this user has not
	// turned their signature off (SignedText).
	Signs bool
}

// IsPlatform reports whether the principal is a platform owner.
func (p Principal) IsPlatform() bool { return p.Role == RoleSuperAdmin }

// NewID returns a time-ordered UUIDv7.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
