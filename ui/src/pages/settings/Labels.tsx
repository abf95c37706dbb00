import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, Tag, Trash2 } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { labels } from '../../api/endpoints';
import type { Label } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { useForm } from '../../lib/useForm';

export const LABEL_COLORS = ['#00a884', '#53bdeb', '#f59e0b', '#ef4444', '#8b5cf6', '#ec4899', '#14b8a6', '#64748b'];

export default function LabelsSettings({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['labels'], queryFn: () => labels.list() });
  const [editing, setEditing] = useState<Label | 'new' | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => labels.remove(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['labels'] }),
  });

  return (
    <>
      <Card>
        <div className="flex items-center justify-between border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('labels.title')}</h2>
            <p className="text-sm text-gray-500">{t('labels.description')}</p>
          </div>
          {canWrite && (
            <Button onClick={() => setEditing('new')} data-testid="new-label">
              <Plus className="h-4 w-4" aria-hidden /> {t('labels.new')}
            </Button>
          )}
        </div>
        {q.isPending ? (
          <SkeletonRows rows={4} />
        ) : q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : q.data.length === 0 ? (
          <EmptyState icon={<Tag className="h-6 w-6" aria-hidden />} title={t('labels.empty')} description={t('labels.empty_hint')} />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>{t('labels.name')}</Th>
                <Th>{t('labels.color')}</Th>
                {canWrite && <Th className="text-right">{t('common.actions')}</Th>}
              </tr>
            </thead>
            <tbody data-testid="labels-list">
              {q.data.map((l) => (
                <tr key={l.id}>
                  <Td><Badge color={l.color}>{l.name}</Badge></Td>
                  <Td><span className="inline-flex items-center gap-2 font-mono text-xs text-gray-500"><span className="h-3 w-3 rounded-full" style={{ backgroundColor: l.color }} />{l.color}</span></Td>
                  {canWrite && (
                    <Td className="text-right">
                      <Button variant="ghost" size="sm" onClick={() => setEditing(l)} aria-label={t('common.edit_item', { name: l.name })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                      <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('labels.confirm_delete', { name: l.name }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(l.id); }); }} aria-label={t('common.delete_item', { name: l.name })}><Trash2 className="h-4 w-4 text-red-600" aria-hidden /></Button>
                    </Td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {remove.isError && <div className="p-4"><FormError error={remove.error} /></div>}
        {editing && <LabelForm label={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      </Card>
      {confirmDialog}
    </>
  );
}

function LabelForm({ label, onClose }: { label: Label | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ name: label?.name ?? '', color: label?.color ?? LABEL_COLORS[0] });
  const save = useMutation({
    mutationFn: () => (label ? labels.update(label.id, f.values) : labels.create(f.values)),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['labels'] });
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={label ? t('labels.edit') : t('labels.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('labels.name')} htmlFor="label-name" error={f.errors.name}>
          <Input id="label-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required autoFocus />
        </Field>
        <Field label={t('labels.color')} htmlFor="label-color" error={f.errors.color}>
          <div className="flex flex-wrap items-center gap-2" role="radiogroup" aria-label={t('labels.color')}>
            {LABEL_COLORS.map((c) => (
              <button key={c} type="button" role="radio" aria-checked={f.values.color === c} aria-label={c} onClick={() => f.set('color', c)}
                className={`h-7 w-7 rounded-full ring-offset-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500 ${f.values.color === c ? 'ring-2 ring-gray-800' : ''}`} style={{ backgroundColor: c }} />
            ))}
            <Input id="label-color" className="w-28 font-mono" value={f.values.color} onChange={(e) => f.set('color', e.target.value)} invalid={!!f.errors.color} />
          </div>
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} data-testid="save-label">{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
