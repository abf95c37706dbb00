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
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
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
  phone: string;
  email: string;
  custom_fields: Record<string, string> | null;
  label_ids: string[] | null;
  created_at?: string;
  updated_at?: string;
}

export interface ImportJob {
  id: string;
  status: 'pending' | 'running' | 'done' | 'failed' | string;
  total_rows: number;
  processed_rows: number;
  created: number;
  updated: number;
  failed: number;
  errors: { row: number; field: string; message: string }[] | null;
}

export interface PlanLimits {
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
  limits: PlanLimits;
  features: PlanFeatures;
  active?: boolean;
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
  created_at?: string;
  licenses?: License[];
}

export interface LicenseState {
  valid: boolean;
  reason?: string;
  in_grace?: boolean;
  warning?: boolean;
  expires_at?: string | null;
  days_left?: number | null;
}

export interface TenantInfo {
  id: string;
  name: string;
  slug?: string;
  status?: string;
  plan: Plan | null;
  limits?: PlanLimits;
  usage: Partial<PlanLimits>;
  license: LicenseState | null;
}

export interface PlatformMetrics {
  tenants: number;
  active_tenants?: number;
  users: number;
  conversations_this_month: number;
  messages_per_day: { day: string; count: number }[] | null;
  usage_per_tenant: {
    tenant_id: string;
    tenant_name?: string;
    name?: string;
    users: number;
    contacts?: number;
    conversations_this_month?: number;
    conversations?: number;
    messages?: number;
  }[] | null;
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

// ---- conversations and messages (engine issue; shapes per DESIGN §6) ----

export type Channel = 'whatsapp' | 'instagram' | 'messenger';
export type ConversationStatus = 'open' | 'in_progress' | 'waiting' | 'resolved' | 'archived';
export const CONVERSATION_STATUSES: ConversationStatus[] = ['open', 'in_progress', 'waiting', 'resolved', 'archived'];

export interface Conversation {
  id: string;
  connection_id: string;
  channel?: Channel;
  contact_id: string;
  contact?: Pick<Contact, 'id' | 'name' | 'phone'> & { avatar_url?: string };
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
}

export type MessageType =
  | 'text' | 'image' | 'audio' | 'video' | 'document' | 'sticker' | 'location' | 'contacts'
  | 'reaction' | 'button_reply' | 'list_reply' | 'template_button' | 'postback' | 'quick_reply'
  | 'share' | 'template' | 'note' | 'unsupported';

export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';

export interface Media {
  id?: string;
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
  error?: { code?: string; message?: string } | string | null;
  sent_by?: string | null;
  sent_by_name?: string;
  is_note?: boolean;
  created_at: string;
  delivered_at?: string | null;
  read_at?: string | null;
}

export interface SendMessageRequest {
  type: string;
  text?: string;
  media_id?: string;
  template?: { name: string; language: string; parameters: string[] };
  reply_to_id?: string;
  idempotency_key: string;
}
