import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Bot, Download, Pencil, Plus, Trash2, Upload } from 'lucide-react';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { ApiError } from '../../api/client';
import { botFlows } from '../../api/endpoints';
import type { BotFlow, BotFlowSummary, BotTriggerOn } from '../../api/types';
import { FormError } from '../../components/FormError';
import { PageBody } from '../../components/Shell';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, PageHeader, Select, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatNumber } from '../../lib/format';
import { useForm } from '../../lib/useForm';
import { newId } from './flow';

export const TRIGGERS: BotTriggerOn[] = ['first_message', 'keyword', 'always', 'outside_hours'];

/** The server answers 402 when the tenant's plan lacks the chatbot feature. */
export function notInPlan(err: unknown) {
  return err instanceof ApiError && err.status === 402;
}

/** Saves a JSON document as a file download. */
export function downloadJson(doc: unknown, filename: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export const fileName = (name: string) => `${name.trim().replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '') || 'fluxo'}.json`;

function TriggerText({ flow }: { flow: BotFlowSummary }) {
  const { t } = useTranslation();
  const on = flow.trigger?.on;
  return (
    <span>
      {on ? t(`bots.triggers.${on}`, { defaultValue: on }) : '—'}
      {on === 'keyword' && flow.trigger.keywords?.length ? <span className="text-gray-500"> · {flow.trigger.keywords.join(', ')}</span> : null}
    </span>
  );
}

/** A flow's publication: the active version, and whether the draft has changed since the last publish. */
export function FlowStatus({ flow }: { flow: BotFlowSummary }) {
  const { t } = useTranslation();
  return (
    <span className="inline-flex flex-wrap items-center gap-2" data-testid="flow-status" data-active={flow.active || undefined}>
      {flow.active && flow.active_version != null
        ? <Badge color="#00a884">{t('bots.active', { version: flow.active_version })}</Badge>
        : <Badge>{t('bots.inactive')}</Badge>}
      {flow.latest_version == null
        ? <span className="text-xs text-gray-500">{t('bots.never_published')}</span>
        : flow.has_unpublished_changes && <span className="text-xs text-amber-700">{t('bots.unpublished_changes')}</span>}
    </span>
  );
}

export default function BotFlows() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const q = useQuery({ queryKey: ['bot-flows'], queryFn: () => botFlows.list() });
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<BotFlowSummary | null>(null);
  const [notice, setNotice] = useState('');
  const [importError, setImportError] = useState<unknown>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const remove = useMutation({
    mutationFn: (id: string) => botFlows.remove(id),
    onSuccess: () => {
      setDeleting(null);
      void qc.invalidateQueries({ queryKey: ['bot-flows'] });
    },
  });
  const exportFlow = useMutation({
    mutationFn: async (f: BotFlowSummary) => downloadJson(await botFlows.export(f.id), fileName(f.name)),
  });
  const importFlow = useMutation({
    mutationFn: async (file: File) => {
      let doc: unknown;
      try {
        doc = JSON.parse(await file.text());
      } catch {
        throw new Error(t('bots.import_invalid'));
      }
      return botFlows.import(doc);
    },
    onMutate: () => { setImportError(null); setNotice(''); },
    onSuccess: (f) => {
      setNotice(t('bots.imported', { name: f.name }));
      void qc.invalidateQueries({ queryKey: ['bot-flows'] });
    },
    onError: setImportError,
  });

  if (q.isError && notInPlan(q.error)) {
    return (
      <PageBody>
        <div className="mx-auto max-w-5xl">
          <PageHeader title={t('bots.title')} />
          <Card><EmptyState icon={<Bot className="h-6 w-6" aria-hidden />} title={t('bots.not_in_plan')} /></Card>
        </div>
      </PageBody>
    );
  }

  return (
    <PageBody>
      <div className="mx-auto max-w-5xl">
        <PageHeader
          title={t('bots.title')}
          description={t('bots.description')}
          actions={
            <>
              <input ref={fileInput} type="file" accept="application/json,.json" className="hidden" data-testid="import-file" aria-label={t('bots.import')}
                onChange={(e) => { const f = e.target.files?.[0]; if (f) importFlow.mutate(f); e.target.value = ''; }} />
              <Button variant="outline" onClick={() => fileInput.current?.click()} loading={importFlow.isPending}>
                <Upload className="h-4 w-4" aria-hidden /> {t('bots.import')}
              </Button>
              <Button onClick={() => setCreating(true)} data-testid="new-flow">
                <Plus className="h-4 w-4" aria-hidden /> {t('bots.new')}
              </Button>
            </>
          }
        />
        {notice && <Alert kind="success" className="mb-3">{notice}</Alert>}
        {importError ? <FormError error={importError instanceof ApiError ? importError : new ApiError(400, 'import', (importError as Error).message)} /> : null}
        {exportFlow.isError && <FormError error={exportFlow.error} />}
        <Card>
          {q.isPending ? (
            <SkeletonRows rows={3} />
          ) : q.isError ? (
            <ErrorState error={q.error} onRetry={() => q.refetch()} />
          ) : q.data.length === 0 ? (
            <EmptyState icon={<Bot className="h-6 w-6" aria-hidden />} title={t('bots.empty')} description={t('bots.empty_hint')} />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>{t('bots.name')}</Th>
                  <Th>{t('bots.trigger')}</Th>
                  <Th>{t('bots.status')}</Th>
                  <Th className="text-right">{t('bots.started')}</Th>
                  <Th className="text-right">{t('bots.completed')}</Th>
                  <Th className="text-right">{t('bots.handed_off')}</Th>
                  <Th className="text-right">{t('common.actions')}</Th>
                </tr>
              </thead>
              <tbody data-testid="bot-flows">
                {q.data.map((f) => (
                  <tr key={f.id} data-testid="bot-flow-row">
                    <Td>
                      <Link to={`/bots/${f.id}`} className="font-medium text-brand-700 hover:underline">{f.name}</Link>
                      {f.description && <p className="truncate text-xs text-gray-500">{f.description}</p>}
                    </Td>
                    <Td><TriggerText flow={f} /></Td>
                    <Td>
                      <FlowStatus flow={f} />
                      <p className="text-xs text-gray-500">{t('bots.node_count', { count: f.node_count })}</p>
                    </Td>
                    <Td className="text-right tabular-nums">{formatNumber(f.stats?.started ?? 0)}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(f.stats?.completed ?? 0)}</Td>
                    <Td className="text-right tabular-nums">{formatNumber(f.stats?.handed_off ?? 0)}</Td>
                    <Td className="whitespace-nowrap text-right">
                      <Button variant="ghost" size="sm" onClick={() => navigate(`/bots/${f.id}`)} aria-label={t('bots.open_item', { name: f.name })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                      <Button variant="ghost" size="sm" onClick={() => exportFlow.mutate(f)} aria-label={t('bots.export_item', { name: f.name })}><Download className="h-4 w-4" aria-hidden /></Button>
                      <Button variant="ghost" size="sm" onClick={() => setDeleting(f)} aria-label={t('common.delete_item', { name: f.name })}><Trash2 className="h-4 w-4 text-red-600" aria-hidden /></Button>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
        {creating && <NewFlow onClose={() => setCreating(false)} onCreated={(f) => navigate(`/bots/${f.id}`)} />}
        {deleting && (
          <Modal open onOpenChange={(o) => !o && setDeleting(null)} title={t('bots.delete_title')} description={t('bots.confirm_delete', { name: deleting.name })}>
            <FormError error={remove.error} />
            <div className="flex justify-end gap-2">
              <Button variant="outline" onClick={() => setDeleting(null)}>{t('common.cancel')}</Button>
              <Button variant="danger" loading={remove.isPending} onClick={() => remove.mutate(deleting.id)} data-testid="confirm-delete">{t('common.delete')}</Button>
            </div>
          </Modal>
        )}
      </div>
    </PageBody>
  );
}

function NewFlow({ onClose, onCreated }: { onClose: () => void; onCreated: (f: BotFlow) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ name: '', description: '', on: 'first_message' as BotTriggerOn });
  const save = useMutation({
    mutationFn: () => botFlows.create({
      name: f.values.name.trim(),
      description: f.values.description,
      trigger: { on: f.values.on, keywords: [], connection_ids: [] },
      nodes: [{ id: newId(), type: 'start', name: t('bots.types.start'), config: {}, position: { x: 0, y: 0 } }],
      edges: [],
    }),
    onSuccess: (flow) => {
      void qc.invalidateQueries({ queryKey: ['bot-flows'] });
      onCreated(flow);
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('bots.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('bots.name')} htmlFor="flow-name" error={f.errors.name}>
          <Input id="flow-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required maxLength={120} autoFocus />
        </Field>
        <Field label={t('bots.description_label')} htmlFor="flow-description" error={f.errors.description}>
          <Input id="flow-description" value={f.values.description} onChange={(e) => f.set('description', e.target.value)} />
        </Field>
        <Field label={t('bots.trigger_editor.on')} htmlFor="flow-trigger">
          <Select id="flow-trigger" value={f.values.on} onChange={(e) => f.set('on', e.target.value as BotTriggerOn)}>
            {TRIGGERS.map((x) => <option key={x} value={x}>{t(`bots.triggers.${x}`)}</option>)}
          </Select>
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} data-testid="create-flow">{t('common.create')}</Button>
        </div>
      </form>
    </Modal>
  );
}
