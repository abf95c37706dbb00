import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Clock, UserPlus, UsersRound } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { conversations, routing, teams, users } from '../api/endpoints';
import type { QueueItem, TeamQueue } from '../api/types';
import { formatPhone } from '../lib/format';
import { shortWait } from '../lib/sla';
import { useNow } from '../lib/useNow';
import { useAvailability } from '../store/availability';
import { AvailabilityDot, useAvailabilities } from './AvailabilitySwitch';
import { ChannelIcon } from './chat/ChannelIcon';
import { FormError } from './FormError';
import { SlaBadge } from './SlaBadge';
import { Avatar, Button, EmptyState, ErrorState, Field, Modal, Select, SkeletonRows, Textarea } from './ui';

/** The team queues (GET /api/v1/queues), refreshed by conversation events and every 30 s. */
export function useQueues(enabled = true) {
  return useQuery({ queryKey: ['queues'], queryFn: () => routing.queues(), enabled, retry: false, refetchInterval: 30_000 });
}

/** How many conversations wait in the queues one sees. */
export const queueTotal = (queues: TeamQueue[] | undefined) => (queues ?? []).reduce((n, q) => n + (q.waiting ?? 0), 0);

/**
 * The supervisors' view of the team queues: per team, the conversations
 * waiting for an agent (longest first) with how long they have waited and
 * the SLA left, each with "Atribuir".
 */
export function QueueBoard() {
  const { t } = useTranslation();
  const q = useQueues();
  const now = useNow(1000);
  const [assigning, setAssigning] = useState<QueueItem | null>(null);
  if (q.isPending) return <SkeletonRows rows={4} />;
  if (q.isError) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  const elapsed = Math.max(0, (now - q.dataUpdatedAt) / 1000);
  const all = q.data;
  if (queueTotal(all) === 0) return <EmptyState icon={<UsersRound className="h-6 w-6" aria-hidden />} title={t('queues.empty')} description={t('queues.empty_hint')} />;
  return (
    <div data-testid="queue-board">
      {all.filter((tq) => tq.waiting > 0).map((tq) => (
        <section key={tq.team_id} aria-label={tq.team_name} data-testid="team-queue">
          <header className="flex flex-wrap items-baseline justify-between gap-x-2 bg-chat-panel px-3 py-1.5">
            <h2 className="text-sm font-semibold text-gray-800">{tq.team_name} <span className="font-normal text-gray-500">· {t('queues.waiting', { count: tq.waiting })}</span></h2>
            <span className="text-[11px] text-gray-500">{t(`routing.modes.${tq.auto_assign}`)} · {t('queues.agents', { online: tq.agents_online, room: tq.agents_with_room })}</span>
          </header>
          <ul>
            {(tq.items ?? []).map((it) => (
              <li key={it.conversation_id} className="flex items-center gap-2 border-b border-gray-100 px-3 py-2" data-testid="queue-item">
                <Link to={`/inbox/${it.conversation_id}`} className="flex min-w-0 flex-1 items-center gap-3 rounded focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
                  <Avatar name={it.contact_name || it.contact_phone} className="h-9 w-9 text-xs" />
                  <div className="min-w-0 flex-1">
                    <p className="flex items-center gap-1.5 truncate text-sm font-medium text-gray-900">
                      <ChannelIcon channel={it.channel as never} className="shrink-0" />
                      <span className="truncate">{it.contact_name || formatPhone(it.contact_phone) || t('inbox.unknown_contact')}</span>
                    </p>
                    <p className="truncate text-xs text-gray-500">{it.last_message_preview || t('queues.no_preview')}</p>
                    <p className="mt-0.5 flex flex-wrap items-center gap-1.5">
                      <span className="inline-flex items-center gap-0.5 text-[11px] text-gray-600" data-testid="queue-waiting">
                        <Clock className="h-3 w-3" aria-hidden /> {t('queues.waiting_for', { time: shortWait(it.waiting_seconds + elapsed) })}
                      </span>
                      <SlaBadge dueAt={it.sla_due_at} now={now} />
                    </p>
                  </div>
                </Link>
                <Button variant="outline" size="sm" onClick={() => setAssigning(it)} data-testid="queue-assign">
                  <UserPlus className="h-4 w-4" aria-hidden /> <span className="hidden sm:inline">{t('queues.assign')}</span>
                </Button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {assigning && <AssignDialog item={assigning} onClose={() => setAssigning(null)} />}
    </div>
  );
}

/** Assigns a queued conversation to an agent (the team's members first), with an optional internal note. */
export function AssignDialog({ item, onClose }: { item: QueueItem; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => users.list() });
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  useAvailabilities();
  const availability = useAvailability((s) => s.byUser);
  const members = new Set(teamsQ.data?.find((tm) => tm.id === item.team_id)?.member_ids ?? []);
  const agents = (usersQ.data ?? []).filter((u) => u.active).sort((a, b) => Number(members.has(b.id)) - Number(members.has(a.id)) || a.name.localeCompare(b.name));
  const [assignee, setAssignee] = useState('');
  const [note, setNote] = useState('');
  const save = useMutation({
    mutationFn: () => conversations.update(item.conversation_id, { assignee_id: assignee, ...(note.trim() ? { note: note.trim() } : {}) }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['queues'] });
      void qc.invalidateQueries({ queryKey: ['conversations'] });
      void qc.invalidateQueries({ queryKey: ['conversation', item.conversation_id] });
      void qc.invalidateQueries({ queryKey: ['notes', item.conversation_id] });
      onClose();
    },
  });
  const chosen = assignee ? availability[assignee] : undefined;
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('queues.assign_title')} description={item.contact_name || formatPhone(item.contact_phone)}>
      <form onSubmit={(e) => { e.preventDefault(); if (assignee) save.mutate(); }} className="space-y-4">
        <FormError error={save.error} />
        <Field label={t('queues.agent')} htmlFor="queue-assign-agent">
          <div className="flex items-center gap-2">
            <Select id="queue-assign-agent" value={assignee} onChange={(e) => setAssignee(e.target.value)} required>
              <option value="">{t('queues.choose_agent')}</option>
              {agents.map((u) => <option key={u.id} value={u.id}>{u.name}{availability[u.id] ? ` · ${t(`availability.${availability[u.id]}`)}` : ''}</option>)}
            </Select>
            <AvailabilityDot availability={chosen} />
          </div>
        </Field>
        <Field label={t('queues.note')} htmlFor="queue-assign-note">
          <Textarea id="queue-assign-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={4000} />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} disabled={!assignee}>{t('queues.assign')}</Button>
        </div>
      </form>
    </Modal>
  );
}
