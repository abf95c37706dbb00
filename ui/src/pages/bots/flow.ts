// The flow builder's model, without React: node types and their handles,
// default configs, the side panel's validation, the adapter from the
// server's publish errors to nodes, and the layered auto-layout.
import type { BotEdge, BotNode, BotNodeType } from '../../api/types';

export const NODE_TYPES: BotNodeType[] = ['start', 'message', 'question', 'condition', 'delay', 'webhook', 'add_label', 'handoff', 'end'];

/** The outputs of each node type (the edge's `handle`); `end` has none. */
export const HANDLES: Record<BotNodeType, string[]> = {
  start: ['next'],
  message: ['next'],
  question: ['next', 'invalid', 'timeout'],
  condition: ['true', 'false'],
  delay: ['next'],
  webhook: ['ok', 'error'],
  add_label: ['next'],
  handoff: ['next'],
  end: [],
};

/** Whether a node type takes incoming edges (everything but start). */
export const hasInput = (type: BotNodeType) => type !== 'start';

export const QUESTION_KINDS = ['text', 'number', 'email', 'phone', 'date', 'option'] as const;
export const CONTACT_FIELDS = ['name', 'email', 'phone'] as const;
export const CONDITION_SOURCES = ['variable', 'contact', 'label', 'channel', 'business_hours'] as const;
export const CONDITION_OPS = ['eq', 'neq', 'contains', 'exists', 'gt', 'lt'] as const;
export const DELAY_UNITS = ['seconds', 'minutes', 'hours'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const MAX_BUTTONS = 3; // WhatsApp reply buttons
export const MAX_BUTTON_TITLE = 20;
export const MAX_LIST_ROWS = 10;
export const MAX_ROW_TITLE = 24;

export interface Choice { id: string; title: string }
export interface ConditionRule { source: string; field: string; op: string; value: string }
export interface Mapping { path: string; variable: string }

/** A new node's config. */
export function defaultConfig(type: BotNodeType): Record<string, unknown> {
  switch (type) {
    case 'message': return { text: '', buttons: [], list: null };
    case 'question': return { prompt: '', kind: 'text', options: [], variable: '', contact_field: '', retries: 2, timeout_s: 0 };
    case 'condition': return { match: 'all', rules: [{ source: 'variable', field: '', op: 'eq', value: '' }] };
    case 'delay': return { amount: 5, unit: 'minutes' };
    case 'webhook': return { method: 'POST', url: '', headers: {}, body: '', timeout_s: 10, mappings: [] };
    case 'add_label': return { label_id: '', action: 'add' };
    case 'handoff': return { team_id: '', agent_id: '', message: '' };
    case 'end': return { resolve: false };
    default: return {};
  }
}

/** A v4 UUID (the server stores node ids as uuid); randomUUID needs a secure context, this does not. */
export function newId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const arr = <T,>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);

/** A field's error as an i18n key and its values. */
export interface FieldError { key: string; values?: Record<string, unknown> }

/**
 * The side panel's checks of one node's config, keyed by the config path
 * (`text`, `buttons`, `buttons[1].title`, …). Empty when the node is fine.
 */
