// The chatbot flow builder on @xyflow/react: a palette of the nine node
// types, the canvas (drag from an output handle to a block's input to
// connect), a side panel with each node's form or the trigger editor, undo,
// auto-layout, save (PATCH), publish with the server's errors on the nodes,
// and a test panel with the sandbox phone.
import '@xyflow/react/dist/style.css';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Background, Controls, Handle, Position, ReactFlow, ReactFlowProvider, applyEdgeChanges, applyNodeChanges, useReactFlow,
  type Connection as FlowConnection, type Edge, type EdgeChange, type Node, type NodeChange, type NodeProps,
} from '@xyflow/react';
import clsx from 'clsx';
import {
  AlertTriangle, ArrowLeft, Bot, Clock, Download, Flag, GitBranch, HelpCircle, LayoutGrid, MessageSquare, Play, RotateCcw, Rocket, Save,
  Smartphone, Tag, Undo2, UserRound, Webhook, type LucideIcon,
} from 'lucide-react';
import { useCallback, useEffect, useMemo, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { ApiError } from '../../api/client';
import { botFlows, connections, labels as labelsApi, teams as teamsApi, users as usersApi, type BotFlowInput } from '../../api/endpoints';
import type { BotFlow, BotNodeType, BotTrigger, BotTriggerOn } from '../../api/types';
import { FormError } from '../../components/FormError';
import { formatPhone } from '../../lib/format';
import { Alert, Button, Card, EmptyState, ErrorState, Field, Input, Select, SkeletonRows } from '../../components/ui';
import SandboxPhone from '../settings/SandboxPhone';
import { downloadJson, fileName, notInPlan, TRIGGERS } from './BotFlows';
import { FlowStatus } from './BotFlows';
import { NODE_TYPES, autoLayout, cleanConfig, defaultConfig, delayParts, hasInput, newId, nodeHandles, promptOptions, publishErrorsByNode, validateNode } from './flow';
import { NodeForm } from './NodeForm';
import { useHistory } from './useHistory';

export type NodeData = { kind: BotNodeType; name: string; config: Record<string, unknown>; errors?: string[] };
export type FlowNode = Node<NodeData>;

export interface Doc {
  name: string;
  description: string;
  trigger: BotTrigger;
  nodes: FlowNode[];
  edges: Edge[];
}

const ICONS: Record<BotNodeType, LucideIcon> = {
  start: Play, message: MessageSquare, question: HelpCircle, condition: GitBranch, delay: Clock,
  webhook: Webhook, add_label: Tag, handoff: UserRound, end: Flag,
};

const edgeId = (from: string, handle: string, to: string) => `${from}:${handle}->${to}`;

export function toDoc(flow: BotFlow): Doc {
  return {
    name: flow.name,
    description: flow.description ?? '',
    trigger: { on: flow.trigger?.on ?? 'first_message', keywords: flow.trigger?.keywords ?? [], connection_ids: flow.trigger?.connection_ids ?? [] },
    nodes: (flow.nodes ?? []).map((n) => ({
      id: n.id,
      type: n.type,
      position: { x: n.position?.x ?? 0, y: n.position?.y ?? 0 },
      data: { kind: n.type, name: n.name ?? '', config: n.config ?? {} },
      deletable: n.type !== 'start',
    })),
    edges: (flow.edges ?? []).map((e) => ({ id: edgeId(e.from, e.handle, e.to), source: e.from, target: e.to, sourceHandle: e.handle || null })),
  };
}

export function toApi(doc: Doc): BotFlowInput {
  return {
    name: doc.name,
    description: doc.description,
    trigger: doc.trigger,
    nodes: doc.nodes.map((n) => ({ id: n.id, type: n.data.kind, name: n.data.name, config: cleanConfig(n.data.kind, n.data.config), position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })),
    edges: doc.edges.map((e) => ({ from: e.source, to: e.target, handle: e.sourceHandle ?? '' })),
  };
}

function summary(data: NodeData, t: (k: string, o?: Record<string, unknown>) => string): string {
  const c = data.config;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (data.kind) {
    case 'message': return s(c.text);
    case 'question': return s(c.text);
    case 'delay': { const d = delayParts(c.duration_s); return `${d.amount} ${t(`bots.units.${d.unit}`)}`; }
    case 'webhook': return `${s(c.method)} ${s(c.url)}`;
    case 'condition': return t(c.match === 'any' ? 'bots.fields.match_any' : 'bots.fields.match_all');
    case 'handoff': return s(c.message);
    case 'end': return c.resolve ? t('bots.fields.resolve') : '';
    default: return '';
  }
}

/** One block on the canvas: its input on the left, one output per handle on the right. */
function FlowNodeView({ id, data, selected }: NodeProps<FlowNode>) {
  const { t } = useTranslation();
  const Icon = ICONS[data.kind] ?? Bot;
  const invalid = !!data.errors?.length;
  const text = summary(data, t);
  const handles = nodeHandles(data.kind, data.config);
  const options = new Map(promptOptions(data.config).map((o) => [o.id, o.title]));
  return (
    <div
      className={clsx('w-56 rounded-lg border bg-white text-left shadow-sm', invalid ? 'border-red-500 ring-2 ring-red-300' : selected ? 'border-brand-500 ring-2 ring-brand-200' : 'border-gray-300')}
      data-testid="flow-node" data-node-id={id} data-type={data.kind} data-invalid={invalid || undefined}
    >
      {hasInput(data.kind) && <Handle type="target" position={Position.Left} className="!h-3 !w-3 !bg-gray-500" />}
      <div className={clsx('flex items-center gap-2 rounded-t-lg px-3 py-1.5 text-xs font-semibold uppercase tracking-wide', data.kind === 'start' ? 'bg-brand-50 text-brand-700' : 'bg-gray-50 text-gray-600')}>
        <Icon className="h-3.5 w-3.5" aria-hidden /> {t(`bots.types.${data.kind}`)}
      </div>
      <div className="px-3 py-2">
        <p className="truncate text-sm font-medium text-gray-900">{data.name || t(`bots.types.${data.kind}`)}</p>
        {text && <p className="line-clamp-2 text-xs text-gray-500">{text}</p>}
        {invalid && (
          <ul className="mt-1 space-y-0.5 text-xs text-red-600" data-testid="node-errors">
            {data.errors!.map((m, i) => <li key={i} className="flex gap-1"><AlertTriangle className="mt-0.5 h-3 w-3 shrink-0" aria-hidden />{m}</li>)}
          </ul>
        )}
      </div>
      {handles.length > 0 && (
        <div className="border-t border-gray-100 py-1">
          {handles.map((h) => (
            <div key={h} className="relative truncate px-3 py-0.5 text-right text-[11px] text-gray-500">
              {h.startsWith('option:') ? options.get(h.slice(7)) || h.slice(7) : t(`bots.handles.${h}`)}
              <Handle type="source" id={h} position={Position.Right} className="!h-3 !w-3 !bg-brand-500" data-handle={h} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

const nodeTypes = Object.fromEntries(NODE_TYPES.map((k) => [k, FlowNodeView]));

function TriggerEditor({ doc, onChange }: { doc: Doc; onChange: (patch: Partial<Doc>, key: string) => void }) {
  const { t } = useTranslation();
  const connQ = useQuery({ queryKey: ['connections'], queryFn: () => connections.list() });
  const tr = doc.trigger;
  const setTrigger = (patch: Partial<BotTrigger>, key: string) => onChange({ trigger: { ...tr, ...patch } }, `trigger.${key}`);
  return (
    <div className="space-y-4" data-testid="trigger-editor">
      <p className="text-xs font-semibold uppercase tracking-wide text-gray-500">{t('bots.trigger_editor.title')}</p>
      <Field label={t('bots.name')} htmlFor="flow-name">
        <Input id="flow-name" value={doc.name} onChange={(e) => onChange({ name: e.target.value }, 'name')} maxLength={120} invalid={!doc.name.trim()} />
      </Field>
      <Field label={t('bots.description_label')} htmlFor="flow-description">
        <Input id="flow-description" value={doc.description} onChange={(e) => onChange({ description: e.target.value }, 'description')} />
      </Field>
      <Field label={t('bots.trigger_editor.on')} htmlFor="trigger-on">
        <Select id="trigger-on" value={tr.on} onChange={(e) => setTrigger({ on: e.target.value as BotTriggerOn }, 'on')}>
          {TRIGGERS.map((x) => <option key={x} value={x}>{t(`bots.triggers.${x}`)}</option>)}
        </Select>
      </Field>
      {tr.on === 'keyword' && (
        <Field label={t('bots.trigger_editor.keywords')} htmlFor="trigger-keywords" hint={t('bots.trigger_editor.keywords_hint')}
          error={tr.keywords.length === 0 ? t('bots.trigger_editor.keywords_required') : undefined}>
          <Input id="trigger-keywords" defaultValue={tr.keywords.join(', ')} invalid={tr.keywords.length === 0}
            onChange={(e) => setTrigger({ keywords: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) }, 'keywords')} />
        </Field>
      )}
      <fieldset className="space-y-1">
        <legend className="text-sm font-medium text-gray-700">{t('bots.trigger_editor.connections')}</legend>
        <p className="text-xs text-gray-500">{t('bots.trigger_editor.connections_hint')}</p>
        {(connQ.data ?? []).map((c) => (
          <label key={c.id} className="flex items-center gap-2 text-sm text-gray-700">
            <input type="checkbox" checked={tr.connection_ids.includes(c.id)}
              onChange={(e) => setTrigger({ connection_ids: e.target.checked ? [...tr.connection_ids, c.id] : tr.connection_ids.filter((x) => x !== c.id) }, 'connections')} />
            {c.name}
          </label>
        ))}
      </fieldset>
    </div>
  );
}

/** A fresh Brazilian mobile number for a simulated customer: a new contact, so a first_message flow starts again. */
export function randomTestNumber(): string {
  return `55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

/** The test customer's number for a flow, kept for the browser tab so the test conversation survives closing the panel. */
function useTestCustomer(flowId: string): [string, () => void] {
  const key = `crm:bot-test-customer:${flowId}`;
  const [from, setFrom] = useState(() => {
    const kept = sessionStorage.getItem(key);
    if (kept) return kept;
    const n = randomTestNumber();
    sessionStorage.setItem(key, n);
    return n;
  });
  const renew = useCallback(() => {
    const n = randomTestNumber();
    sessionStorage.setItem(key, n);
    setFrom(n);
  }, [key]);
  return [from, renew];
}

/**
 * Runs the flow against the sandbox phone: write as the customer on a
 * sandbox connection and watch the bot's replies arrive. The bot runs the
 * published version, so the panel says when there is none or when the draft
 * differs from it, and when the trigger would not start on this connection.
 */
export function TestPanel({ flow, trigger, dirty }: { flow: BotFlow; trigger: BotTrigger; dirty: boolean }) {
  const { t } = useTranslation();
  const connQ = useQuery({ queryKey: ['connections'], queryFn: () => connections.list() });
  const sandboxes = (connQ.data ?? []).filter((c) => c.provider === 'sandbox');
  const [chosen, setChosen] = useState('');
  const [from, renew] = useTestCustomer(flow.id);
  const id = chosen || sandboxes.find((c) => trigger.connection_ids.includes(c.id))?.id || sandboxes[0]?.id || '';
  if (connQ.isPending) return <SkeletonRows rows={2} />;
  if (connQ.isError) return <ErrorState error={connQ.error} onRetry={() => connQ.refetch()} />;
  if (!sandboxes.length) return <EmptyState icon={<Smartphone className="h-6 w-6" aria-hidden />} title={t('bots.test.none')} />;
  const published = flow.active_version != null;
  const outsideTrigger = trigger.connection_ids.length > 0 && !trigger.connection_ids.includes(id);
  return (
    <div className="space-y-3" data-testid="test-panel">
      <p className="text-xs font-semibold uppercase tracking-wide text-gray-500">{t('bots.test.title')}</p>
      {!published ? (
        <Alert kind="warning"><span data-testid="test-not-published">{t('bots.test.not_published')}</span></Alert>
      ) : (dirty || flow.has_unpublished_changes) ? (
        <Alert kind="info"><span data-testid="test-draft-differs">{t('bots.test.draft_differs', { version: flow.active_version })}</span></Alert>
      ) : (
        <p className="text-xs text-gray-500" data-testid="test-published">{t('bots.test.runs_published', { version: flow.active_version })}</p>
      )}
      <Field label={t('bots.test.connection')} htmlFor="test-connection">
        <Select id="test-connection" value={id} onChange={(e) => setChosen(e.target.value)}>
          {sandboxes.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </Select>
      </Field>
      {outsideTrigger && <Alert kind="warning"><span data-testid="test-outside-trigger">{t('bots.test.outside_trigger')}</span></Alert>}
      <p className="text-xs text-gray-600" data-testid="test-trigger-hint">
        {trigger.on === 'keyword' ? t('bots.test.trigger.keyword', { keywords: trigger.keywords.join(', ') }) : t(`bots.test.trigger.${trigger.on}`)}
      </p>
      <div className="flex items-center justify-between gap-2 text-xs text-gray-600">
        <span>{t('bots.test.customer', { phone: formatPhone(`+${from}`) })}</span>
        <Button type="button" variant="outline" size="sm" onClick={renew} data-testid="test-new-customer" title={t('bots.test.new_customer_hint')}>
          <RotateCcw className="h-3.5 w-3.5" aria-hidden /> {t('bots.test.new_customer')}
        </Button>
      </div>
      <SandboxPhone key={`${id}:${from}`} connectionId={id} embedded customer={{ from, name: t('bots.test.customer_name') }} />
      <Link to={`/settings/connections/${id}/phone`} className="block text-xs text-brand-700 hover:underline">{t('bots.test.open_full')}</Link>
    </div>
  );
}

const emptyDoc: Doc = { name: '', description: '', trigger: { on: 'first_message', keywords: [], connection_ids: [] }, nodes: [], edges: [] };

function Builder({ flow }: { flow: BotFlow }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const rf = useReactFlow();
  const h = useHistory<Doc>(emptyDoc);
  const { set: hset, undo, reset, checkpoint } = h;
  const doc = h.state;
  const [loaded, setLoaded] = useState<string | null>(null);
  const [saved, setSaved] = useState<BotFlow>(flow);
  const [savedJson, setSavedJson] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [testing, setTesting] = useState(false);
  const [serverErrors, setServerErrors] = useState<Record<string, string[]>>({});
  const [generalErrors, setGeneralErrors] = useState<string[]>([]);
  const [showClientErrors, setShowClientErrors] = useState(false);
  const [notice, setNotice] = useState('');

  useEffect(() => {
    if (loaded === flow.id) return;
    const d = toDoc(flow);
    reset(d);
    setSaved(flow);
    setSavedJson(JSON.stringify(toApi(d)));
    setLoaded(flow.id);
  }, [flow, loaded, reset]);

  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labelsApi.list() });
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teamsApi.list(), retry: false });
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => usersApi.list(), retry: false });

  const apiDoc = useMemo(() => toApi(doc), [doc]);
  const dirty = loaded !== null && JSON.stringify(apiDoc) !== savedJson;

  const clientErrors = useMemo(() => {
    const out: Record<string, string[]> = {};
    for (const n of doc.nodes) {
      const e = validateNode(n.data.kind, n.data.config);
      const keys = Object.keys(e);
      if (keys.length) out[n.id] = keys.map((k) => `${k}: ${t(e[k].key, e[k].values)}`);
    }
    return out;
  }, [doc.nodes, t]);

  const shownNodes = useMemo(() => doc.nodes.map((n) => {
    const errors = [...(serverErrors[n.id] ?? []), ...(showClientErrors ? clientErrors[n.id] ?? [] : [])];
    return errors.length || n.data.errors ? { ...n, data: { ...n.data, errors: errors.length ? errors : undefined } } : n;
  }), [doc.nodes, serverErrors, clientErrors, showClientErrors]);

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    const structural = changes.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace');
    const removed = new Set(changes.flatMap((c) => (c.type === 'remove' ? [c.id] : [])));
    hset((d) => ({
      ...d,
      nodes: applyNodeChanges(changes, d.nodes),
      edges: removed.size ? d.edges.filter((e) => !removed.has(e.source) && !removed.has(e.target)) : d.edges,
    }), { record: structural });
    if (removed.size) setSelected((s) => (s && removed.has(s) ? null : s));
  }, [hset]);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    const structural = changes.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace');
    hset((d) => {
      const edges = applyEdgeChanges(changes, d.edges);
      if (structural && edges.length === d.edges.length && changes.every((c) => c.type === 'remove')) return d; // already gone with their node
      return { ...d, edges };
    }, { record: structural });
  }, [hset]);

  const onConnect = useCallback((c: FlowConnection) => {
    if (!c.source || !c.target || c.source === c.target) return;
    const handle = c.sourceHandle ?? '';
    hset((d) => ({
      ...d,
      // an output leads to one block: a new edge from it replaces the old one
      edges: [...d.edges.filter((e) => !(e.source === c.source && (e.sourceHandle ?? '') === handle)),
        { id: edgeId(c.source, handle, c.target), source: c.source, target: c.target, sourceHandle: handle || null }],
    }));
  }, [hset]);

  function addNode(type: BotNodeType, position?: { x: number; y: number }) {
    if (type === 'start' && doc.nodes.some((n) => n.data.kind === 'start')) return;
    const anchor = doc.nodes.find((n) => n.id === selected) ?? doc.nodes.at(-1);
    const pos = position ?? (anchor ? { x: anchor.position.x + 300, y: anchor.position.y } : { x: 0, y: 0 });
    const id = newId();
    hset((d) => ({
      ...d,
      nodes: [...d.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
        { id, type, position: pos, selected: true, deletable: type !== 'start', data: { kind: type, name: t(`bots.types.${type}`), config: defaultConfig(type) } }],
    }));
    setSelected(id);
    setTesting(false);
  }

  function deleteNode(id: string) {
    hset((d) => ({ ...d, nodes: d.nodes.filter((n) => n.id !== id), edges: d.edges.filter((e) => e.source !== id && e.target !== id) }));
    setSelected(null);
  }

  function updateNode(id: string, patch: { name?: string; config?: Record<string, unknown> }, key: string) {
    hset((d) => {
      const nodes = d.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.config ? { config: patch.config } : {}) } } : n));
      // an option removed (or the answer type changed) takes its output's edge with it
      const node = nodes.find((n) => n.id === id);
      const handles = node ? nodeHandles(node.data.kind, node.data.config) : [];
      const edges = patch.config ? d.edges.filter((e) => e.source !== id || handles.includes(e.sourceHandle || 'next')) : d.edges;
      return { ...d, nodes, edges };
    }, { key: `${id}:${key}` });
    if (serverErrors[id]) setServerErrors(({ [id]: _, ...rest }) => rest);
  }

  function layout() {
    hset((d) => ({ ...d, nodes: autoLayout(d.nodes, d.edges) }));
    setTimeout(() => rf.fitView({ padding: 0.2 }), 0);
  }

  // Ctrl+Z / Cmd+Z undoes, except while typing in a field (the field's own undo).
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.key.toLowerCase() !== 'z') return;
      const el = e.target as HTMLElement | null;
      if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable)) return;
      e.preventDefault();
      undo();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [undo]);

  const save = useMutation({
    mutationFn: (body: BotFlowInput) => botFlows.update(flow.id, body),
    onSuccess: (f, body) => {
      setSaved(f);
      setSavedJson(JSON.stringify(body));
      qc.setQueryData(['bot-flows', flow.id], f);
      void qc.invalidateQueries({ queryKey: ['bot-flows'], exact: true });
    },
  });

  const publish = useMutation({
    mutationFn: async () => {
      setNotice('');
      setGeneralErrors([]);
      setServerErrors({});
      if (Object.keys(clientErrors).length) {
        setShowClientErrors(true);
        throw new ApiError(422, 'client_validation', t('bots.builder.fix_first'));
      }
      if (dirty) await save.mutateAsync(apiDoc);
      return botFlows.publish(flow.id);
    },
    onSuccess: (f) => {
      setSaved(f);
      setShowClientErrors(false);
      setNotice(t('bots.builder.published', { version: f.active_version ?? f.latest_version }));
      qc.setQueryData(['bot-flows', flow.id], f);
      void qc.invalidateQueries({ queryKey: ['bot-flows'], exact: true });
    },
    onError: (err) => {
      if (err instanceof ApiError && err.code !== 'client_validation' && (err.status === 422 || err.status === 400)) {
        const r = publishErrorsByNode(err.details, apiDoc.nodes ?? [], apiDoc.edges ?? [], err.message);
        setServerErrors(r.byNode);
        setGeneralErrors(r.general);
      }
    },
  });

  const unpublish = useMutation({
    mutationFn: () => botFlows.unpublish(flow.id),
    onSuccess: (f) => {
      setSaved(f);
      setNotice(t('bots.builder.unpublished'));
      qc.setQueryData(['bot-flows', flow.id], f);
      void qc.invalidateQueries({ queryKey: ['bot-flows'], exact: true });
    },
  });

  const exportFlow = useMutation({ mutationFn: async () => downloadJson(await botFlows.export(flow.id), fileName(doc.name)) });

  function onDrop(e: DragEvent) {
    const type = e.dataTransfer.getData('application/x-bot-node') as BotNodeType;
    if (!NODE_TYPES.includes(type)) return;
    e.preventDefault();
    addNode(type, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  }

  const selectedNode = doc.nodes.find((n) => n.id === selected);
  const hasStart = doc.nodes.some((n) => n.data.kind === 'start');
  const nodeErrorCount = Object.keys(serverErrors).length;

  return (
    <div className="flex h-full flex-col" data-testid="flow-builder">
      <div className="flex flex-wrap items-center gap-2 border-b border-gray-200 bg-white px-3 py-2">
        <Link to="/bots" className="rounded-md p-1.5 text-gray-500 hover:bg-gray-100" aria-label={t('bots.builder.back')}><ArrowLeft className="h-5 w-5" aria-hidden /></Link>
        <div className="min-w-0 flex-1 basis-[calc(100%-3rem)] md:basis-0">
          <p className="truncate font-semibold text-gray-900" data-testid="flow-title">{doc.name || '—'}</p>
          <p className="flex items-center gap-2 whitespace-nowrap text-xs text-gray-500">
            <FlowStatus flow={saved} />
            {dirty && <span className="text-amber-700" data-testid="unsaved">· {t('bots.builder.unsaved')}</span>}
          </p>
        </div>
        <Button variant="outline" size="sm" onClick={undo} disabled={!h.canUndo} title={t('bots.builder.undo')} aria-label={t('bots.builder.undo')} data-testid="undo">
          <Undo2 className="h-4 w-4" aria-hidden />
        </Button>
        <Button variant="outline" size="sm" onClick={layout} data-testid="auto-layout"><LayoutGrid className="h-4 w-4" aria-hidden /> {t('bots.builder.layout')}</Button>
        <Button variant={testing ? 'secondary' : 'outline'} size="sm" onClick={() => setTesting((v) => !v)} data-testid="toggle-test"><Smartphone className="h-4 w-4" aria-hidden /> {t('bots.builder.test')}</Button>
        <Button variant="outline" size="sm" onClick={() => exportFlow.mutate()} aria-label={t('bots.export')}><Download className="h-4 w-4" aria-hidden /></Button>
        <Button variant="outline" size="sm" onClick={() => save.mutate(apiDoc)} loading={save.isPending} disabled={!dirty || !doc.name.trim()} data-testid="save-flow">
          <Save className="h-4 w-4" aria-hidden /> {t('bots.builder.save')}
        </Button>
        {saved.active_version != null && (
          <Button variant="outline" size="sm" onClick={() => unpublish.mutate()} loading={unpublish.isPending} data-testid="unpublish-flow">{t('bots.builder.unpublish')}</Button>
        )}
        <Button size="sm" onClick={() => publish.mutate()} loading={publish.isPending} data-testid="publish-flow"><Rocket className="h-4 w-4" aria-hidden /> {t('bots.builder.publish')}</Button>
      </div>
      {(notice || publish.isError || save.isError || unpublish.isError || exportFlow.isError || generalErrors.length > 0) && (
        <div className="space-y-2 border-b border-gray-200 bg-white px-3 py-2">
          {notice && <Alert kind="success">{notice}</Alert>}
          {publish.isError && (
            <Alert kind="error">
              <span data-testid="publish-error">{nodeErrorCount > 0 ? t('bots.builder.publish_failed') : publish.error.message}</span>
              {generalErrors.length > 0 && <ul className="mt-1 list-disc pl-5">{generalErrors.map((m, i) => <li key={i}>{m}</li>)}</ul>}
            </Alert>
          )}
          {save.isError && <FormError error={save.error} />}
          {unpublish.isError && <FormError error={unpublish.error} />}
          {exportFlow.isError && <FormError error={exportFlow.error} />}
        </div>
      )}
      {/* Phones: the palette is a row of blocks above the canvas and the side panel sits below it, so the canvas keeps the width. */}
      <div className="flex min-h-0 flex-1 flex-col md:flex-row">
        <aside className="flex shrink-0 gap-1 overflow-x-auto border-b border-gray-200 bg-white p-2 md:block md:w-44 md:space-y-1 md:overflow-y-auto md:border-b-0 md:border-r" aria-label={t('bots.builder.palette')} data-testid="palette">
          <p className="hidden px-1 text-xs font-semibold uppercase tracking-wide text-gray-500 md:block">{t('bots.builder.palette')}</p>
          <p className="hidden px-1 pb-1 text-[11px] text-gray-400 md:block">{t('bots.builder.palette_hint')}</p>
          {NODE_TYPES.map((type) => {
            const Icon = ICONS[type];
            const disabled = type === 'start' && hasStart;
            return (
              <button key={type} type="button" draggable={!disabled} disabled={disabled} data-testid={`palette-${type}`}
                title={disabled ? t('bots.builder.only_one_start') : undefined}
                onDragStart={(e) => { e.dataTransfer.setData('application/x-bot-node', type); e.dataTransfer.effectAllowed = 'move'; }}
                onClick={() => addNode(type)}
                className="flex shrink-0 cursor-grab items-center gap-2 whitespace-nowrap rounded-lg border border-gray-200 px-2 py-1.5 text-left text-sm text-gray-700 hover:bg-gray-50 disabled:cursor-not-allowed disabled:opacity-50 md:w-full">
                <Icon className="h-4 w-4 text-brand-600" aria-hidden /> {t(`bots.types.${type}`)}
              </button>
            );
          })}
        </aside>
        <div className="relative min-h-[240px] min-w-0 flex-1" data-testid="flow-canvas" onDrop={onDrop} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }} aria-label={t('bots.builder.canvas')}>
          <ReactFlow<FlowNode, Edge>
            nodes={shownNodes}
            edges={doc.edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeDragStart={() => checkpoint()}
            onSelectionChange={({ nodes }) => setSelected(nodes.length === 1 ? nodes[0].id : null)}
            onPaneClick={() => setSelected(null)}
            deleteKeyCode={['Backspace', 'Delete']}
            defaultEdgeOptions={{ type: 'smoothstep' }}
            fitView
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
        <aside className={clsx('max-h-[45%] shrink-0 overflow-y-auto border-t border-gray-200 bg-white p-3 md:max-h-none md:border-l md:border-t-0', testing ? 'md:w-[400px]' : 'md:w-80')} data-testid="side-panel">
          {testing ? (
            <TestPanel flow={saved} trigger={doc.trigger} dirty={dirty} />
          ) : selectedNode ? (
            <NodeForm
              key={selectedNode.id}
              node={{ id: selectedNode.id, type: selectedNode.data.kind, name: selectedNode.data.name, config: selectedNode.data.config }}
              onChange={(patch, key) => updateNode(selectedNode.id, patch, key)}
              onDelete={() => deleteNode(selectedNode.id)}
              labels={labelsQ.data} teams={teamsQ.data} users={usersQ.data}
              serverErrors={serverErrors[selectedNode.id]}
            />
          ) : (
            <>
              <TriggerEditor doc={doc} onChange={(patch, key) => hset((d) => ({ ...d, ...patch }), { key })} />
              <p className="mt-6 text-xs text-gray-400">{t('bots.builder.select_hint')}</p>
            </>
          )}
        </aside>
      </div>
    </div>
  );
}

export default function FlowBuilder() {
  const { id = '' } = useParams();
  const q = useQuery({ queryKey: ['bot-flows', id], queryFn: () => botFlows.get(id), staleTime: Infinity, refetchOnMount: 'always' });
  const { t } = useTranslation();
  if (q.isPending) return <SkeletonRows rows={4} />;
  if (q.isError) {
    return (
      <div className="p-4">
        <Card>
          {notInPlan(q.error) ? <EmptyState icon={<Bot className="h-6 w-6" aria-hidden />} title={t('bots.not_in_plan')} /> : <ErrorState error={q.error} onRetry={() => q.refetch()} />}
        </Card>
      </div>
    );
  }
  return (
    <ReactFlowProvider>
      <Builder flow={q.data} />
    </ReactFlowProvider>
  );
}
