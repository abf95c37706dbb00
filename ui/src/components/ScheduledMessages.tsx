import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Clock } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { scheduled } from '../api/endpoints';
import type { ScheduledMessage } from '../api/types';
import { formatDateTime } from '../lib/format';
import { useForm } from '../lib/useForm';
import { useConfirm } from './ConfirmDialog';
import { FormError } from './FormError';
import { Badge, Button, Field, Input, Modal, Textarea } from './ui';

/** A local date-time input's value for a moment (YYYY-MM-DDTHH:MM in the browser's zone). */
export function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Quick picks: in one hour, and tomorrow at 9:00. */
export function quickPicks(now = new Date()): { key: 'in_hour' | 'tomorrow_9'; at: Date }[] {
  const inHour = new Date(now.getTime() + 3600_000);
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0);
  return [{ key: 'in_hour', at: inHour }, { key: 'tomorrow_9', at: tomorrow }];
}

export const scheduledKey = (conversationId: string) => ['scheduled', conversationId];

/** Schedules (or, with message, changes) a text for later in a conversation. */
export function ScheduleDialog({ conversationId, text, message, onClose, onDone }: {
  conversationId: string; text?: string; message?: ScheduledMessage; onClose: () => void; onDone: (m: ScheduledMessage) => void;
}) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const min = localInput(new Date(Date.now() + 60_000));
  const f = useForm({ text: message?.message.text ?? text ?? '', send_at: message ? localInput(new Date(message.send_at)) : localInput(new Date(Date.now() + 3600_000)) });
  const save = useMutation({
    mutationFn: () => {
      const sendAt = new Date(f.values.send_at).toISOString();
      return message ? scheduled.update(message.id, { text: f.values.text, send_at: sendAt })
        : scheduled.create({ conversation_id: conversationId, type: 'text', text: f.values.text, send_at: sendAt });
    },
    onSuccess: (m) => { void qc.invalidateQueries({ queryKey: scheduledKey(conversationId) }); onDone(m); },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={message ? t('scheduled.edit_title') : t('scheduled.title')} description={t('scheduled.hint')}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <FormError error={f.formError} />
        <Field label={t('scheduled.text')} htmlFor="scheduled-text" error={f.errors.text}>
          <Textarea id="scheduled-text" rows={3} value={f.values.text} onChange={(e) => f.set('text', e.target.value)} maxLength={4096} required invalid={!!f.errors.text} />
        </Field>
        <Field label={t('scheduled.send_at')} htmlFor="scheduled-at" error={f.errors.send_at}>
          <Input id="scheduled-at" type="datetime-local" min={min} value={f.values.send_at} onChange={(e) => f.set('send_at', e.target.value)} required invalid={!!f.errors.send_at} />
          <div className="mt-1 flex gap-2">
            {quickPicks().map((p) => (
              <Button key={p.key} type="button" size="sm" variant="outline" onClick={() => f.set('send_at', localInput(p.at))}>{t(`scheduled.picks.${p.key}`)}</Button>
            ))}
          </div>
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} data-testid="schedule-save">{message ? t('common.save') : t('scheduled.schedule')}</Button>
        </div>
      </form>
    </Modal>
  );
}

const STATUS_COLORS: Record<ScheduledMessage['status'], string> = { pending: '#0ea5e9', sent: '#15803d', cancelled: '#6b7280', failed: '#dc2626' };

/** "Agendadas (n)": the conversation's pending scheduled messages, editable and cancellable, and their history. */
export function ScheduledChip({ conversationId }: { conversationId: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: scheduledKey(conversationId), queryFn: () => scheduled.list(conversationId) });
  const [open, setOpen] = useState(false);
  const [editing, setEditing] = useState<ScheduledMessage | null>(null);
  const [ask, dialog] = useConfirm();
  const cancel = useMutation({
    mutationFn: async (m: ScheduledMessage) => {
      if (!(await ask({ message: t('scheduled.confirm_cancel', { at: formatDateTime(m.send_at) }), confirmLabel: t('scheduled.cancel') }))) return;
      await scheduled.cancel(m.id);
    },
    onSuccess: () => void qc.invalidateQueries({ queryKey: scheduledKey(conversationId) }),
  });
  const items = q.data ?? [];
  const pending = items.filter((m) => m.status === 'pending');
  if (items.length === 0) return null;
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} data-testid="scheduled-chip" data-count={pending.length}
        className="mb-2 inline-flex items-center gap-1 rounded-full border border-sky-200 bg-sky-50 px-2.5 py-0.5 text-xs font-medium text-sky-800 hover:bg-sky-100">
        <Clock className="h-3.5 w-3.5" aria-hidden /> {t('scheduled.chip', { count: pending.length })}
      </button>
      {open && (
        <Modal open wide onOpenChange={(o) => !o && setOpen(false)} title={t('scheduled.list_title')}>
          <FormError error={cancel.error} />
          <ul className="divide-y divide-gray-100" data-testid="scheduled-list">
            {items.map((m) => (
              <li key={m.id} className="flex items-start gap-3 py-2" data-testid="scheduled-item" data-status={m.status}>
                <div className="min-w-0 flex-1">
                  <p className="whitespace-pre-wrap break-words text-sm text-gray-900">{m.message.text}</p>
                  <p className="mt-0.5 text-xs text-gray-500">{formatDateTime(m.send_at)}{m.error?.message ? ` · ${m.error.message}` : ''}</p>
                </div>
                <Badge color={STATUS_COLORS[m.status]}>{t(`scheduled.status.${m.status}`)}</Badge>
                {m.status === 'pending' && (
                  <div className="flex shrink-0 gap-1">
                    <Button size="sm" variant="outline" onClick={() => setEditing(m)}>{t('common.edit')}</Button>
                    <Button size="sm" variant="ghost" onClick={() => cancel.mutate(m)} data-testid="scheduled-cancel">{t('scheduled.cancel')}</Button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        </Modal>
      )}
      {editing && <ScheduleDialog conversationId={conversationId} message={editing} onClose={() => setEditing(null)} onDone={() => setEditing(null)} />}
      {dialog}
    </>
  );
}
