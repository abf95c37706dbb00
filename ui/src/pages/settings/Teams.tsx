import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, Trash2, UsersRound } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { teams, users } from '../../api/endpoints';
import type { Team } from '../../api/types';
import { CheckList } from '../../components/CheckList';
import { FormError } from '../../components/FormError';
import { Avatar, Button, Card, EmptyState, ErrorState, Field, Input, Modal, SkeletonRows, Textarea } from '../../components/ui';
import { useForm } from '../../lib/useForm';

export default function TeamsSettings({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => users.list() });
  const [editing, setEditing] = useState<Team | 'new' | null>(null);
  const remove = useMutation({ mutationFn: (id: string) => teams.remove(id), onSuccess: () => qc.invalidateQueries({ queryKey: ['teams'] }) });
  const userName = (id: string) => usersQ.data?.find((u) => u.id === id)?.name ?? '…';

  return (
    <>
      <Card>
        <div className="flex items-center justify-between border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('teams.title')}</h2>
            <p className="text-sm text-gray-500">{t('teams.description')}</p>
          </div>
          {canWrite && (
            <Button onClick={() => setEditing('new')} data-testid="new-team"><Plus className="h-4 w-4" aria-hidden /> {t('teams.new')}</Button>
          )}
        </div>
        {remove.isError && <div className="px-4 pt-4"><FormError error={remove.error} /></div>}
        {q.isPending ? (
          <SkeletonRows rows={3} />
        ) : q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : q.data.length === 0 ? (
          <EmptyState icon={<UsersRound className="h-6 w-6" aria-hidden />} title={t('teams.empty')} description={t('teams.empty_hint')} />
        ) : (
          <ul className="divide-y divide-gray-100" data-testid="teams-list">
            {q.data.map((team) => (
              <li key={team.id} className="flex flex-wrap items-center gap-3 p-4">
                <div className="min-w-0 flex-1">
                  <p className="font-medium text-gray-900">{team.name}</p>
                  {team.description && <p className="text-sm text-gray-500">{team.description}</p>}
                  <div className="mt-2 flex -space-x-2">
                    {(team.member_ids ?? []).slice(0, 8).map((id) => (
                      <span key={id} title={userName(id)}><Avatar name={userName(id)} className="h-7 w-7 text-[10px] ring-2 ring-white" /></span>
                    ))}
                    {(team.member_ids ?? []).length === 0 && <span className="text-xs text-gray-400">{t('teams.no_members')}</span>}
                  </div>
                </div>
                <span className="text-sm text-gray-500">{t('teams.members_count', { count: (team.member_ids ?? []).length })}</span>
                {canWrite && (
                  <div>
                    <Button variant="ghost" size="sm" onClick={() => setEditing(team)} aria-label={t('common.edit_item', { name: team.name })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                    <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('teams.confirm_delete', { name: team.name }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(team.id); }); }} aria-label={t('common.delete_item', { name: team.name })}><Trash2 className="h-4 w-4 text-red-600" aria-hidden /></Button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
        {editing && <TeamForm team={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      </Card>
      {confirmDialog}
    </>
  );
}

function TeamForm({ team, onClose }: { team: Team | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => users.list() });
  const f = useForm({ name: team?.name ?? '', description: team?.description ?? '', member_ids: team?.member_ids ?? [] as string[] });
  const save = useMutation({
    mutationFn: () => (team ? teams.update(team.id, f.values) : teams.create(f.values)),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['teams'] });
      void qc.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={team ? t('teams.edit') : t('teams.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('teams.name')} htmlFor="team-name" error={f.errors.name}>
          <Input id="team-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required autoFocus />
        </Field>
        <Field label={t('teams.description_label')} htmlFor="team-description" error={f.errors.description}>
          <Textarea id="team-description" value={f.values.description} onChange={(e) => f.set('description', e.target.value)} />
        </Field>
        <Field label={t('teams.members')} error={f.errors.member_ids}>
          <CheckList name={t('teams.members')} items={(usersQ.data ?? []).filter((u) => u.active)} selected={f.values.member_ids} onChange={(ids) => f.set('member_ids', ids)}
            render={(u) => <span>{u.name} <span className="text-xs text-gray-500">{t(`roles.${u.role}`)}</span></span>} emptyText={t('teams.no_users')} />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
