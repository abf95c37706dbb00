import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { KanbanSquare, Plus } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ApiError } from '../api/client';
import { kanban } from '../api/kanban';
import type { Conversation } from '../api/types';
import { boardKey, formatBRL, kanbanDisabled } from '../lib/kanban';
import { Alert, Button, Field, Input, Modal, Select, useErrorText } from './ui';

/** The contact's cards on the Kanban boards, and a button that makes one from the open conversation. Hidden without the plan's kanban. */
export function ContactKanban({ conversation }: { conversation: Conversation }) {
  const { t } = useTranslation();
  const contactId = conversation.contact_id;
  const q = useQuery({ queryKey: ['kanban', 'cards', contactId], queryFn: () => kanban.cards(contactId), enabled: !!contactId, retry: false });
  const boardsQ = useQuery({ queryKey: ['kanban', 'boards'], queryFn: kanban.boards, enabled: !!contactId, retry: false });
  const [creating, setCreating] = useState(false);
  // nothing until the server says whether the plan has the Kanban
  if (q.isPending || kanbanDisabled(q.error) || kanbanDisabled(boardsQ.error) || !contactId) return null;
  const boards = boardsQ.data ?? [];
  const cards = q.data ?? [];
  return (
    <section className="border-b border-gray-100 px-4 py-3" data-testid="contact-kanban">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-gray-500">{t('kanban.contact_cards')}</h3>
        {boards.length > 0 && (
          <Button size="sm" variant="outline" onClick={() => setCreating(true)} data-testid="contact-create-card">
            <Plus className="h-4 w-4" aria-hidden /> {t('kanban.create_card')}
          </Button>
        )}
      </div>
      {cards.length === 0 ? (
        <p className="text-sm text-gray-400">{t('kanban.no_contact_cards')}</p>
      ) : (
        <ul className="space-y-1">
          {cards.map((c) => (
            <li key={c.id}>
              <Link to={`/kanban?board=${c.board_id}`} className="flex items-center gap-2 rounded-md px-2 py-1 text-sm hover:bg-gray-50">
                <KanbanSquare className="h-4 w-4 shrink-0 text-gray-400" aria-hidden />
                <span className="min-w-0 flex-1 truncate">{c.title}</span>
                {Number(c.value) > 0 && <span className="shrink-0 text-xs tabular-nums text-gray-600">{formatBRL(c.value)}</span>}
              </Link>
            </li>
          ))}
        </ul>
      )}
      {creating && <CreateCardDialog conversation={conversation} onClose={() => setCreating(false)} />}
    </section>
  );
}

function CreateCardDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const boardsQ = useQuery({ queryKey: ['kanban', 'boards'], queryFn: kanban.boards, retry: false });
  const boards = boardsQ.data ?? [];
  const [boardId, setBoardId] = useState('');
  const [title, setTitle] = useState(conversation.contact?.name || conversation.contact?.phone || '');
  const chosen = boardId || boards[0]?.id || '';
  const create = useMutation({
    mutationFn: () => kanban.createCard({ board_id: chosen, title: title.trim(), contact_id: conversation.contact_id, conversation_id: conversation.id }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['kanban', 'cards'] });
      void qc.invalidateQueries({ queryKey: boardKey(chosen) });
      onClose();
    },
  });
  const fieldErr = create.error instanceof ApiError ? create.error.fieldErrors : {};
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('kanban.create_card_from_conversation')}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); if (chosen) create.mutate(); }}>
        <Field label={t('kanban.board')} htmlFor="new-card-board" error={fieldErr.board_id}>
          <Select id="new-card-board" value={chosen} onChange={(e) => setBoardId(e.target.value)}>
            {boards.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
          </Select>
        </Field>
        <Field label={t('kanban.card_title')} htmlFor="new-card-title" error={fieldErr.title}>
          <Input id="new-card-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} autoFocus />
        </Field>
        {create.isError && !Object.keys(fieldErr).length && <Alert>{errText(create.error)}</Alert>}
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={create.isPending} disabled={!chosen} data-testid="contact-create-card-submit">{t('common.create')}</Button>
        </div>
      </form>
    </Modal>
  );
}
