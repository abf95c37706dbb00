// The flow builder's model, without React: node types and their handles,
// default configs, the side panel's validation, the adapter from the
// server's publish errors to nodes, and the layered auto-layout.
import type { BotEdge, BotNode, BotNodeType } from '../../api/types';

export const NODE_TYPES: BotNodeType[] = ['start', 'message', 'question', 'condition', 'delay', 'webhook', 'add_label', 'handoff', 'end'];

/** The fixed outputs of each node type (the edge's `handle`); handoff and end have none (actors/bot: handleAllowed). */
export const HANDLES: Record<BotNodeType, string[]> = {
  start: ['next'],
  message: ['next'],
  question: ['next', 'invalid', 'timeout'],
  condition: ['true', 'false'],
  delay: ['next'],
  webhook: ['ok', 'error'],
  add_label: ['next'],
  handoff: [],
  end: [],
};

/** The edge handle of a question's option: `option:<id>`. */
export const OPTION_HANDLE = 'option:';

export interface Choice { id: string; title: string }
export interface ListRow extends Choice { description?: string }
export interface ListSection { title?: string; rows: ListRow[] }
export interface ListConfig { button: string; sections: ListSection[] }
export interface MediaConfig { type: string; media_id?: string; url?: string; caption?: string }
export interface ConditionRule { source: string; key?: string; op: string; value?: string }
export interface Extract { variable: string; path: string }

/** A prompt's options: its buttons, then its list rows (actors/bot: MessageConfig.options). */
export function promptOptions(config: Record<string, unknown>): Choice[] {
  const out: Choice[] = arr<Choice>(config.buttons).map((b) => ({ id: str(b.id), title: str(b.title) }));
  const list = config.list as ListConfig | null | undefined;
  if (list) for (const s of arr<ListSection>(list.sections)) for (const r of arr<ListRow>(s.rows)) out.push({ id: str(r.id), title: str(r.title) });
  return out;
}

/** The outputs of one node: a question of type option adds `option:<id>` per option. */
export function nodeHandles(type: BotNodeType, config: Record<string, unknown> | undefined): string[] {
  const fixed = HANDLES[type] ?? [];
  if (type !== 'question' || config?.answer_type !== 'option') return fixed;
  return [...fixed, ...promptOptions(config).filter((o) => o.id).map((o) => `${OPTION_HANDLE}${o.id}`)];
}

/** Whether a node type takes incoming edges (everything but start). */
export const hasInput = (type: BotNodeType) => type !== 'start';