export function validateNode(type: BotNodeType, config: Record<string, unknown>): Record<string, FieldError> {
  const e: Record<string, FieldError> = {};
  const required = (path: string, v: unknown) => {
    if (!str(v).trim()) e[path] = { key: 'bots.errors.required' };
  };
  switch (type) {
    case 'message': {
      const buttons = arr<Choice>(config.buttons);
      const list = config.list as { button?: string; rows?: Choice[] } | null | undefined;
      if (!str(config.text).trim() && !str(config.media_id)) e.text = { key: 'bots.errors.text_required' };
      if (buttons.length > MAX_BUTTONS) e.buttons = { key: 'bots.errors.too_many_buttons', values: { n: MAX_BUTTONS } };
      buttons.forEach((b, i) => {
        if (!str(b.title).trim()) e[`buttons[${i}].title`] = { key: 'bots.errors.required' };
        else if (b.title.length > MAX_BUTTON_TITLE) e[`buttons[${i}].title`] = { key: 'bots.errors.max_length', values: { n: MAX_BUTTON_TITLE } };
      });
      if (list) {
        if (buttons.length) e.list = { key: 'bots.errors.buttons_or_list' };
        required('list.button', list.button);
        if (str(list.button).length > MAX_BUTTON_TITLE) e['list.button'] = { key: 'bots.errors.max_length', values: { n: MAX_BUTTON_TITLE } };
        const rows = arr<Choice>(list.rows);
        if (rows.length === 0) e['list.rows'] = { key: 'bots.errors.list_empty' };
        if (rows.length > MAX_LIST_ROWS) e['list.rows'] = { key: 'bots.errors.too_many_rows', values: { n: MAX_LIST_ROWS } };
        rows.forEach((r, i) => {
          if (!str(r.title).trim()) e[`list.rows[${i}].title`] = { key: 'bots.errors.required' };
          else if (r.title.length > MAX_ROW_TITLE) e[`list.rows[${i}].title`] = { key: 'bots.errors.max_length', values: { n: MAX_ROW_TITLE } };
        });
      }
      break;
    }
    case 'question': {
      required('prompt', config.prompt);
      if (!QUESTION_KINDS.includes(str(config.kind) as (typeof QUESTION_KINDS)[number])) e.kind = { key: 'bots.errors.required' };
      if (!str(config.variable).trim() && !str(config.contact_field)) e.variable = { key: 'bots.errors.save_to' };
      else if (str(config.variable) && !/^[a-z_][a-z0-9_]{0,39}$/i.test(str(config.variable))) e.variable = { key: 'bots.errors.variable_name' };
      if (!isInt(config.retries) || (config.retries as number) < 0 || (config.retries as number) > 10) e.retries = { key: 'bots.errors.range', values: { min: 0, max: 10 } };
      if (!isInt(config.timeout_s) || (config.timeout_s as number) < 0 || (config.timeout_s as number) > 7 * 86400) e.timeout_s = { key: 'bots.errors.range', values: { min: 0, max: 7 * 86400 } };
      if (config.kind === 'option') {
        const options = arr<Choice>(config.options);
        if (options.length === 0) e.options = { key: 'bots.errors.options_required' };
        options.forEach((o, i) => required(`options[${i}].title`, o.title));
      }
      break;
    }
    case 'condition': {
      const rules = arr<ConditionRule>(config.rules);
      if (rules.length === 0) e.rules = { key: 'bots.errors.rules_required' };
      rules.forEach((r, i) => {
        if (r.source !== 'business_hours' && r.source !== 'channel') required(`rules[${i}].field`, r.field);
        if (r.op !== 'exists' && r.source !== 'business_hours') required(`rules[${i}].value`, r.value);
      });
      break;
    }
    case 'delay': {
      if (!isInt(config.amount) || (config.amount as number) < 1) e.amount = { key: 'bots.errors.positive' };
      if (!DELAY_UNITS.includes(str(config.unit) as (typeof DELAY_UNITS)[number])) e.unit = { key: 'bots.errors.required' };
      break;
    }
    case 'webhook': {
      const url = str(config.url).trim();
      if (!url) e.url = { key: 'bots.errors.required' };
      else if (!/^(https?:\/\/|\{\{)/i.test(url)) e.url = { key: 'bots.errors.url' };
      if (!isInt(config.timeout_s) || (config.timeout_s as number) < 1 || (config.timeout_s as number) > 30) e.timeout_s = { key: 'bots.errors.range', values: { min: 1, max: 30 } };
      arr<Mapping>(config.mappings).forEach((m, i) => {
        required(`mappings[${i}].path`, m.path);
        required(`mappings[${i}].variable`, m.variable);
      });
      break;
    }
    case 'add_label':
      required('label_id', config.label_id);
      break;
    default:
      break;
  }
  return e;
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

/** The delay in seconds the server may want beside amount/unit. */
export function delaySeconds(config: Record<string, unknown>): number {
  const amount = Number(config.amount) || 0;
  return amount * ({ seconds: 1, minutes: 60, hours: 3600 }[str(config.unit) as 'seconds'] ?? 1);
}
