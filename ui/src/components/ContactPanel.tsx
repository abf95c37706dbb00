import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { BellOff, Mail, Pencil, Phone, X } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { contacts, conversations, labels } from '../api/endpoints';
import { formatPhone, listTime } from '../lib/format';
import { ChannelIcon } from './chat/ChannelIcon';
import { BotDataSection } from './ConversationBot';
import { ContactKanban } from './ContactKanban';
import { ContactAgenda } from './ContactAgenda';
import type { Contact, Conversation } from '../api/types';
import { ContactForm } from '../pages/Contacts';
import { FormError } from './FormError';
import { Avatar, Badge, Button, ErrorState, Field, Modal, SkeletonRows, Textarea, notBuiltYet } from './ui';

/** The contact beside a conversation: profile, labels and custom fields, editable. */
export function ContactPanel({ conversation, onClose, preview }: { conversation: Conversation; onClose: () => void; preview?: boolean }) {
  const { t } = useTranslation();
  const id = conversation.contact_id;
  const q = useQuery({ queryKey: ['contact', id], queryFn: () => contacts.get(id), enabled: !preview && !!id, retry: false });
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labels.list(), enabled: !preview });
  const [editing, setEditing] = useState(false);
  const othersQ = useQuery({ queryKey: ['conversations', 'contact', id], queryFn: () => conversations.page({ contact_id: id, status: '', limit: 20 }), enabled: !preview && !!id, retry: false });
  const others = (othersQ.data?.items ?? []).filter((x) => x.id !== conversation.id);
  const fallback: Contact = {
    id, name: conversation.contact?.name ?? '', phone: conversation.contact?.phone ?? null, email: null,
    custom_fields: preview ? { cidade: 'Campinas', pedido: '#10482' } : null, label_ids: [],
  };
  const c = q.data ?? fallback;
  const fields = Object.entries(c.custom_fields ?? {});
  return (
    <aside className="absolute inset-0 z-20 flex flex-col border-l border-gray-200 bg-white lg:static lg:w-80 lg:shrink-0" aria-label={t('contact_panel.title')} data-testid="contact-panel">
      <header className="flex items-center gap-3 border-b border-gray-200 bg-chat-panel px-3 py-3">
        <button onClick={onClose} className="rounded-full p-1 text-gray-600 hover:bg-gray-200" aria-label={t('common.close')}><X className="h-5 w-5" aria-hidden /></button>
        <h2 className="font-medium text-gray-900">{t('contact_panel.title')}</h2>
      </header>
      <div className="min-h-0 flex-1 overflow-y-auto">
        {!preview && q.isPending ? (
          <SkeletonRows rows={3} />
        ) : !preview && q.isError && !notBuiltYet(q.error) && !q.data ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : (
          <>
            <div className="flex flex-col items-center gap-2 border-b border-gray-100 px-4 py-6 text-center">
              <Avatar name={c.name || c.phone} className="h-20 w-20 text-2xl" />
              <p className="text-lg font-medium text-gray-900">{c.name || formatPhone(c.phone)}</p>
              {c.phone && <p className="flex items-center gap-1.5 text-sm tabular-nums text-gray-600"><Phone className="h-3.5 w-3.5" aria-hidden /> {formatPhone(c.phone)}</p>}
              {c.email && <p className="flex items-center gap-1.5 text-sm text-gray-600"><Mail className="h-3.5 w-3.5" aria-hidden /> {c.email}</p>}
              {!preview && q.data && (
                <Button variant="outline" size="sm" className="mt-2" onClick={() => setEditing(true)}><Pencil className="h-4 w-4" aria-hidden /> {t('contacts.edit')}</Button>
              )}
            </div>
            {!preview && q.data && <ConsentSection contact={q.data} />}
            <BotDataSection conversation={conversation} preview={preview} />
            {!preview && <ContactKanban conversation={conversation} />}
            {!preview && <ContactAgenda conversation={conversation} />}
            <section className="border-b border-gray-100 px-4 py-3">
              <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-gray-500">{t('contacts.labels')}</h3>
              <div className="flex flex-wrap gap-1">
                {(c.label_ids ?? []).length === 0 && <p className="text-sm text-gray-400">{t('contact_panel.no_labels')}</p>}
                {(c.label_ids ?? []).map((lid) => {
                  const l = labelsQ.data?.find((x) => x.id === lid);
                  return l ? <Badge key={lid} color={l.color}>{l.name}</Badge> : null;
                })}
              </div>
            </section>
            <section className="border-b border-gray-100 px-4 py-3">
              <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-gray-500">{t('contact_panel.other_conversations')}</h3>
              {others.length === 0 ? (
                <p className="text-sm text-gray-400">{t('contact_panel.no_other_conversations')}</p>
              ) : (
                <ul className="space-y-1">
                  {others.map((o) => (
                    <li key={o.id}>
                      <Link to={`/inbox/${o.id}`} className="flex items-center gap-2 rounded-md px-2 py-1 text-sm hover:bg-gray-50">
                        <ChannelIcon channel={o.channel} className="shrink-0" />
                        <span className="min-w-0 flex-1 truncate">{o.last_message_preview || t(`inbox.status.${o.status}`)}</span>
                        <span className="shrink-0 text-xs text-gray-500">{listTime(o.last_message_at ?? o.last_activity_at)}</span>
                      </Link>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="px-4 py-3">
              <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-gray-500">{t('contacts.custom_fields')}</h3>
              {fields.length === 0 ? (
                <p className="text-sm text-gray-400">{t('contact_panel.no_fields')}</p>
              ) : (
                <dl className="space-y-2 text-sm">
                  {fields.map(([k, v]) => (
                    <div key={k}>
                      <dt className="text-xs text-gray-500">{k}</dt>
                      <dd className="break-words text-gray-900">{v === null || v === undefined ? '—' : String(v)}</dd>
                    </div>
                  ))}
                </dl>
              )}
            </section>
          </>
        )}
      </div>
      {editing && q.data && <ContactForm contact={q.data} labels={labelsQ.data ?? []} onClose={() => setEditing(false)} />}
    </aside>
  );
}

/** Whether the contact receives campaigns: opted out (a stop word, WhatsApp's 131050 or an agent) or not, and recording a change with how the contact said so. */
export function ConsentSection({ contact }: { contact: Contact }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const [missing, setMissing] = useState(false);
  const optedOut = !!contact.opted_out;
  const save = useMutation({
    mutationFn: () => contacts.consent(contact.id, { opted_out: !optedOut, note: note.trim() }),
    onSuccess: () => {
      setOpen(false);
      setNote('');
      void qc.invalidateQueries({ queryKey: ['contact', contact.id] });
      void qc.invalidateQueries({ queryKey: ['contacts'] });
    },
  });
  return (
    <section className="border-b border-gray-100 px-4 py-3" data-testid="consent">
      {optedOut ? (
        <div className="space-y-2">
          <p className="flex items-center gap-1.5 rounded-md bg-amber-50 px-2 py-1.5 text-sm text-amber-800" data-testid="opted-out"><BellOff className="h-4 w-4" aria-hidden /> {t('consent.opted_out')}</p>
          <Button variant="outline" size="sm" onClick={() => setOpen(true)}>{t('consent.opt_in')}</Button>
        </div>
      ) : (
        <button type="button" className="text-xs text-gray-500 underline-offset-2 hover:underline" onClick={() => setOpen(true)}>{t('consent.opt_out')}</button>
      )}
      {open && (
        <Modal open onOpenChange={(o) => !o && setOpen(false)} title={optedOut ? t('consent.opt_in_title') : t('consent.opt_out_title')} description={optedOut ? t('consent.opt_in_hint') : t('consent.opt_out_hint')}>
          <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); if (!note.trim()) { setMissing(true); return; } save.mutate(); }}>
            <FormError error={save.error} />
            <Field label={t('consent.note')} htmlFor="consent-note" error={missing && !note.trim() ? t('consent.note_required') : undefined}>
              <Textarea id="consent-note" rows={3} value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} invalid={missing && !note.trim()} autoFocus />
            </Field>
            <div className="flex justify-end gap-2">
              <Button type="button" variant="outline" onClick={() => setOpen(false)}>{t('common.cancel')}</Button>
              <Button type="submit" loading={save.isPending} data-testid="consent-save">{t('common.save')}</Button>
            </div>
          </form>
        </Modal>
      )}
    </section>
  );
}
