import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, Trash2, UsersRound } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { teams, users } from '../../api/endpoints';
import type { AutoAssign, BusinessHours, Team } from '../../api/types';
import { BusinessHoursEditor, defaultBusinessHours } from '../../components/BusinessHoursEditor';
import { CheckList } from '../../components/CheckList';
import { FormError } from '../../components/FormError';
import { Avatar, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, Select, SkeletonRows, Textarea } from '../../components/ui';
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
                  <div className="mt-1 flex flex-wrap gap-1" data-testid="team-routing">
                    <Badge>{t(`routing.modes.${team.auto_assign ?? 'off'}`)}</Badge>
                    {(team.auto_assign ?? 'off') !== 'off' && <Badge>{team.max_open_per_agent ? t('routing.limit', { n: team.max_open_per_agent }) : t('routing.no_limit')}</Badge>}
                    {(team.sla_first_response_minutes ?? 0) > 0 && <Badge>{t('routing.summary_sla', { n: team.sla_first_response_minutes })}</Badge>}
                    {team.business_hours && <Badge>{t('routing.own_hours')}</Badge>}
                  </div>
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
  const f = useForm({
    name: team?.name ?? '', description: team?.description ?? '', member_ids: team?.member_ids ?? [] as string[],
    auto_assign: (team?.auto_assign ?? 'off') as AutoAssign, max_open_per_agent: team?.max_open_per_agent ?? 0,
    sla_first_response_minutes: team?.sla_first_response_minutes ?? 0, business_hours: (team?.business_hours ?? null) as BusinessHours | null,
  });
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
    <Modal open onOpenChange={(o) => !o && onClose()} title={team ? t('teams.edit') : t('teams.new')} wide>
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
        <fieldset className="space-y-3 rounded-lg border border-gray-200 p-3" data-testid="team-distribution">
          <legend className="px-1 text-sm font-semibold text-gray-800">{t('routing.distribution')}</legend>
          <Field label={t('routing.auto_assign')} htmlFor="team-auto-assign" error={f.errors.auto_assign} hint={t('routing.auto_assign_hint')}>
            <Select id="team-auto-assign" value={f.values.auto_assign} onChange={(e) => f.set('auto_assign', e.target.value as AutoAssign)} invalid={!!f.errors.auto_assign}>
              {(['off', 'round_robin', 'least_busy'] as const).map((m) => <option key={m} value={m}>{t(`routing.modes.${m}`)}</option>)}
            </Select>
          </Field>
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label={t('routing.max_open')} htmlFor="team-max-open" error={f.errors.max_open_per_agent} hint={t('routing.max_open_hint')}>
              <Input id="team-max-open" type="number" min={0} max={1000} value={f.values.max_open_per_agent} invalid={!!f.errors.max_open_per_agent}
                onChange={(e) => f.set('max_open_per_agent', e.target.value === '' ? 0 : Number(e.target.value))} />
            </Field>
            <Field label={t('routing.sla')} htmlFor="team-sla" error={f.errors.sla_first_response_minutes} hint={t('routing.sla_hint')}>
              <Input id="team-sla" type="number" min={0} max={43200} value={f.values.sla_first_response_minutes} invalid={!!f.errors.sla_first_response_minutes}
                onChange={(e) => f.set('sla_first_response_minutes', e.target.value === '' ? 0 : Number(e.target.value))} />
            </Field>
          </div>
          <div role="radiogroup" aria-label={t('routing.hours')} className="space-y-1">
            <p className="text-sm font-medium text-gray-700">{t('routing.hours')}</p>
            <label className="flex items-center gap-2 text-sm">
              <input type="radio" name="team-hours" className="accent-brand-600" checked={!f.values.business_hours} onChange={() => f.set('business_hours', null)} />
              {t('routing.company_hours')}
            </label>
            <label className="flex items-center gap-2 text-sm">
              <input type="radio" name="team-hours" className="accent-brand-600" checked={!!f.values.business_hours} onChange={() => f.set('business_hours', defaultBusinessHours())} />
              {t('routing.own_hours')}
            </label>
            {f.errors.business_hours && <p className="text-xs text-red-600" role="alert">{f.errors.business_hours}</p>}
          </div>
          {f.values.business_hours && (
            <BusinessHoursEditor value={f.values.business_hours} onChange={(v) => f.set('business_hours', v)} errors={f.errors} idPrefix="team-hours" />
          )}
        </fieldset>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
