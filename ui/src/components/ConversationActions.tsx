import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { conversations, labels, teams, users } from '../api/endpoints';
import type { Conversation } from '../api/types';
import { CheckList } from './CheckList';
import { FormError } from './FormError';
import { Badge, Button, Field, Modal, Select, Textarea } from './ui';

function useRefresh(id: string) {
  const qc = useQueryClient();
  return () => {
    void qc.invalidateQueries({ queryKey: ['conversation', id] });
    void qc.invalidateQueries({ queryKey: ['conversations'] });
    void qc.invalidateQueries({ queryKey: ['notes', id] });
  };
}

/** Transfer to an agent and/or a team, with an optional internal note. */
export function TransferDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const refresh = useRefresh(conversation.id);
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => users.list() });
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  const [assignee, setAssignee] = useState(conversation.assignee_id ?? '');
  const [team, setTeam] = useState(conversation.team_id ?? '');
  const [note, setNote] = useState('');
  const save = useMutation({
    // the note rides in the same PATCH: stored with the transfer, in one step
    mutationFn: () => conversations.update(conversation.id, { assignee_id: assignee || null, team_id: team || null, ...(note.trim() ? { note: note.trim() } : {}) }),
    onSuccess: () => {
      refresh();
      onClose();
    },
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('actions.transfer_title')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={save.error} />
        <Field label={t('actions.agent')} htmlFor="transfer-agent">
          <Select id="transfer-agent" value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <option value="">{t('actions.nobody')}</option>
            {(usersQ.data ?? []).filter((u) => u.active).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
          </Select>
        </Field>
        <Field label={t('actions.team')} htmlFor="transfer-team">
          <Select id="transfer-team" value={team} onChange={(e) => setTeam(e.target.value)}>
            <option value="">{t('actions.no_team')}</option>
            {(teamsQ.data ?? []).map((tm) => <option key={tm.id} value={tm.id}>{tm.name}</option>)}
          </Select>
        </Field>
        <Field label={t('actions.note')} htmlFor="transfer-note" hint={t('actions.note_hint')}>
          <Textarea id="transfer-note" value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('actions.transfer')}</Button>
        </div>
      </form>
    </Modal>
  );
}

/** The conversation's labels. */
export function LabelsDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const { t } = useTranslation();
  const refresh = useRefresh(conversation.id);
  const labelsQ = useQuery({ queryKey: ['labels'], queryFn: () => labels.list() });
  const [selected, setSelected] = useState<string[]>(conversation.label_ids ?? []);
  const save = useMutation({
    mutationFn: () => conversations.update(conversation.id, { label_ids: selected }),
    onSuccess: () => {
      refresh();
      onClose();
    },
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('actions.labels_title')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={save.error} />
        <CheckList name={t('contacts.labels')} items={labelsQ.data ?? []} selected={selected} onChange={setSelected}
          render={(l) => <Badge color={l.color}>{l.name}</Badge>} emptyText={t('contacts.no_labels')} />
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
