import * as Dialog from '@radix-ui/react-dialog';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { MessageCircle, Trash2, X } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ApiError } from '../../api/client';
import { contacts } from '../../api/endpoints';
import { kanban, type Board, type CardPatch, type KanbanCard } from '../../api/kanban';
import type { Label, User } from '../../api/types';
import { useConfirm } from '../../components/ConfirmDialog';
import { Alert, Badge, Button, Field, Input, Select, Textarea, useErrorText } from '../../components/ui';
import { boardKey, editableBRL, parseBRL } from '../../lib/kanban';
import { useDebounced } from '../../lib/useDebounced';

/** A date input's value (the local day) for an RFC 3339 time, and back (the end of that local day). */
export const dueInput = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
};
export const dueFromInput = (day: string) => (day ? new Date(`${day}T23:59:59`).toISOString() : null);

/** The side drawer that edits a card: title, description, value, due date, assignee, labels, contact; deletes it. */
export function CardDrawer({ card, board, users, labels, onClose }: { card: KanbanCard | null; board: Board; users: User[]; labels: Label[]; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog.Root open onOpenChange={(o) => !o && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/30" />
        <Dialog.Content className="fixed inset-y-0 right-0 z-50 flex w-full max-w-md flex-col bg-white shadow-xl focus:outline-none" data-testid="card-drawer">
          <header className="flex items-center justify-between border-b border-gray-200 px-4 py-3">
            <Dialog.Title className="text-lg font-semibold text-gray-900">{t('kanban.edit_card')}</Dialog.Title>
            <Dialog.Description className="sr-only">{card?.title ?? ''}</Dialog.Description>
            <Dialog.Close className="rounded-md p-1 text-gray-500 hover:bg-gray-100" aria-label={t('common.close')}><X className="h-5 w-5" aria-hidden /></Dialog.Close>
          </header>
          {card ? <CardForm key={card.id} card={card} board={board} users={users} labels={labels} onClose={onClose} /> : <p className="p-4 text-sm text-gray-500">{t('errors.not_found')}</p>}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function CardForm({ card, board, users, labels, onClose }: { card: KanbanCard; board: Board; users: User[]; labels: Label[]; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [ask, confirmDialog] = useConfirm();
  const [title, setTitle] = useState(card.title);
  const [description, setDescription] = useState(card.description);
  const [value, setValue] = useState(editableBRL(card.value));
  const [due, setDue] = useState(dueInput(card.due_at));
  const [assignee, setAssignee] = useState(card.assignee_id ?? '');
  const [labelIds, setLabelIds] = useState<string[]>(card.label_ids ?? []);
  const [contact, setContact] = useState<{ id: string; name: string } | null>(card.contact_id ? { id: card.contact_id, name: card.contact_name ?? '' } : null);
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 300);
  const found = useQuery({ queryKey: ['contacts', 'kanban-search', q], queryFn: () => contacts.page({ q, limit: 8 }), enabled: q.length > 1, retry: false });
  const parsed = parseBRL(value);

  const save = useMutation({
    mutationFn: () => {
      const patch: CardPatch = {};
      if (title.trim() !== card.title) patch.title = title.trim();
      if (description !== card.description) patch.description = description;
      if (parsed !== null && Number(parsed) !== Number(card.value || '0')) patch.value = parsed;
      if (due !== dueInput(card.due_at)) patch.due_at = dueFromInput(due);
      if (assignee !== (card.assignee_id ?? '')) patch.assignee_id = assignee || null;
      if ([...labelIds].sort().join() !== [...(card.label_ids ?? [])].sort().join()) patch.label_ids = labelIds;
      if ((contact?.id ?? null) !== card.contact_id) patch.contact_id = contact?.id ?? null;
      return Object.keys(patch).length ? kanban.updateCard(card.id, patch) : Promise.resolve(card);
    },
    onSuccess: () => { void qc.invalidateQueries({ queryKey: boardKey(board.id) }); void qc.invalidateQueries({ queryKey: ['kanban', 'cards'] }); onClose(); },
  });
  const remove = useMutation({
    mutationFn: () => kanban.deleteCard(card.id),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: boardKey(board.id) }); void qc.invalidateQueries({ queryKey: ['kanban', 'cards'] }); onClose(); },
  });
  const fieldErr = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const toggleLabel = (id: string) => setLabelIds((ids) => (ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]));
  return (
    <form className="flex min-h-0 flex-1 flex-col" onSubmit={(e) => { e.preventDefault(); if (parsed !== null) save.mutate(); }}>
      <div className="min-h-0 flex-1 space-y-3 overflow-y-auto p-4">
        <Field label={t('kanban.card_title')} htmlFor="card-title" error={fieldErr.title}>
          <Input id="card-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </Field>
        <Field label={t('kanban.card_description')} htmlFor="card-description" error={fieldErr.description}>
          <Textarea id="card-description" rows={4} value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <div className="grid grid-cols-2 gap-3">
          <Field label={t('kanban.value')} htmlFor="card-value" error={parsed === null ? t('kanban.value_invalid') : fieldErr.value} hint={t('kanban.value_hint')}>
            <Input id="card-value" inputMode="decimal" value={value} onChange={(e) => setValue(e.target.value)} invalid={parsed === null} placeholder="0,00" />
          </Field>
          <Field label={t('kanban.due_at')} htmlFor="card-due" error={fieldErr.due_at}>
            <Input id="card-due" type="date" value={due} onChange={(e) => setDue(e.target.value)} />
          </Field>
        </div>
        <Field label={t('kanban.assignee')} htmlFor="card-assignee" error={fieldErr.assignee_id}>
          <Select id="card-assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <option value="">{t('kanban.nobody')}</option>
            {users.filter((u) => u.active !== false || u.id === card.assignee_id).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
          </Select>
        </Field>
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-gray-700">{t('kanban.labels')}</legend>
          <div className="flex flex-wrap gap-2">
            {labels.map((l) => (
              <label key={l.id} className="inline-flex items-center gap-1 text-sm">
                <input type="checkbox" checked={labelIds.includes(l.id)} onChange={() => toggleLabel(l.id)} />
                <Badge color={l.color}>{l.name}</Badge>
              </label>
            ))}
          </div>
          {fieldErr.label_ids && <p className="mt-1 text-xs text-red-600">{fieldErr.label_ids}</p>}
        </fieldset>
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-gray-700">{t('kanban.contact')}</legend>
          {contact ? (
            <div className="flex items-center gap-2 text-sm">
              <span className="min-w-0 flex-1 truncate" data-testid="card-contact">{contact.name || contact.id}</span>
              <Button type="button" size="sm" variant="ghost" onClick={() => setContact(null)}>{t('kanban.remove_contact')}</Button>
            </div>
          ) : (
            <>
              <Input aria-label={t('kanban.search_contact')} placeholder={t('kanban.search_contact')} value={search} onChange={(e) => setSearch(e.target.value)} />
              {(found.data?.items ?? []).length > 0 && (
                <ul className="mt-1 max-h-40 overflow-y-auto rounded-md border border-gray-200">
                  {(found.data?.items ?? []).map((c) => (
                    <li key={c.id}>
                      <button type="button" className="w-full px-3 py-1.5 text-left text-sm hover:bg-gray-100" onClick={() => { setContact({ id: c.id, name: c.name || c.phone || '' }); setSearch(''); }}>
                        {c.name || c.phone}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
          {fieldErr.contact_id && <p className="mt-1 text-xs text-red-600">{fieldErr.contact_id}</p>}
        </fieldset>
        {card.conversation_id && (
          <Link to={`/inbox/${card.conversation_id}`} className="inline-flex items-center gap-1 text-sm text-brand-700 hover:underline">
            <MessageCircle className="h-4 w-4" aria-hidden /> {t('kanban.open_conversation')}
          </Link>
        )}
        {save.isError && !Object.keys(fieldErr).length && <Alert>{errText(save.error)}</Alert>}
        {remove.isError && <Alert>{errText(remove.error)}</Alert>}
      </div>
      <footer className="flex items-center gap-2 border-t border-gray-200 p-3">
        <Button type="button" variant="ghost" className="text-red-700" loading={remove.isPending} data-testid="delete-card"
          onClick={async () => { if (await ask({ message: t('kanban.confirm_delete_card', { title: card.title }) })) remove.mutate(); }}>
          <Trash2 className="h-4 w-4" aria-hidden /> {t('kanban.delete_card')}
        </Button>
        <div className="ml-auto flex gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} disabled={parsed === null} data-testid="save-card">{t('common.save')}</Button>
        </div>
      </footer>
      {confirmDialog}
    </form>
  );
}
