import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Download, Pencil, Plus, Search, Trash2, Upload, UserRound, X } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../components/ConfirmDialog';
import { Link, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { contacts, download, labels } from '../api/endpoints';
import type { Contact, ImportJob, Label } from '../api/types';
import { CheckList } from '../components/CheckList';
import { FormError } from '../components/FormError';
import { PageBody } from '../components/Shell';
import { Alert, Avatar, Badge, Button, Card, EmptyState, ErrorState, Field, Input, LoadMore, Modal, PageHeader, Select, SkeletonRows, Table, Td, Th } from '../components/ui';
import { useDebounced } from '../lib/useDebounced';
import { translateFieldMessage } from '../lib/fieldMessages';
import { formatPhone } from '../lib/format';
import { useForm } from '../lib/useForm';
import { isSupervisorOrUp, useAuth } from '../store/auth';

export default function ContactsPage() {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const role = useAuth((s) => s.user?.role);
  const [search, setSearch] = useState('');
  const [labelId, setLabelId] = useState('');
  const q = useDebounced(search.trim(), 300);
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labels.list() });
  const list = useInfiniteQuery({
    queryKey: ['contacts', q, labelId],
    queryFn: ({ pageParam }) => contacts.page({ q, label_id: labelId, cursor: pageParam, limit: 50 }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const [editing, setEditing] = useState<Contact | 'new' | null>(null);
  // ?open=<id> opens that contact's form (the link a duplicate phone error gives).
  const [params, setParams] = useSearchParams();
  const openId = params.get('open');
  useEffect(() => {
    if (!openId) return;
    let live = true;
    contacts.get(openId).then((c) => { if (live) setEditing(c); }, () => undefined);
    return () => { live = false; };
  }, [openId]);
  const closeForm = () => {
    setEditing(null);
    if (openId) setParams((p) => { p.delete('open'); return p; }, { replace: true });
  };
  const [importing, setImporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  // Excel in Brazil opens ';' with a BOM directly (',' is its decimal mark); ',' stays one choice away.
  const [delimiter, setDelimiter] = useState<'semicolon' | 'comma'>('semicolon');
  const remove = useMutation({ mutationFn: (id: string) => contacts.remove(id), onSuccess: () => qc.invalidateQueries({ queryKey: ['contacts'] }) });
  const items = list.data?.pages.flatMap((p) => p.items ?? []) ?? [];
  const labelOf = (id: string) => labelsQ.data?.find((l) => l.id === id);

  async function exportCsv() {
    setExporting(true);
    setExportError(null);
    try {
      await download(await contacts.exportCsv({ q, label_id: labelId, delimiter }), 'contatos.csv');
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  }

  return (
    <>
      <PageBody>
        <div className="mx-auto max-w-6xl">
          <PageHeader
            title={t('contacts.title')}
            description={t('contacts.description')}
            actions={
              <>
                <div className="flex items-center">
                <Button variant="outline" onClick={exportCsv} loading={exporting} className="rounded-r-none"><Download className="h-4 w-4" aria-hidden /> {t('contacts.export')}</Button>
                <Select className="-ml-px w-auto rounded-l-none" value={delimiter} onChange={(e) => setDelimiter(e.target.value as 'semicolon' | 'comma')} aria-label={t('contacts.export_format')}>
                  <option value="semicolon">{t('contacts.export_semicolon')}</option>
                  <option value="comma">{t('contacts.export_comma')}</option>
                </Select>
              </div>
                {isSupervisorOrUp(role) && <Button variant="outline" onClick={() => setImporting(true)}><Upload className="h-4 w-4" aria-hidden /> {t('contacts.import')}</Button>}
                <Button onClick={() => setEditing('new')} data-testid="new-contact"><Plus className="h-4 w-4" aria-hidden /> {t('contacts.new')}</Button>
              </>
            }
          />
          {exportError ? <div className="mb-3"><FormError error={exportError} /></div> : null}
          {remove.isError && <div className="mb-3"><FormError error={remove.error} /></div>}
          <Card>
            <div className="flex flex-wrap gap-2 border-b border-gray-100 p-3">
              <div className="relative min-w-[200px] flex-1">
                <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-gray-400" aria-hidden />
                <Input className="pl-8" placeholder={t('contacts.search_placeholder')} aria-label={t('common.search')} value={search} onChange={(e) => setSearch(e.target.value)} />
              </div>
              <Select className="w-auto min-w-[160px]" value={labelId} onChange={(e) => setLabelId(e.target.value)} aria-label={t('contacts.filter_label')}>
                <option value="">{t('contacts.all_labels')}</option>
                {(labelsQ.data ?? []).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
              </Select>
            </div>
            {list.isPending ? (
              <SkeletonRows rows={6} />
            ) : list.isError ? (
              <ErrorState error={list.error} onRetry={() => list.refetch()} />
            ) : items.length === 0 ? (
              <EmptyState icon={<UserRound className="h-6 w-6" aria-hidden />} title={q || labelId ? t('common.no_results') : t('contacts.empty')} description={q || labelId ? undefined : t('contacts.empty_hint')} />
            ) : (
              <>
                <Table>
                  <thead>
                    <tr>
                      <Th>{t('contacts.name')}</Th>
                      <Th>{t('contacts.phone')}</Th>
                      <Th>{t('contacts.email')}</Th>
                      <Th>{t('contacts.labels')}</Th>
                      <Th className="text-right">{t('common.actions')}</Th>
                    </tr>
                  </thead>
                  <tbody data-testid="contacts-list">
                    {items.map((c) => (
                      <tr key={c.id} className="hover:bg-gray-50">
                        <Td>
                          <div className="flex items-center gap-3">
                            <Avatar name={c.name || c.phone} className="h-8 w-8 text-xs" />
                            <span className="font-medium">{c.name || '—'}</span>
                          </div>
                        </Td>
                        <Td className="whitespace-nowrap text-sm tabular-nums"><span data-testid="contact-phone">{formatPhone(c.phone)}</span></Td>
                        <Td className="text-gray-600">{c.email}</Td>
                        <Td>
                          <div className="flex flex-wrap gap-1">
                            {(c.label_ids ?? []).map((id) => {
                              const l = labelOf(id);
                              return l ? <Badge key={id} color={l.color}>{l.name}</Badge> : null;
                            })}
                          </div>
                        </Td>
                        <Td className="whitespace-nowrap text-right">
                          <Button variant="ghost" size="sm" onClick={() => setEditing(c)} aria-label={t('common.edit_item', { name: c.name || c.phone })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                          {isSupervisorOrUp(role) && (
                            <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('contacts.confirm_delete', { name: c.name || c.phone }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(c.id); }); }} aria-label={t('common.delete_item', { name: c.name || c.phone })}><Trash2 className="h-4 w-4 text-red-600" aria-hidden /></Button>
                          )}
                        </Td>
                      </tr>
                    ))}
                  </tbody>
                </Table>
                <LoadMore hasMore={!!list.hasNextPage} loading={list.isFetchingNextPage} onClick={() => list.fetchNextPage()} />
              </>
            )}
          </Card>
        </div>
        {editing && <ContactForm key={editing === 'new' ? 'new' : editing.id} contact={editing === 'new' ? null : editing} labels={labelsQ.data ?? []} onClose={closeForm} />}
        {importing && <ImportDialog onClose={() => setImporting(false)} />}
      </PageBody>
      {confirmDialog}
    </>
  );
}

export function ContactForm({ contact, labels: allLabels, onClose }: { contact: Contact | null; labels: Label[]; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({
    name: contact?.name ?? '', phone: contact?.phone ?? '', email: contact?.email ?? '', label_ids: contact?.label_ids ?? [] as string[],
  });
  const [fields, setFields] = useState<{ key: string; value: string }[]>(
    Object.entries(contact?.custom_fields ?? {}).map(([key, value]) => ({ key, value: value === null || value === undefined ? '' : String(value) })),
  );
  const save = useMutation({
    mutationFn: () => {
      const custom_fields: Record<string, string> = {};
      for (const { key, value } of fields) if (key.trim()) custom_fields[key.trim()] = value;
      const body = { ...f.values, custom_fields };
      return contact ? contacts.update(contact.id, body) : contacts.create(body);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['contacts'] });
      if (contact) void qc.invalidateQueries({ queryKey: ['contact', contact.id] });
      onClose();
    },
    onError: f.fail,
  });
  const customError = Object.entries(f.errors).find(([k]) => k.startsWith('custom_fields'))?.[1];
  // A 409 on the phone names the contact that already has it: say so and link to it.
  const duplicateId = save.error instanceof ApiError && save.error.status === 409 && save.error.details.field === 'phone'
    && typeof save.error.details.contact_id === 'string' && !!f.errors.phone ? save.error.details.contact_id : null;
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={contact ? t('contacts.edit') : t('contacts.new')} wide>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('contacts.name')} htmlFor="contact-name" error={f.errors.name}>
            <Input id="contact-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} autoFocus />
          </Field>
          <Field label={t('contacts.phone')} htmlFor="contact-phone" error={duplicateId ? undefined : f.errors.phone}
            hint={duplicateId ? (
              <span className="text-red-600" role="alert" data-field-error="contact-phone">
                {t('contacts.phone_taken')}{' '}
                <Link to={`/contacts?open=${encodeURIComponent(duplicateId)}`} className="font-medium underline" data-testid="existing-contact">{t('contacts.open_existing')}</Link>
              </span>
            ) : t('contacts.phone_hint')}>
            <Input id="contact-phone" type="tel" value={f.values.phone} onChange={(e) => f.set('phone', e.target.value)} invalid={!!f.errors.phone} placeholder="+55 11 91234-5678" />
          </Field>
          <Field label={t('contacts.email')} htmlFor="contact-email" error={f.errors.email} className="sm:col-span-2">
            <Input id="contact-email" type="email" value={f.values.email} onChange={(e) => f.set('email', e.target.value)} invalid={!!f.errors.email} />
          </Field>
        </div>
        <Field label={t('contacts.labels')} error={f.errors.label_ids}>
          <CheckList name={t('contacts.labels')} items={allLabels} selected={f.values.label_ids} onChange={(ids) => f.set('label_ids', ids)}
            render={(l) => <Badge color={l.color}>{l.name}</Badge>} emptyText={t('contacts.no_labels')} />
        </Field>
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-gray-700">{t('contacts.custom_fields')}</legend>
          {fields.map((row, i) => (
            <div key={i} className="flex gap-2">
              <Input aria-label={t('contacts.field_name')} placeholder={t('contacts.field_name')} value={row.key} onChange={(e) => setFields((fs) => fs.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))} />
              <Input aria-label={t('contacts.field_value')} placeholder={t('contacts.field_value')} value={row.value} onChange={(e) => setFields((fs) => fs.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
              <Button type="button" variant="ghost" onClick={() => setFields((fs) => fs.filter((_, j) => j !== i))} aria-label={t('contacts.remove_field')}><X className="h-4 w-4" aria-hidden /></Button>
            </div>
          ))}
          {customError && <p className="text-xs text-red-600" role="alert">{customError}</p>}
          <Button type="button" variant="outline" size="sm" onClick={() => setFields((fs) => [...fs, { key: '', value: '' }])}><Plus className="h-4 w-4" aria-hidden /> {t('contacts.add_field')}</Button>
        </fieldset>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}

/** One import row's error in the user's language: "Linha 3, telefone: Telefone inválido." */
export function importRowError(e: { row: number; field: string; message: string }, t: (key: string, opts?: Record<string, unknown>) => string): string {
  const message = translateFieldMessage(e.message);
  if (!e.field || e.field === 'row') return t('contacts.row_error_row', { row: e.row, message });
  const known = ['name', 'phone', 'email', 'labels'].includes(e.field);
  return t('contacts.row_error', { row: e.row, field: known ? t(`contacts.${e.field}`).toLowerCase() : e.field, message });
}

const finished = (job?: ImportJob | null) => !!job && ['done', 'completed', 'finished', 'failed', 'succeeded'].includes(job.status);

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const fileRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [dlError, setDlError] = useState<unknown>(null);
  const start = useMutation({
    mutationFn: (f: File) => contacts.importCsv(f),
    onSuccess: (job) => setJobId(job.id),
  });
  const jobQ = useQuery({
    queryKey: ['import-job', jobId],
    queryFn: () => contacts.importJob(jobId!),
    enabled: !!jobId,
    initialData: start.data,
    refetchInterval: (query) => (finished(query.state.data) ? false : 1000),
  });
  const job = jobQ.data ?? start.data;
  const done = finished(job);
  useEffect(() => {
    if (done) void qc.invalidateQueries({ queryKey: ['contacts'] });
  }, [done, qc]);
  const pct = job && job.total_rows > 0 ? Math.min(100, Math.round((job.processed_rows / job.total_rows) * 100)) : done ? 100 : 0;

  async function downloadErrors() {
    setDlError(null);
    try {
      await download(await contacts.importErrors(job!.id), 'erros-importacao.csv');
    } catch (e) {
      setDlError(e);
    }
  }

  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('contacts.import_title')} description={t('contacts.import_description')}>
      {!job ? (
        <form onSubmit={(e) => { e.preventDefault(); if (file) start.mutate(file); }} className="space-y-4">
          <FormError error={start.error} />
          <div className="rounded-lg border-2 border-dashed border-gray-300 p-6 text-center">
            <Upload className="mx-auto mb-2 h-8 w-8 text-gray-400" aria-hidden />
            <input ref={fileRef} id="import-file" type="file" accept=".csv,text/csv" className="sr-only" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            <label htmlFor="import-file" className="cursor-pointer text-sm font-medium text-brand-600 hover:underline">{file ? file.name : t('contacts.choose_file')}</label>
            <p className="mt-1 text-xs text-gray-500">{t('contacts.import_columns')}</p>
          </div>
          <div className="flex justify-end gap-2">
            <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" disabled={!file} loading={start.isPending}>{t('contacts.start_import')}</Button>
          </div>
        </form>
      ) : (
        <div className="space-y-4" data-testid="import-progress">
          <div>
            <div className="mb-1 flex justify-between text-sm">
              <span>{done ? (job.status === 'failed' ? t('contacts.import_failed') : t('contacts.import_done')) : t('contacts.import_running')}</span>
              <span className="tabular-nums text-gray-500">{t('contacts.rows_progress', { done: job.processed_rows, total: job.total_rows })}</span>
            </div>
            <div className="h-2.5 overflow-hidden rounded-full bg-gray-100" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={t('contacts.import_title')}>
              <div className={`h-full rounded-full transition-all ${job.status === 'failed' ? 'bg-red-500' : 'bg-brand-500'}`} style={{ width: `${pct}%` }} />
            </div>
          </div>
          <dl className="grid grid-cols-3 gap-2 text-center">
            <div className="rounded-lg bg-brand-50 p-2"><dt className="text-xs text-gray-600">{t('contacts.created')}</dt><dd className="text-lg font-semibold">{job.created}</dd></div>
            <div className="rounded-lg bg-sky-50 p-2"><dt className="text-xs text-gray-600">{t('contacts.updated')}</dt><dd className="text-lg font-semibold">{job.updated}</dd></div>
            <div className="rounded-lg bg-red-50 p-2"><dt className="text-xs text-gray-600">{t('contacts.failed')}</dt><dd className="text-lg font-semibold">{job.failed}</dd></div>
          </dl>
          {jobQ.isError && <FormError error={jobQ.error} />}
          {job.failed > 0 && (
            <Alert kind="warning">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <span>{t('contacts.import_has_errors', { count: job.failed })}</span>
                <Button variant="outline" size="sm" onClick={downloadErrors}><Download className="h-4 w-4" aria-hidden /> {t('contacts.download_errors')}</Button>
              </div>
              {(job.errors ?? []).length > 0 && (
                <ul className="mt-2 max-h-32 list-disc overflow-y-auto pl-5 text-xs">
                  {(job.errors ?? []).slice(0, 20).map((e, i) => <li key={i}>{importRowError(e, t)}</li>)}
                </ul>
              )}
            </Alert>
          )}
          {dlError ? <FormError error={dlError} /> : null}
          <div className="flex justify-end">
            <Button onClick={onClose} variant={done ? 'primary' : 'outline'}>{done ? t('common.close') : t('contacts.run_in_background')}</Button>
          </div>
        </div>
      )}
    </Modal>
  );
}
