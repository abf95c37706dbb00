import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, Search, Trash2, Zap } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { quickReplies } from '../../api/endpoints';
import type { QuickReply } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Button, Card, EmptyState, ErrorState, Field, Input, Modal, SkeletonRows, Textarea } from '../../components/ui';
import { useDebounced } from '../../lib/useDebounced';
import { useForm } from '../../lib/useForm';

export default function QuickRepliesSettings({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const [search, setSearch] = useState('');
  const q = useDebounced(search, 250);
  const list = useQuery({ queryKey: ['quick-replies', q], queryFn: () => quickReplies.list({ q }) });
  const [editing, setEditing] = useState<QuickReply | 'new' | null>(null);
  const remove = useMutation({ mutationFn: (id: string) => quickReplies.remove(id), onSuccess: () => qc.invalidateQueries({ queryKey: ['quick-replies'] }) });

  return (
    <>
      <Card>
        <div className="flex flex-wrap items-center justify-between gap-3 border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('quick_replies.title')}</h2>
            <p className="text-sm text-gray-500">{t('quick_replies.description')}</p>
          </div>
          <div className="flex items-center gap-2">
            <div className="relative">
              <Search className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-gray-400" aria-hidden />
              <Input className="w-48 pl-8" placeholder={t('common.search')} aria-label={t('common.search')} value={search} onChange={(e) => setSearch(e.target.value)} />
            </div>
            {canWrite && <Button onClick={() => setEditing('new')}><Plus className="h-4 w-4" aria-hidden /> {t('quick_replies.new')}</Button>}
          </div>
        </div>
        {remove.isError && <div className="px-4 pt-4"><FormError error={remove.error} /></div>}
        {list.isPending ? (
          <SkeletonRows rows={3} />
        ) : list.isError ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : list.data.length === 0 ? (
          <EmptyState icon={<Zap className="h-6 w-6" aria-hidden />} title={q ? t('common.no_results') : t('quick_replies.empty')} description={q ? undefined : t('quick_replies.empty_hint')} />
        ) : (
          <ul className="divide-y divide-gray-100">
            {list.data.map((r) => (
              <li key={r.id} className="flex items-start gap-3 p-4">
                <code className="rounded bg-brand-50 px-1.5 py-0.5 text-sm font-semibold text-brand-700">/{r.shortcut}</code>
                <div className="min-w-0 flex-1">
                  <p className="font-medium text-gray-900">{r.title}</p>
                  <p className="whitespace-pre-wrap text-sm text-gray-600">{r.text}</p>
                </div>
                {canWrite && (
                  <div className="shrink-0">
                    <Button variant="ghost" size="sm" onClick={() => setEditing(r)} aria-label={t('common.edit_item', { name: r.title })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                    <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('quick_replies.confirm_delete', { name: r.title }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(r.id); }); }} aria-label={t('common.delete_item', { name: r.title })}><Trash2 className="h-4 w-4 text-red-600" aria-hidden /></Button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
        {editing && <QuickReplyForm reply={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      </Card>
      {confirmDialog}
    </>
  );
}

function QuickReplyForm({ reply, onClose }: { reply: QuickReply | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ shortcut: reply?.shortcut ?? '', title: reply?.title ?? '', text: reply?.text ?? '' });
  const save = useMutation({
    mutationFn: () => {
      const body = { ...f.values, shortcut: f.values.shortcut.replace(/^\//, '').trim() };
      return reply ? quickReplies.update(reply.id, body) : quickReplies.create(body);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['quick-replies'] });
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={reply ? t('quick_replies.edit') : t('quick_replies.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('quick_replies.shortcut')} htmlFor="qr-shortcut" error={f.errors.shortcut} hint={t('quick_replies.shortcut_hint')}>
          <Input id="qr-shortcut" value={f.values.shortcut} onChange={(e) => f.set('shortcut', e.target.value)} invalid={!!f.errors.shortcut} required autoFocus />
        </Field>
        <Field label={t('quick_replies.title_label')} htmlFor="qr-title" error={f.errors.title}>
          <Input id="qr-title" value={f.values.title} onChange={(e) => f.set('title', e.target.value)} invalid={!!f.errors.title} required />
        </Field>
        <Field label={t('quick_replies.text')} htmlFor="qr-text" error={f.errors.text}>
          <Textarea id="qr-text" rows={5} value={f.values.text} onChange={(e) => f.set('text', e.target.value)} invalid={!!f.errors.text} required />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
