// One typed function per route the console uses (DESIGN §6).
import { api } from './index';
import type {
  ApiToken, CreatedApiToken,
  AudiencePreview, Campaign, ScheduledMessage, CampaignActivity, CampaignAudience, CampaignInput, CampaignRecipient,
  AuditEntry, BotFlow, BotFlowSummary, Connection, Contact, ConversationBot, DeadLetter, Conversation, ImportJob, Label, License, Message, MessageHit, Note, Page, Plan, PlatformMetrics,
  MessageTemplate, OutboxEntry, QuickReply, SendMessageRequest, Team, Tenant, TenantInfo, TenantSettings, TokenResponse, User, UserSummary,
  AdminPasswordReset, TenantAdminAccount,
} from './types';
import type { AgentAvailability, AutoAssign, Availability, BusinessHours, ServiceSettings, TeamQueue } from './types';
import type { WebhookDelivery, WebhookSubscription } from './types';

type Q = Record<string, string | number | boolean | null | undefined>;

/** Accepts a list as {items, next_cursor} or as a bare array. */
export function itemsOf<T>(page: Page<T> | T[] | null | undefined): T[] {
  if (!page) return [];
  if (Array.isArray(page)) return page;
  return page.items ?? [];
}

/** Fetches every page of a list (small tenant lists: users, teams, labels…). */
export async function listAll<T>(path: string, query: Q = {}, max = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined;
  for (let i = 0; i < max; i++) {
    const page = await api.get<Page<T> | T[]>(path, { query: { ...query, limit: 200, cursor } });
    out.push(...itemsOf(page));
    if (Array.isArray(page) || !page?.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

export const auth = {
  login: (body: { email: string; password: string; tenant?: string }) =>
    api.post<TokenResponse>('/api/v1/auth/login', body, { anonymous: true }),
  /** Revokes the session's refresh token (the cookie) and clears the cookie. */
  logout: () => api.post<void>('/api/v1/auth/logout', {}, { anonymous: true }),
  me: () => api.get<UserSummary>('/api/v1/auth/me'),
  /** One's own preferences: the signature switch. */
  updateMe: (body: { signature?: boolean }) => api.patch<UserSummary>('/api/v1/auth/me', body),
  /** Always 202, whether or not the email has an account. */
  forgotPassword: (email: string) => api.post<{ message: string }>('/api/v1/auth/password/forgot', { email }, { anonymous: true }),
  resetPassword: (token: string, password: string) => api.post<void>('/api/v1/auth/password/reset', { token, password }, { anonymous: true }),
  /** Signs the user's other sessions out; this one stays. */
  changePassword: (current_password: string, new_password: string) =>
    api.post<void>('/api/v1/auth/me/password', { current_password, new_password }),
};

function crud<T extends { id: string }, In>(path: string) {
  return {
    list: (query: Q = {}) => listAll<T>(path, query),
    page: (query: Q = {}) => api.get<Page<T>>(path, { query }),
    get: (id: string) => api.get<T>(`${path}/${id}`),
    create: (body: In) => api.post<T>(path, body),
    update: (id: string, body: Partial<In>) => api.patch<T>(`${path}/${id}`, body),
    remove: (id: string) => api.delete<void>(`${path}/${id}`),
  };
}

export interface UserInput { name: string; email: string; password?: string; role: string; team_ids: string[]; active?: boolean }
export interface TeamInput {
  name: string; description: string; member_ids: string[];
  auto_assign?: AutoAssign; max_open_per_agent?: number; sla_first_response_minutes?: number; business_hours?: BusinessHours | null;
}
export interface LabelInput { name: string; color: string }
export interface QuickReplyInput { shortcut: string; title: string; text: string }
export interface ContactInput { name: string; phone: string; email: string; custom_fields: Record<string, unknown>; label_ids: string[] }
export interface PlanInput { name: string; description?: string; monthly_price: string; limits: Plan['limits']; features: Plan['features'] }
export interface TenantInput {
  name: string; email: string; document: string; plan_id: string; slug?: string;
  admin: { name: string; email: string; password: string };
}

export interface ConnectionInput { name: string; channel: string; provider: string; credentials?: Record<string, string>; settings?: Record<string, unknown> }

export const users = crud<User, UserInput>('/api/v1/users');
export const connections = {
  ...crud<Connection, ConnectionInput>('/api/v1/connections'),
  templates: (id: string) => api.get<Page<MessageTemplate>>(`/api/v1/connections/${id}/templates`).then((p) => itemsOf(p)),
  create: (body: ConnectionInput) => api.post<Connection & { app_secret?: string }>('/api/v1/connections', body),
};
export const teams = crud<Team, TeamInput>('/api/v1/teams');
export const labels = crud<Label, LabelInput>('/api/v1/labels');
export const quickReplies = crud<QuickReply, QuickReplyInput>('/api/v1/quick-replies');
export const contacts = {
  /** Records the contact's marketing consent (opted out or back in) with how they said so; audited. */
  consent: (id: string, body: { opted_out: boolean; note: string }) => api.post<{ opted_out: boolean; changed: boolean }>(`/api/v1/contacts/${id}/consent`, body),
  ...crud<Contact, ContactInput>('/api/v1/contacts'),
  importCsv: (file: File) => {
    const form = new FormData();
    form.append('file', file);
    return api.post<ImportJob>('/api/v1/contacts/import', undefined, { form });
  },
  importJob: (id: string) => api.get<ImportJob>(`/api/v1/contacts/imports/${id}`),
  importErrors: (id: string) => api.get<Response>(`/api/v1/contacts/imports/${id}/errors.csv`, { raw: true }),
  exportCsv: (query: Q = {}) => api.get<Response>('/api/v1/contacts/export', { raw: true, query }),
};

export const tenant = {
  get: () => api.get<TenantInfo>('/api/v1/tenant'),
  updateSettings: (body: TenantSettings) => api.patch<TenantSettings>('/api/v1/tenant/settings', body),
  audit: (query: Q = {}) => api.get<Page<AuditEntry>>('/api/v1/audit-log', { query }),
};

export const inbox = {
  deadLetters: (query: Q = {}) => api.get<Page<DeadLetter>>('/api/v1/inbox/dead-letters', { query }),
  retry: (id: string) => api.post<{ id: string; status: string }>(`/api/v1/inbox/dead-letters/${id}/retry`, {}),
};

export const platform = {
  plans: crud<Plan, PlanInput>('/api/v1/admin/plans'),
  tenants: {
    ...crud<Tenant, TenantInput>('/api/v1/admin/tenants'),
    suspend: (id: string, reason: string) => api.post<Tenant>(`/api/v1/admin/tenants/${id}/suspend`, { reason }),
    reactivate: (id: string) => api.post<Tenant>(`/api/v1/admin/tenants/${id}/reactivate`, {}),
    licenses: (id: string) => listAll<License>(`/api/v1/admin/tenants/${id}/licenses`),
    issueLicense: (id: string, body: { server_ip: string; hostname?: string; expires_at: string }) =>
      api.post<License>(`/api/v1/admin/tenants/${id}/licenses`, body),
    revokeLicense: (id: string, lid: string) => api.delete<void>(`/api/v1/admin/tenants/${id}/licenses/${lid}`),
    admins: (id: string) => api.get<{ items: TenantAdminAccount[] }>(`/api/v1/admin/tenants/${id}/admins`).then((r) => r.items),
    resetAdminPassword: (id: string, userId: string) =>
      api.post<AdminPasswordReset>(`/api/v1/admin/tenants/${id}/admins/${userId}/password-reset`, {}),
  },
  metrics: () => api.get<PlatformMetrics>('/api/v1/admin/metrics'),
};

export interface MediaUpload { id: string; url: string; mime_type: string; kind: string; size: number; filename?: string }

export const media = {
  get: (id: string) => api.get<MediaUpload>(`/api/v1/media/${id}`),
  upload: (file: File | Blob, filename: string, channel = 'whatsapp') => {
    const form = new FormData();
    form.append('file', file, filename);
    return api.post<MediaUpload>('/api/v1/media', undefined, { form, query: { channel } });
  },
};

export const conversations = {
  page: (query: Q = {}) => api.get<Page<Conversation>>('/api/v1/conversations', { query }),
  get: (id: string) => api.get<Conversation>(`/api/v1/conversations/${id}`),
  /** note: an internal note stored with a transfer (issue 18). */
  update: (id: string, body: Partial<Pick<Conversation, 'status' | 'assignee_id' | 'team_id' | 'label_ids'>> & { note?: string }) =>
    api.patch<Conversation>(`/api/v1/conversations/${id}`, body),
  messages: (id: string, query: Q = {}) => api.get<Page<Message>>(`/api/v1/conversations/${id}/messages`, { query }),
  send: (id: string, body: SendMessageRequest) => api.post<Message>(`/api/v1/conversations/${id}/messages`, body),
  note: (id: string, text: string) => api.post<Note>(`/api/v1/conversations/${id}/notes`, { text }),
  notes: (id: string) => api.get<Page<Note>>(`/api/v1/conversations/${id}/notes`),
  read: (id: string) => api.post<Conversation>(`/api/v1/conversations/${id}/read`, {}),
  /** The bot's live session, or the latest one (the variables it collected before a hand-off). 402 without the chatbot feature. */
  bot: (id: string) => api.get<ConversationBot>(`/api/v1/conversations/${id}/bot`),
  /** Stops the bot (409 bot_not_active when none runs). */
  stopBot: (id: string) => api.post<Conversation>(`/api/v1/conversations/${id}/bot/stop`, {}),
  /** Hands the conversation to a published flow, from its start (422 when not published, 409 bot_active when one runs). */
  startBot: (id: string, flowId: string) => api.post<Conversation>(`/api/v1/conversations/${id}/bot/start`, { flow_id: flowId }),
  /** Message text search: every word a prefix, accents and case ignored, newest first. */
  searchMessages: (q: string, query: Q = {}) => api.get<Page<MessageHit>>('/api/v1/messages/search', { query: { ...query, q } }),
};

export type BotFlowInput = Pick<BotFlow, 'name' | 'description' | 'trigger' | 'nodes' | 'edges'>;

/** Chatbot flows (issue 16): the draft is edited with PATCH; publish makes an immutable version active. */
export const botFlows = {
  ...crud<BotFlow, BotFlowInput>('/api/v1/bot-flows'),
  /** The list carries summaries: no nodes or edges, node_count instead. */
  list: (query: Q = {}) => listAll<BotFlowSummary>('/api/v1/bot-flows', query),
  publish: (id: string) => api.post<BotFlow>(`/api/v1/bot-flows/${id}/publish`, {}),
  unpublish: (id: string) => api.post<BotFlow>(`/api/v1/bot-flows/${id}/unpublish`, {}),
  export: (id: string) => api.get<unknown>(`/api/v1/bot-flows/${id}/export`),
  import: (doc: unknown) => api.post<BotFlow>('/api/v1/bot-flows/import', doc),
};

/** Messages an agent scheduled for later (issue 17); DELETE cancels a pending one. */
export const scheduled = {
  list: (conversationId: string) => api.get<Page<ScheduledMessage>>('/api/v1/scheduled-messages', { query: { conversation_id: conversationId, limit: 100 } }).then((p) => itemsOf(p)),
  create: (body: { conversation_id: string; type: 'text'; text: string; send_at: string }) => api.post<ScheduledMessage>('/api/v1/scheduled-messages', body),
  update: (id: string, body: { text?: string; send_at?: string }) => api.patch<ScheduledMessage>(`/api/v1/scheduled-messages/${id}`, body),
  cancel: (id: string) => api.delete<ScheduledMessage>(`/api/v1/scheduled-messages/${id}`),
};

/** Campaigns (issue 17): drafts are edited with PATCH; start, pause, resume and cancel move them. */
export const campaigns = {
  page: (query: Q = {}) => api.get<Page<Campaign>>('/api/v1/campaigns', { query }),
  get: (id: string) => api.get<Campaign>(`/api/v1/campaigns/${id}`),
  create: (body: CampaignInput) => api.post<Campaign>('/api/v1/campaigns', body),
  update: (id: string, body: Partial<CampaignInput>) => api.patch<Campaign>(`/api/v1/campaigns/${id}`, body),
  remove: (id: string) => api.delete<void>(`/api/v1/campaigns/${id}`),
  act: (id: string, action: 'start' | 'pause' | 'resume' | 'cancel') => api.post<Campaign>(`/api/v1/campaigns/${id}/${action}`, {}),
  preview: (connectionId: string, audience: CampaignAudience) =>
    api.post<AudiencePreview>('/api/v1/campaigns/audience-preview', { connection_id: connectionId, audience }),
  recipients: (id: string, query: Q = {}) => api.get<Page<CampaignRecipient>>(`/api/v1/campaigns/${id}/recipients`, { query }),
  recipientsCsv: (id: string, query: Q = {}) => api.get<Response>(`/api/v1/campaigns/${id}/recipients.csv`, { raw: true, query }),
  activity: (id: string) => api.get<CampaignActivity>(`/api/v1/campaigns/${id}/activity`, { query: { bucket: 'minute' } }),
};

/** Routing (issue 18): business hours, queues, default teams and the agents' availability. */
export const routing = {
  serviceSettings: () => api.get<ServiceSettings>('/api/v1/tenant/service-settings'),
  saveServiceSettings: (body: ServiceSettings) => api.put<ServiceSettings>('/api/v1/tenant/service-settings', body),
  queues: (perTeam = 50) => api.get<{ teams: TeamQueue[] | null }>('/api/v1/queues', { query: { per_team: perTeam } }).then((r) => r.teams ?? []),
  setDefaultTeam: (connectionId: string, teamId: string | null) =>
    api.put<{ connection_id: string; default_team_id: string | null }>(`/api/v1/connections/${connectionId}/default-team`, { team_id: teamId }),
  setMyAvailability: (availability: Availability) => api.put<{ user_id: string; availability: Availability }>('/api/v1/auth/me/availability', { availability }),
  availability: () => api.get<{ items: AgentAvailability[] | null }>('/api/v1/agents/availability').then((r) => r.items ?? []),
};

/** What a simulated customer sends through a sandbox connection. */
export interface SandboxInbound {
  from: string;
  name?: string;
  type: string;
  text?: string;
  media?: { mime_type: string; filename?: string; caption?: string; voice?: boolean; data_base64: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contacts?: unknown[];
  reaction?: { message_id: string; emoji: string };
  interactive?: { type: 'button_reply' | 'list_reply'; id: string; title: string };
  button?: { payload: string; text: string };
  context?: { message_id: string };
}

/** The sandbox: a fake WhatsApp Cloud API and its simulated customer. */
export const sandbox = {
  inbound: (connectionId: string, body: SandboxInbound) =>
    api.post<{ message_id: string; media_id?: string }>(`/api/v1/sandbox/${connectionId}/inbound`, body),
  outbox: (connectionId: string) => api.get<{ items: OutboxEntry[] | null }>(`/sandbox/api/${connectionId}/outbox`).then((r) => r.items ?? []),
};

/** Saves a fetched Response (CSV) as a file download. */
export async function download(res: Response, fallbackName: string) {
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m?.[1] ?? fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The company's API tokens (admins): created with the secret shown once, listed without it, revoked. */
export const apiTokens = {
  list: () => listAll<ApiToken>('/api/v1/api-tokens'),
  create: (body: { name: string; scope: 'read' | 'write' }) => api.post<CreatedApiToken>('/api/v1/api-tokens', body),
  revoke: (id: string) => api.delete<void>(`/api/v1/api-tokens/${id}`),
};

export interface WebhookSubscriptionInput { url: string; events: string[]; secret?: string; enabled?: boolean }
/** Outbound webhooks: subscriptions, their delivery log and replays (tenant admins). */
export const webhooks = {
  ...crud<WebhookSubscription, WebhookSubscriptionInput>('/api/v1/webhook-subscriptions'),
  deliveries: (id: string, query: Q = {}) => api.get<Page<WebhookDelivery>>(`/api/v1/webhook-subscriptions/${id}/deliveries`, { query }),
  replay: (id: string, deliveryID: string) =>
    api.post<WebhookDelivery>(`/api/v1/webhook-subscriptions/${id}/deliveries/${deliveryID}/replay`, {}),
};
