import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Pencil, Plus, UserCheck, UserX, Users as UsersIcon } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { teams, users, type UserInput } from '../../api/endpoints';
import { TENANT_ROLES, type User } from '../../api/types';
import { CheckList } from '../../components/CheckList';
import { FormError } from '../../components/FormError';
import { Avatar, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, Select, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { useForm } from '../../lib/useForm';
import { useAuth } from '../../store/auth';
import { usePresence } from '../../store/presence';
import { useAvailability } from '../../store/availability';
import { AvailabilityDot, useAvailabilities } from '../../components/AvailabilitySwitch';

export default function UsersSettings({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const me = useAuth((s) => s.user);
  const q = useQuery({ queryKey: ['users'], queryFn: () => users.list() });
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const toggle = useMutation({
    mutationFn: async (u: User) => {
      if (u.active) await users.remove(u.id);
      else await users.update(u.id, { active: true });
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: ['users'] }),
  });
  const online = usePresence((s) => s.byUser);
  useAvailabilities();
  const availability = useAvailability((s) => s.byUser);
  const teamName = (id: string) => teamsQ.data?.find((x) => x.id === id)?.name;

  return (
    <>
      <Card>
        <div className="flex items-center justify-between border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('users.title')}</h2>
            <p className="text-sm text-gray-500">{t('users.description')}</p>
          </div>
          {canWrite && (
            <Button onClick={() => setEditing('new')} data-testid="new-user">
              <Plus className="h-4 w-4" aria-hidden /> {t('users.new')}
            </Button>
          )}
        </div>
        {toggle.isError && <div className="px-4 pt-4"><FormError error={toggle.error} /></div>}
        {q.isPending ? (
          <SkeletonRows rows={4} />
        ) : q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : q.data.length === 0 ? (
          <EmptyState icon={<UsersIcon className="h-6 w-6" aria-hidden />} title={t('users.empty')} />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>{t('users.name')}</Th>
                <Th>{t('users.role')}</Th>
                <Th>{t('users.teams')}</Th>
                <Th>{t('users.status')}</Th>
                <Th>{t('users.last_login')}</Th>
                {canWrite && <Th className="text-right">{t('common.actions')}</Th>}
              </tr>
            </thead>
            <tbody data-testid="users-list">
              {q.data.map((u) => (
                <tr key={u.id} className={u.active ? '' : 'opacity-60'}>
                  <Td>
                    <div className="flex items-center gap-3">
                      <span className="relative">
                        <Avatar name={u.name} className="h-8 w-8 text-xs" />
                        {online[u.id]?.online && <span className="absolute -bottom-0.5 -right-0.5 h-3 w-3 rounded-full border-2 border-white bg-brand-500" title={t('users.online')} aria-label={t('users.online')} />}
                      </span>
                      <div className="min-w-0">
                        <p className="flex items-center gap-1.5 truncate font-medium">{u.name} <AvailabilityDot availability={u.active ? availability[u.id] : undefined} /></p>
                        <p className="truncate text-xs text-gray-500">{u.email}</p>
                      </div>
                    </div>
                  </Td>
                  <Td>{t(`roles.${u.role}`)}</Td>
                  <Td>
                    <div className="flex flex-wrap gap-1">
                      {(u.team_ids ?? []).map((id) => <Badge key={id}>{teamName(id) ?? '…'}</Badge>)}
                    </div>
                  </Td>
                  <Td>{u.active ? <Badge color="#00a884">{t('users.active')}</Badge> : <Badge>{t('users.inactive')}</Badge>}</Td>
                  <Td className="whitespace-nowrap text-xs text-gray-500">{u.last_login_at ? formatDateTime(u.last_login_at) : t('users.never')}</Td>
                  {canWrite && (
                    <Td className="whitespace-nowrap text-right">
                      <Button variant="ghost" size="sm" onClick={() => setEditing(u)} aria-label={t('common.edit_item', { name: u.name })}><Pencil className="h-4 w-4" aria-hidden /></Button>
                      {u.id !== me?.id && (
                        <Button variant="ghost" size="sm" onClick={() => { if (!u.active) toggle.mutate(u); else void ask({ message: t('users.confirm_deactivate', { name: u.name }) }).then((ok) => { if (ok) toggle.mutate(u); }); }}
                          aria-label={u.active ? t('users.deactivate') : t('users.reactivate')} title={u.active ? t('users.deactivate') : t('users.reactivate')}>
                          {u.active ? <UserX className="h-4 w-4 text-red-600" aria-hidden /> : <UserCheck className="h-4 w-4 text-brand-600" aria-hidden />}
                        </Button>
                      )}
                    </Td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {editing && <UserForm user={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
      </Card>
      {confirmDialog}
    </>
  );
}

function UserForm({ user, onClose }: { user: User | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  const f = useForm({ name: user?.name ?? '', email: user?.email ?? '', password: '', role: user?.role ?? 'AGENT', team_ids: user?.team_ids ?? [] as string[] });
  const save = useMutation({
    mutationFn: () => {
      const body: UserInput = { ...f.values };
      if (user) {
        if (!body.password) delete body.password;
        return users.update(user.id, body);
      }
      return users.create(body);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['users'] });
      void qc.invalidateQueries({ queryKey: ['teams'] });
      void qc.invalidateQueries({ queryKey: ['tenant'] }); // usage against the plan
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={user ? t('users.edit') : t('users.new')}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4" data-testid="user-form">
        <FormError error={f.formError} />
        <Field label={t('users.name')} htmlFor="user-name" error={f.errors.name}>
          <Input id="user-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required autoFocus />
        </Field>
        <Field label={t('users.email')} htmlFor="user-email" error={f.errors.email}>
          <Input id="user-email" type="email" value={f.values.email} onChange={(e) => f.set('email', e.target.value)} invalid={!!f.errors.email} required />
        </Field>
        <Field label={t('users.password')} htmlFor="user-password" error={f.errors.password} hint={user ? t('users.password_keep') : t('users.password_hint')}>
          <Input id="user-password" type="password" autoComplete="new-password" value={f.values.password} onChange={(e) => f.set('password', e.target.value)} invalid={!!f.errors.password} required={!user} />
        </Field>
        <Field label={t('users.role')} htmlFor="user-role" error={f.errors.role}>
          <Select id="user-role" value={f.values.role} onChange={(e) => f.set('role', e.target.value as User['role'])}>
            {TENANT_ROLES.map((r) => <option key={r} value={r}>{t(`roles.${r}`)}</option>)}
          </Select>
        </Field>
        <Field label={t('users.teams')} error={f.errors.team_ids}>
          <CheckList name={t('users.teams')} items={teamsQ.data ?? []} selected={f.values.team_ids} onChange={(ids) => f.set('team_ids', ids)} render={(x) => x.name} emptyText={t('users.no_teams')} />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} data-testid="save-user">{t('common.save')}</Button>
        </div>
      </form>
    </Modal>
  );
}