export const ANSWER_TYPES = ['text', 'number', 'email', 'phone', 'date', 'option'] as const;
export const CONTACT_FIELDS = ['name', 'email', 'phone'] as const;
export const CONDITION_SOURCES = ['variable', 'contact_field', 'label', 'channel', 'business_hours'] as const;
export type ConditionSource = (typeof CONDITION_SOURCES)[number];
/** The operators each condition source takes (actors/bot: checkCondition). */
export const OPS_BY_SOURCE: Record<ConditionSource, readonly string[]> = {
  variable: ['eq', 'neq', 'contains', 'not_contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'is_set', 'is_not_set'],
  contact_field: ['eq', 'neq', 'contains', 'not_contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'is_set', 'is_not_set'],
  label: ['has', 'has_not'],
  channel: ['eq', 'neq'],
  business_hours: ['in', 'out'],
};
export const CHANNELS = ['whatsapp', 'instagram', 'messenger'] as const;
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document'] as const;
export const NUMERIC_OPS = ['gt', 'gte', 'lt', 'lte'];
export const VALUELESS_OPS = ['is_set', 'is_not_set', 'in', 'out'];
export const DELAY_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export const UNIT_SECONDS: Record<(typeof DELAY_UNITS)[number], number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const MAX_BUTTONS = 3; // WhatsApp reply buttons
export const MAX_BUTTON_TITLE = 20;
export const MAX_LIST_ROWS = 10;
export const MAX_ROW_TITLE = 24;
export const MAX_ROW_DESCRIPTION = 72;
export const MAX_SECTION_TITLE = 24;
export const MAX_RETRIES = 10;
export const MAX_TIMEOUT_S = 7 * 86400;
export const MAX_DELAY_S = 30 * 86400;
export const MAX_WEBHOOK_S = 30;

/** A new node's config, in the server's shape (actors/bot/flow.go). */
export function defaultConfig(type: BotNodeType): Record<string, unknown> {
  switch (type) {
    case 'message': return { text: '' };
    case 'question': return { text: '', answer_type: 'text', variable: '', retries: 2, timeout_s: 0 };
    case 'condition': return { match: 'all', rules: [{ source: 'variable', key: '', op: 'eq', value: '' }] };
    case 'delay': return { duration_s: 300 };
    case 'webhook': return { method: 'POST', url: '', timeout_s: 10 };
    case 'add_label': return { action: 'add', label_ids: [] };
    case 'handoff': return {};
    case 'end': return { resolve: false };
    default: return {};
  }
}

/** A v4 UUID; randomUUID needs a secure context, this does not. Node ids may be any `^[A-Za-z0-9_.:-]{1,64}$`. */
export function newId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function str(v: unknown) { return typeof v === 'string' ? v : ''; }
function arr<T>(v: unknown): T[] { return Array.isArray(v) ? (v as T[]) : []; }
const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
const CUSTOM_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,39}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PATH = /^[A-Za-z0-9_-]+(\[[0-9]+\])*(\.[A-Za-z0-9_-]+(\[[0-9]+\])*)*$/;
const isContactField = (f: string) => (CONTACT_FIELDS as readonly string[]).includes(f) || (f.startsWith('custom.') && CUSTOM_KEY.test(f.slice(7)));
const chars = (s: string) => [...s].length;

/** A field's error as an i18n key and its values. */
export interface FieldError { key: string; values?: Record<string, unknown> }

/**
 * The side panel's checks of one node's config, keyed by the server's config
 * path (`text`, `buttons`, `buttons[1].title`, `list.sections[0].rows[2].title`,
 * `rules[0].op`, …): the same rules as actors/bot/validate.go, so that a
 * flow the panel accepts publishes. Empty when the node is fine.
 */
export function validateNode(type: BotNodeType, config: Record<string, unknown>): Record<string, FieldError> {
  const e: Record<string, FieldError> = {};
  const add = (path: string, key: string, values?: Record<string, unknown>) => { e[path] ??= { key, values }; };
  const required = (path: string, v: unknown) => { if (!str(v).trim()) add(path, 'bots.errors.required'); };
  const maxLen = (path: string, v: unknown, n: number) => { if (chars(str(v)) > n) add(path, 'bots.errors.max_length', { n }); };
  const message = () => {
    const buttons = arr<Choice>(config.buttons);
    const list = config.list as ListConfig | null | undefined;
    const media = config.media as MediaConfig | null | undefined;
    const interactive = buttons.length > 0 || !!list;
    if (!str(config.text).trim() && (!media || interactive)) add('text', 'bots.errors.text_required');
    maxLen('text', config.text, 4096);
    if (buttons.length && list) add('list', 'bots.errors.buttons_or_list');
    if (buttons.length > MAX_BUTTONS) add('buttons', 'bots.errors.too_many_buttons', { n: MAX_BUTTONS });
    const ids = new Set<string>();
    const option = (path: string, o: Choice, max: number) => {
      if (!str(o.id).trim()) add(`${path}.id`, 'bots.errors.required');
      else if (ids.has(o.id)) add(`${path}.id`, 'bots.errors.duplicate_id');
      ids.add(o.id);
      required(`${path}.title`, o.title);
      maxLen(`${path}.title`, o.title, max);
    };
    buttons.forEach((b, i) => option(`buttons[${i}]`, b, MAX_BUTTON_TITLE));
    if (list) {
      required('list.button', list.button);
      maxLen('list.button', list.button, MAX_BUTTON_TITLE);
      const sections = arr<ListSection>(list.sections);
      if (sections.length === 0) add('list.sections', 'bots.errors.list_empty');
      let rows = 0;
      sections.forEach((s, i) => {
        maxLen(`list.sections[${i}].title`, s.title, MAX_SECTION_TITLE);
        const rs = arr<ListRow>(s.rows);
        if (rs.length === 0) add(`list.sections[${i}].rows`, 'bots.errors.list_empty');
        rs.forEach((r, j) => {
          option(`list.sections[${i}].rows[${j}]`, r, MAX_ROW_TITLE);
          maxLen(`list.sections[${i}].rows[${j}].description`, r.description, MAX_ROW_DESCRIPTION);
          rows++;
        });
      });
      if (rows > MAX_LIST_ROWS) add('list.sections', 'bots.errors.too_many_rows', { n: MAX_LIST_ROWS });
    }
    if (media) {
      if (!(MEDIA_TYPES as readonly string[]).includes(str(media.type))) add('media.type', 'bots.errors.required');
      if (!str(media.media_id) === !str(media.url)) add('media.url', 'bots.errors.media_source');
      else if (media.url && !/^https?:\/\/[^/?#]+/i.test(media.url)) add('media.url', 'bots.errors.url');
      maxLen('media.caption', media.caption, 1024);
    }
  };
  switch (type) {
    case 'message':
      message();
      break;
    case 'question': {
      message();
      const answer = str(config.answer_type) || 'text';
      if (!(ANSWER_TYPES as readonly string[]).includes(answer)) add('answer_type', 'bots.errors.required');
      const options = promptOptions(config);
      if (answer === 'option') {
        if (options.length === 0) add('buttons', 'bots.errors.options_required');
        for (const id of Object.keys((config.keywords as Record<string, string[]> | undefined) ?? {})) {
          if (!options.some((o) => o.id === id)) add('keywords', 'bots.errors.keyword_option');
        }
      } else if (options.length) add('answer_type', 'bots.errors.options_need_option');
      const variable = str(config.variable);
      const field = str(config.contact_field);
      if (variable && !VARIABLE.test(variable)) add('variable', 'bots.errors.variable_name');
      if (field) {
        if (!isContactField(field)) add('contact_field', 'bots.errors.contact_field');
        else if (field === 'email' && answer !== 'email') add('contact_field', 'bots.errors.email_answer');
        else if (field === 'phone' && answer !== 'phone') add('contact_field', 'bots.errors.phone_answer');
      }
      if (!isInt(config.retries) || (config.retries as number) < 0 || (config.retries as number) > MAX_RETRIES) add('retries', 'bots.errors.range', { min: 0, max: MAX_RETRIES });
      maxLen('retry_message', config.retry_message, 4096);
      if (!isInt(config.timeout_s) || (config.timeout_s as number) < 0 || (config.timeout_s as number) > MAX_TIMEOUT_S) add('timeout_s', 'bots.errors.range', { min: 0, max: MAX_TIMEOUT_S });
      break;
    }
    case 'condition': {
      if (config.match !== undefined && config.match !== 'all' && config.match !== 'any') add('match', 'bots.errors.required');
      const rules = arr<ConditionRule>(config.rules);
      if (rules.length === 0) add('rules', 'bots.errors.rules_required');
      if (rules.length > 20) add('rules', 'bots.errors.too_many_rules', { n: 20 });
      rules.forEach((r, i) => {
        const p = `rules[${i}]`;
        const ops = OPS_BY_SOURCE[r.source as ConditionSource];
        if (!ops) { add(`${p}.source`, 'bots.errors.required'); return; }
        if (!ops.includes(r.op)) add(`${p}.op`, 'bots.errors.required');
        if (r.source === 'variable' && !VARIABLE.test(str(r.key))) add(`${p}.key`, 'bots.errors.variable_name');
        if (r.source === 'contact_field' && !isContactField(str(r.key))) add(`${p}.key`, 'bots.errors.contact_field');
        if (r.source === 'label' && !UUID.test(str(r.value))) add(`${p}.value`, 'bots.errors.required');
        if (r.source === 'channel' && !(CHANNELS as readonly string[]).includes(str(r.value))) add(`${p}.value`, 'bots.errors.required');
        if ((r.source === 'variable' || r.source === 'contact_field') && NUMERIC_OPS.includes(r.op) && !/^\s*-?\d+([.,]\d+)?\s*$/.test(str(r.value))) add(`${p}.value`, 'bots.errors.number');
        maxLen(`${p}.value`, r.value, 1000);
      });
      break;
    }
    case 'delay': {
      const d = config.duration_s;
      if (!isInt(d) || (d as number) < 1 || (d as number) > MAX_DELAY_S) add('duration_s', 'bots.errors.range', { min: 1, max: MAX_DELAY_S });
      break;
    }
    case 'webhook': {
      const method = str(config.method) || 'POST';
      if (!(HTTP_METHODS as readonly string[]).includes(method)) add('method', 'bots.errors.required');
      const url = str(config.url).trim();
      const host = /^https?:\/\/([^/?#]*)/i.exec(url)?.[1];
      if (!url) add('url', 'bots.errors.required');
      else if (!host || host.includes('{{')) add('url', 'bots.errors.url');
      const timeout = config.timeout_s ?? 10;
      if (!isInt(timeout) || (timeout as number) < 1 || (timeout as number) > MAX_WEBHOOK_S) add('timeout_s', 'bots.errors.range', { min: 1, max: MAX_WEBHOOK_S });
      for (const k of Object.keys((config.headers as Record<string, string> | undefined) ?? {})) {
        if (!/^[A-Za-z0-9-]{1,64}$/.test(k)) add('headers', 'bots.errors.header_name', { name: k });
      }
      arr<Extract>(config.save).forEach((s, i) => {
        if (!VARIABLE.test(str(s.variable))) add(`save[${i}].variable`, 'bots.errors.variable_name');
        if (!PATH.test(str(s.path).replace(/^\$\./, ''))) add(`save[${i}].path`, 'bots.errors.json_path');
      });
      break;
    }
    case 'add_label': {
      const action = str(config.action) || 'add';
      if (action !== 'add' && action !== 'remove') add('action', 'bots.errors.required');
      const ids = arr<string>(config.label_ids);
      if (ids.length === 0 || ids.length > 20) add('label_ids', 'bots.errors.labels_required');
      break;
    }
    case 'handoff':
      if (str(config.team_id) && str(config.agent_id)) add('agent_id', 'bots.errors.team_or_agent');
      maxLen('message', config.message, 4096);
      break;
    case 'end':
      maxLen('message', config.message, 4096);
      break;
    default:
      break;
  }
  return e;
}

/**
 * A node's config as the server decodes it (strictly: unknown fields are
 * refused, an empty string is no UUID): drops empty optional fields.
 */
export function cleanConfig(type: BotNodeType, config: Record<string, unknown>): Record<string, unknown> {
  const c: Record<string, unknown> = { ...config };
  const dropEmpty = (...keys: string[]) => { for (const k of keys) if (c[k] === '' || c[k] === null || c[k] === undefined) delete c[k]; };
  if (type === 'message' || type === 'question') {
    if (Array.isArray(c.buttons) && c.buttons.length === 0) delete c.buttons;
    dropEmpty('list', 'media');
    if (c.media) {
      const m = { ...(c.media as MediaConfig) };
      for (const k of ['media_id', 'url', 'caption'] as const) if (!m[k]) delete m[k];
      c.media = m;
    }
    if (typeof c.text !== 'string') c.text = '';
  }
  if (type === 'question') {
    dropEmpty('variable', 'contact_field', 'retry_message');
    if (c.keywords && typeof c.keywords === 'object') {
      const kw = Object.fromEntries(Object.entries(c.keywords as Record<string, string[]>).filter(([, v]) => Array.isArray(v) && v.length));
      if (Object.keys(kw).length) c.keywords = kw;
      else delete c.keywords;
    }
  }
  if (type === 'condition') c.rules = arr<ConditionRule>(c.rules).map((r) => {
    const out: ConditionRule = { source: r.source, op: r.op };
    if (r.key) out.key = r.key;
    if (r.value) out.value = r.value;
    return out;
  });
  if (type === 'webhook') {
    dropEmpty('body');
    if (c.headers && Object.keys(c.headers as object).length === 0) delete c.headers;
    if (Array.isArray(c.save) && c.save.length === 0) delete c.save;
  }
  if (type === 'handoff' || type === 'end') dropEmpty('team_id', 'agent_id', 'message');
  return c;
}

/** Flattens nested details into path → message (`{nodes: [{config: {x: "bad"}}]}` → `nodes[0].config.x`). */
function flatten(v: unknown, path: string, out: [string, string][]) {
  if (typeof v === 'string') out.push([path, v]);
  else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) v.forEach((x) => out.push([path, x as string]));
    else v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.message === 'string' && Object.keys(o).every((k) => ['message', 'code', 'field'].includes(k))) out.push([path, o.message]);
    else for (const [k, x] of Object.entries(o)) flatten(x, path ? `${path}.${k}` : k, out);
  }
}

/** One entry of a flow_invalid answer's details.node_errors (actors/bot: NodeError). */
export interface NodeErrorDetail { node_id: string; index: number; field: string; message: string }

export interface PublishErrors {
  /** Messages per node id. */
  byNode: Record<string, string[]>;
  /** Messages that name no node (the trigger, the flow as a whole). */
  general: string[];
}

/**
 * Reads a publish answer's `details` and says which nodes it blames. Keys
 * may name a node by position (`nodes[3].config.buttons`, in the order the
 * flow was saved), by id (`<uuid>`, `nodes.<uuid>.config`, `node <uuid>`),
 * or an edge (`edges[2]`, blamed on its source node). Field errors may sit
 * under `details.fields` or at the top level.
 */
export function publishErrorsByNode(details: unknown, nodes: Pick<BotNode, 'id'>[], edges: Pick<BotEdge, 'from'>[] = [], message?: string): PublishErrors {
  const d = details as { fields?: Record<string, unknown>; node_errors?: NodeErrorDetail[] } | null | undefined;
  if (d && Array.isArray(d.node_errors)) {
    // the server's flow_invalid: node_errors name each node by id; the
    // fields not under nodes[…] (trigger, edges, the flow) are the rest
    const byNode: Record<string, string[]> = {};
    const general: string[] = [];
    const known = new Set(nodes.map((n) => n.id));
    for (const ne of d.node_errors) {
      const id = known.has(ne.node_id) ? ne.node_id : nodes[ne.index]?.id;
      const field = (ne.field ?? '').replace(/^config\./, '');
      const text = field ? `${field}: ${ne.message}` : ne.message;
      if (id) (byNode[id] ??= []).push(text);
      else general.push(text);
    }
    const rest = Object.fromEntries(Object.entries(d.fields ?? {}).filter(([k]) => !k.startsWith('nodes[')));
    const other = Object.keys(rest).length ? publishErrorsByNode({ fields: rest }, nodes, edges) : { byNode: {}, general: [] };
    for (const [id, msgs] of Object.entries(other.byNode)) (byNode[id] ??= []).push(...msgs);
    general.push(...other.general);
    if (!Object.keys(byNode).length && !general.length && message) general.push(message);
    return { byNode, general };
  }
  const pairs: [string, string][] = [];
  flatten(details, '', pairs);
  const byNode: Record<string, string[]> = {};
  const general: string[] = [];
  const ids = nodes.map((n) => n.id).filter(Boolean).sort((a, b) => b.length - a.length);
  const blame = (id: string, text: string) => (byNode[id] ??= []).push(text);
  for (const [rawPath, text] of pairs) {
    const path = rawPath.replace(/^fields\./, '');
    if (path === 'node_id' && ids.includes(text)) {
      // {node_id: "<id>"}: the error's own message is about that node
      if (message) blame(text, message);
      continue;
    }
    let id: string | undefined;
    const byIndex = /(?:^|\.)nodes\[(\d+)\]/.exec(path);
    const edgeIndex = /(?:^|\.)edges\[(\d+)\]/.exec(path);
    if (byIndex) id = nodes[Number(byIndex[1])]?.id;
    else if (edgeIndex) id = edges[Number(edgeIndex[1])]?.from;
    if (!id) id = ids.find((x) => path.includes(x));
    if (!id) {
      general.push(path && path !== 'message' ? `${path}: ${text}` : text);
      continue;
    }
    // what is left of the path after the node names the field: "config.buttons" → "buttons"
    const field = path.slice(path.indexOf(byIndex?.[0] ?? edgeIndex?.[0] ?? id) + (byIndex?.[0] ?? edgeIndex?.[0] ?? id).length).replace(/^[.\]]+/, '').replace(/^config\./, '');
    blame(id, field ? `${field}: ${text}` : text);
  }
  return { byNode, general };
}

const X_GAP = 300;
const Y_GAP = 150;

/**
 * A layered layout: each node's column is its distance (BFS over edges) from
 * the start node; nodes nobody reaches go in a column after the last. Rows
 * keep the nodes' current vertical order, centred on the tallest column.
 */
export function autoLayout<T extends { id: string; type?: string; position: { x: number; y: number } }>(nodes: T[], edges: { source: string; target: string }[]): T[] {
  const depth = new Map<string, number>();
  const start = nodes.find((n) => n.type === 'start') ?? nodes[0];
  if (!start) return nodes;
  const out = new Map<string, string[]>();
  for (const e of edges) (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
  depth.set(start.id, 0);
  const queue = [start.id];
  while (queue.length) {
    const id = queue.shift()!;
    for (const next of out.get(id) ?? []) {
      if (!depth.has(next)) {
        depth.set(next, depth.get(id)! + 1);
        queue.push(next);
      }
    }
  }
  const maxDepth = Math.max(0, ...depth.values());
  const columns = new Map<number, T[]>();
  for (const n of nodes) {
    const d = depth.get(n.id) ?? maxDepth + 1;
    (columns.get(d) ?? columns.set(d, []).get(d)!).push(n);
  }
  const tallest = Math.max(...[...columns.values()].map((c) => c.length));
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, col] of columns) {
    col.sort((a, b) => a.position.y - b.position.y);
    const offset = ((tallest - col.length) * Y_GAP) / 2;
    col.forEach((n, i) => pos.set(n.id, { x: d * X_GAP, y: offset + i * Y_GAP }));
  }
  return nodes.map((n) => ({ ...n, position: pos.get(n.id)! }));
}

/** A delay's length as the form shows it: the largest unit that divides duration_s. */
export function delayParts(durationS: unknown): { amount: number; unit: (typeof DELAY_UNITS)[number] } {
  const d = typeof durationS === 'number' && Number.isFinite(durationS) ? durationS : 0;
  for (const unit of ['days', 'hours', 'minutes'] as const) if (d > 0 && d % UNIT_SECONDS[unit] === 0) return { amount: d / UNIT_SECONDS[unit], unit };
  return { amount: d, unit: 'seconds' };
}
