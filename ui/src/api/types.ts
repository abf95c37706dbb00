// Typed models of the REST API (DESIGN §6). Fields the server may omit are optional.

export type Role = 'SUPER_ADMIN' | 'TENANT_ADMIN' | 'SUPERVISOR' | 'AGENT';
export const TENANT_ROLES: Role[] = ['TENANT_ADMIN', 'SUPERVISOR', 'AGENT'];

export interface UserSummary {
  id: string;
  tenant_id: string | null;
  tenant_name?: string;
  tenant_slug?: string;
  name: string;
  email: string;
  role: Role;
  /** The user's own switch for signing their messages (on unless turned off); it applies when the company's is on. */
  signature?: boolean;
}

export interface TokenResponse {
  access_token: string;
  /** For API clients; the console ignores it (its refresh token is the HttpOnly cookie). */
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  user: UserSummary;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface User {
  id: string;
  name: string;
  email: string;
  role: Role;
  active: boolean;
  team_ids: string[] | null;
  availability?: string;
  last_login_at?: string | null;
  created_at?: string;
}

export interface Team {
  id: string;
  name: string;
  description: string;
  member_ids: string[] | null;
  /** Distribution (issue 18): off, round_robin or least_busy. */
  auto_assign?: AutoAssign;
  /** 0: no cap. */
  max_open_per_agent?: number;
  /** 0: no SLA; counted in business time. */
  sla_first_response_minutes?: number;
  /** The team's own calendar; null: the company's. */
  business_hours?: BusinessHours | null;
}

export interface Label {
  id: string;
  name: string;
  color: string;
}

export interface QuickReply {
  id: string;
  shortcut: string;
  title: string;
  text: string;
  media_id?: string | null;
}

export interface Contact {
  id: string;
  name: string;
  phone: string | null;
  email: string | null;
  avatar_url?: string;
  custom_fields: Record<string, unknown> | null;
  label_ids: string[] | null;
  created_at?: string;
  updated_at?: string;
  opted_out?: boolean;
  blocked?: boolean;
}

export interface ImportJob {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed' | string;
  filename?: string;
  failure?: string;
  total_rows: number;
  processed_rows: number;
  created: number;
  updated: number;
  failed: number;
  errors: { row: number; field: string; message: string }[] | null;
}

/** A plan's quotas; null means unlimited. */
export interface PlanLimits {
  users: number | null;
  connections: number | null;
  contacts: number | null;
  monthly_conversations: number | null;
  monthly_campaigns?: number | null;
}

export interface TenantUsage {
  users: number;
  connections: number;
  contacts: number;
  monthly_conversations: number;
  monthly_campaigns?: number;
}

export interface PlanFeatures {
  chatbot: boolean;
  campaigns: boolean;
  kanban: boolean;
  agenda: boolean;
  reports: boolean;
  api: boolean;
  instagram: boolean;
  messenger: boolean;
}

export const FEATURE_KEYS: (keyof PlanFeatures)[] = [
  'chatbot', 'campaigns', 'kanban', 'agenda', 'reports', 'api', 'instagram', 'messenger',
];

export interface Plan {
  id: string;
  name: string;
  description?: string;
  monthly_price: string | number;
  currency?: string;
  limits: PlanLimits;
  features: PlanFeatures;
  retired?: boolean;
  tenants?: number;
}

export interface License {
  id: string;
  key?: string;
  server_ip: string;
  hostname?: string;
  issued_at?: string;
  expires_at: string;
  revoked_at?: string | null;
  status?: string;
}

export interface Tenant {
  id: string;
  name: string;
  slug?: string;
  email: string;
  document?: string;
  plan_id: string;
  plan_name?: string;
  status: 'active' | 'suspended' | 'deleted' | string;
  suspended_reason?: string;
  created_at?: string;
  usage?: Partial<TenantUsage>;
  license?: LicenseState | null;
  admin?: { id: string; name: string; email: string } | null;
}

export interface LicenseState {
  /** False when this server does not check licenses: every tenant is served. */
  enforced?: boolean;
  valid: boolean;
  reason?: string;
  in_grace?: boolean;
  /** Show a banner: in grace, or expiring within a week. */
  warning?: boolean;
  server_ip?: string;
  expires_at?: string | null;
  grace_ends_at?: string | null;
}

export interface LimitExceeded { resource: string; limit: number; used: number }

export interface TenantInfo {
  id: string;
  name: string;
  slug?: string;
  status?: string;
  plan: { id: string; name: string; limits: PlanLimits; features: PlanFeatures; monthly_price?: string } | null;
  usage: Partial<TenantUsage>;
  exceeded?: LimitExceeded[] | null;
  license: LicenseState | null;
  warning?: boolean;
  warnings?: { code: string; message: string }[] | null;
  settings?: TenantSettings;
}

/** The company's switches (PATCH /api/v1/tenant/settings, admins). */
export interface TenantSettings {
  /** Agents' text messages start with "*Name:*" on their own line. Off by default. */
  agent_signature: boolean;
}

export interface TenantUsageReport {
  tenant_id: string;
  name: string;
  slug?: string;
  status?: string;
  plan_name?: string;
  limits?: PlanLimits;
  usage?: Partial<TenantUsage>;
  exceeded?: LimitExceeded[] | null;
}

export interface PlatformMetrics {
  generated_at?: string;
  month?: string;
  tenants_by_status?: Record<string, number> | null;
  tenants_by_plan?: { plan_id: string; plan_name: string; tenants: number }[] | null;
  users: number;
  contacts?: number;
  connections_by_status?: Record<string, number> | null;
  conversations_this_month: number;
  messages_per_day: { day: string; inbound?: number; outbound?: number; new_conversations?: number; count?: number }[] | null;
  tenant_usage: TenantUsageReport[] | null;
}

export interface AuditEntry {
  id: string;
  actor_id?: string | null;
  actor_name?: string;
  action: string;
  entity?: string;
  entity_id?: string;
  created_at: string;
}

/** An inbox event that failed processing too many times and is no longer retried. */
export interface DeadLetter {
  id: string;
  connection_id: string;
  provider: string;
  kind: string;
  dedupe_key: string;
  attempts: number;
  last_error: string;
  received_at: string;
  dead_at: string;
  contact: string;
  preview: string;
}

export interface Connection {
  id: string;
  name: string;
  channel: Channel;
  provider: 'meta' | 'uazapi' | 'evolution' | 'sandbox' | string;
  status: string;
  external_id?: string;
  settings?: Record<string, unknown> | null;
  verify_token?: string;
  webhook_url?: string;
  credentials_set?: string[] | null;
  last_event_at?: string | null;
  last_error?: string;
  last_error_at?: string | null;
  /** The team its new conversations join (issue 18). */
  default_team_id?: string | null;
}

// ---- conversations and messages (engine issue; shapes per DESIGN §6) ----

export type Channel = 'whatsapp' | 'instagram' | 'messenger';
export type ConversationStatus = 'open' | 'in_progress' | 'waiting' | 'resolved' | 'archived';
export const CONVERSATION_STATUSES: ConversationStatus[] = ['open', 'in_progress', 'waiting', 'resolved', 'archived'];

export interface Conversation {
  id: string;
  connection_id: string;
  channel?: Channel;
  contact_id: string;
  contact?: { id: string; name: string; phone: string | null; avatar_url?: string };
  subject?: string;
  last_seq?: number;
  last_message_preview?: string;
  last_message_direction?: 'inbound' | 'outbound' | '';
  /** The author of the last message when it is outbound: a user of the tenant, or a source such as the bot. */
  last_message_sender?: { user_id: string | null; name: string; via: string } | null;
  last_activity_at?: string;
  bot_active?: boolean;
  status: ConversationStatus;
  assignee_id: string | null;
  assignee_name?: string;
  team_id: string | null;
  label_ids: string[] | null;
  unread_count?: number;
  last_message?: Pick<Message, 'type' | 'text' | 'direction' | 'created_at' | 'status'> & { media?: Media | null };
  last_message_at?: string | null;
  window_expires_at?: string | null;
  created_at?: string;
  /** When the first answer falls due under the team's SLA (issue 18). */
  sla_due_at?: string | null;
}

export type MessageType =
  | 'text' | 'image' | 'audio' | 'video' | 'document' | 'sticker' | 'location' | 'contacts'
  | 'reaction' | 'button_reply' | 'list_reply' | 'template_button' | 'postback' | 'quick_reply'
  | 'share' | 'template' | 'note' | 'interactive' | 'unsupported';

/** Reply buttons or a list we sent, or the customer's tap on one (type button_reply / list_reply). */
export interface Interactive {
  type?: string;
  header?: string;
  body?: string;
  footer?: string;
  buttons?: { id: string; title: string }[] | null;
  list_button?: string;
  sections?: { title?: string; rows: { id: string; title: string; description?: string }[] }[] | null;
  button_reply?: { id: string; title: string } | null;
  list_reply?: { id: string; title: string; description?: string } | null;
}

/** An internal note (GET/POST /api/v1/conversations/{id}/notes). */
export interface Note {
  id: string;
  conversation_id: string;
  author_id: string | null;
  text: string;
  created_at: string;
}

export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';

export interface Media {
  /** The provider's media id (Meta's), or ours on sends. */
  id?: string;
  /** Our stored copy: GET /api/v1/media/{media_id} gives a signed URL. */
  media_id?: string;
  url?: string;
  mime_type?: string;
  caption?: string;
  filename?: string;
  voice?: boolean;
  animated?: boolean;
  size?: number;
  file_size?: number;
  duration?: number;
}

export interface Location {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

export interface ContactCard {
  name?: { formatted_name?: string; first_name?: string; last_name?: string };
  phones?: { phone?: string; wa_id?: string; type?: string }[];
  emails?: { email?: string; type?: string }[];
  orgs?: { company?: string; title?: string }[];
}

export interface Reaction {
  target_id?: string;
  target_external_id?: string;
  emoji: string;
  removed?: boolean;
  from?: string;
}

/** A message a search found, with its conversation (GET /api/v1/messages/search). */
export interface MessageHit {
  message: Message;
  conversation: Conversation;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  direction: 'inbound' | 'outbound';
  type: MessageType;
  text?: string | null;
  media?: Media | null;
  location?: Location | null;
  contacts?: ContactCard[] | null;
  reaction?: Reaction | null;
  reactions?: Reaction[] | null;
  reply_to_id?: string | null;
  external_id?: string | null;
  status: DeliveryStatus;
  error?: { code?: string | number; message?: string; title?: string } | string | null;
  sent_by?: string | null;
  sent_by_name?: string;
  /** Where an outbound message without an author came from: "bot", "campaign", "schedule", "api"… */
  via?: string | null;
  is_note?: boolean;
  idempotency_key?: string | null;
  interactive?: Interactive | null;
  template?: { name?: string; language?: { code?: string } | string; components?: unknown } | null;
  /** Console only: an optimistic bubble not yet accepted by the server. */
  local?: boolean;
  created_at: string;
  delivered_at?: string | null;
  read_at?: string | null;
}

export interface TemplateComponent {
  type: string;
  format?: string;
  text?: string;
  example?: { body_text?: string[][]; [k: string]: unknown };
  buttons?: { type?: string; text?: string; [k: string]: unknown }[];
}

/** A WhatsApp message template (GET /api/v1/connections/:id/templates). */
export interface MessageTemplate {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  components: TemplateComponent[] | null;
}

export interface TemplateSend {
  name: string;
  language: { code: string };
  components: { type: string; parameters: { type: string; text: string }[] }[];
}

export interface SendMessageRequest {
  type: string;
  text?: string;
  media_id?: string;
  template?: TemplateSend;
  location?: Location;
  contacts?: ContactCard[];
  reaction?: { message_id: string; emoji: string };
  reply_to_id?: string;
  idempotency_key: string;
}

/** One message the sandbox "phone" received from us (GET /sandbox/api/:id/outbox). */
export interface OutboxEntry {
  message_id?: string;
  to: string;
  type: string;
  request: Record<string, unknown>;
  statuses: string[] | null;
  error?: { message?: string; code?: number } | null;
  received_at?: string;
}

// ---- chatbot flows (issue 16) ----

export type BotNodeType = 'start' | 'message' | 'question' | 'condition' | 'delay' | 'webhook' | 'add_label' | 'handoff' | 'end';
export type BotTriggerOn = 'first_message' | 'keyword' | 'always' | 'outside_hours';

export interface BotTrigger {
  on: BotTriggerOn;
  keywords: string[];
  connection_ids: string[];
}

export interface BotNode {
  id: string;
  type: BotNodeType;
  name: string;
  config: Record<string, unknown>;
  position: { x: number; y: number };
}

export interface BotEdge {
  from: string;
  to: string;
  handle: string;
}

export interface BotFlowStats {
  started: number;
  completed: number;
  handed_off: number;
}

/** A flow as GET /bot-flows lists it (persistence.BotFlowSummary): without its graph. */
export interface BotFlowSummary {
  id: string;
  name: string;
  description: string;
  trigger: BotTrigger;
  /** Whether new conversations start on it (it has an active version). */
  active: boolean;
  /** The published version conversations start on; null when not published. */
  active_version: number | null;
  /** The latest published version; null when never published. */
  latest_version: number | null;
  published_at: string | null;
  has_unpublished_changes: boolean;
  node_count: number;
  stats: BotFlowStats;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** A flow with its draft graph (persistence.BotFlowRecord). */
export interface BotFlow extends BotFlowSummary {
  nodes: BotNode[] | null;
  edges: BotEdge[] | null;
}

export type BotSessionStatus = 'active' | 'waiting' | 'completed' | 'handed_off' | 'stopped' | 'failed';

/** A conversation's run through a flow (GET /conversations/{id}/bot). */
export interface BotSession {
  id: string;
  flow_id: string;
  flow_name: string;
  version: number;
  status: BotSessionStatus;
  node: string;
  waiting: '' | 'question' | 'delay' | 'webhook';
  variables: Record<string, string> | null;
  started_at: string;
  updated_at: string;
}

/** Whether a bot runs the conversation, and its live session, or when none is live the latest one. */
export interface ConversationBot {
  active: boolean;
  session: BotSession | null;
}

export type CampaignStatus = 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';
export interface CampaignStats { total: number; pending: number; sent: number; delivered: number; read: number; failed: number; skipped: number }
export interface CampaignMessage { type: 'text' | 'template' | 'image' | 'video' | 'document'; text?: string; media_id?: string | null; template?: TemplateSend }
export interface CampaignAudience {
  label_ids?: string[]; exclude_label_ids?: string[]; custom_fields?: Record<string, string>; contact_ids?: string[];
  created_after?: string | null; last_inbound_after?: string | null;
}
export interface QuietHours { from: string; to: string; timezone: string }
export interface Campaign {
  id: string; name: string; connection_id: string; status: CampaignStatus; message: CampaignMessage; audience: CampaignAudience;
  scheduled_at: string | null; rate_per_minute: number; jitter_pct: number; quiet_hours: QuietHours | null;
  stats: CampaignStats; progress: number; estimated_finish_at: string | null; error: { code?: string; message?: string } | null;
  launched_at: string | null; started_at: string | null; finished_at: string | null; created_at: string; updated_at: string;
}
export interface CampaignInput {
  name: string; connection_id: string; message: CampaignMessage; audience: CampaignAudience; scheduled_at: string | null;
  rate_per_minute: number; jitter_pct: number; quiet_hours: QuietHours | null;
}
export interface AudiencePreview {
  count: number; opted_out: number; blocked: number; no_identity: number; duplicate: number; outside_window: number;
  sample: { id: string; name: string; phone: string | null; email: string | null; custom_fields: Record<string, unknown> | null }[];
}
export interface CampaignRecipient {
  contact_id: string; contact_name: string; phone: string | null; position: number; status: string;
  error: { reason?: string; code?: string | number; message?: string } | null; message_id: string | null; conversation_id: string | null;
  sent_at: string | null; delivered_at: string | null; read_at: string | null; updated_at: string;
}
export interface CampaignActivity { bucket: string; points: { at: string; sent: number; delivered: number; read: number; failed: number }[] }

export interface ScheduledMessage {
  id: string; connection_id: string; contact_id: string; conversation_id: string | null;
  message: { type: string; text?: string; media_id?: string | null; template?: unknown };
  send_at: string; status: 'pending' | 'sent' | 'cancelled' | 'failed'; sent_message_id: string | null;
  error: { code?: string; message?: string } | null; created_by: string | null; created_at: string; updated_at: string;
}

/** An API token as the list shows it: never its secret. */
export interface ApiToken {
  id: string;
  name: string;
  scope: 'read' | 'write';
  /** The token's public start (crm_<id>), to tell tokens apart. */
  prefix: string;
  created_by: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** A just-created API token: the only answer that carries the secret token. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

// ---- routing, business hours, SLA and availability (issue 18) ----

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Holidays close whole days: "2026-12-25" once, "12-25" every year. */
export interface Holiday { date: string; name: string }

/** When the company (or a team) answers: open intervals per weekday, in its time zone. */
export interface BusinessHours {
  timezone: string;
  days: Partial<Record<Weekday, [string, string][]>>;
  holidays?: Holiday[] | null;
}

export interface ServiceSettings {
  /** null: always open. */
  business_hours: BusinessHours | null;
  outside_hours_reply: { enabled: boolean; text: string };
  /** idle_hours 0: never. */
  auto_close: { idle_hours: number; message: string };
}

export type AutoAssign = 'off' | 'round_robin' | 'least_busy';
export type Availability = 'online' | 'away' | 'offline';

export interface AgentAvailability { user_id: string; availability: Availability; connected: boolean }

export interface QueueItem {
  conversation_id: string;
  team_id: string;
  contact_id: string;
  contact_name: string;
  contact_phone: string | null;
  channel: Channel | string;
  last_message_preview: string;
  created_at: string;
  queued_at: string;
  waiting_seconds: number;
  sla_due_at: string | null;
}

export interface TeamQueue {
  team_id: string;
  team_name: string;
  auto_assign: AutoAssign;
  waiting: number;
  oldest_queued_at: string | null;
  agents_online: number;
  agents_with_room: number;
  items: QueueItem[] | null;
}

export interface WebhookSubscription {
  id: string;
  url: string;
  events: string[];
  status: 'active' | 'disabled';
  disabled_reason: 'failing' | 'disabled' | null;
  disabled_at: string | null;
  failing_since: string | null;
  has_secret: boolean;
  secret_hint: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  /** Only in the create's answer: shown once. */
  secret?: string;
}

export interface WebhookAttempt {
  attempt: number;
  status_code: number | null;
  response_ms: number;
  error: string | null;
  attempted_at: string;
}

export interface WebhookDelivery {
  id: string;
  subscription_id: string;
  event_id: string;
  event_seq: number;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  status_code: number | null;
  response_ms: number | null;
  error: string | null;
  last_attempt_at: string | null;
  replay_of: string | null;
  created_at: string;
  attempt_log: WebhookAttempt[];
}
/** A tenant admin as the platform owner lists them (password reset). */
export interface TenantAdminAccount { id: string; name: string; email: string; active: boolean; last_login_at: string | null }

/** How a tenant admin's reset link went out: by e-mail, or (no SMTP on the server) in link, shown once. */
export interface AdminPasswordReset { sent: boolean; email: string; expires_at: string; link?: string }
