import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Building2, KeyRound, LockKeyhole, Pause, Play, Plus, Trash2 } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { platform } from '../../api/endpoints';
import type { AdminPasswordReset, License, Plan, Tenant, TenantAdminAccount } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, PageHeader, Select, SkeletonRows, Table, Td, Textarea, Th } from '../../components/ui';
import { formatDate, formatDateTime } from '../../lib/format';
import { ApiError } from '../../api/client';
import { useForm } from '../../lib/useForm';

export default function Tenants() {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['tenants'], queryFn: () => platform.tenants.list() });
  const plansQ = useQuery({ queryKey: ['plans'], queryFn: () => platform.plans.list() });
  const [creating, setCreating] = useState(false);
  const [licensesFor, setLicensesFor] = useState<Tenant | null>(null);
  const invalidate = () => qc.invalidateQueries({ queryKey: ['tenants'] });
  const [suspending, setSuspending] = useState<Tenant | null>(null);
  const [adminResetFor, setAdminResetFor] = useState<Tenant | null>(null);
  const status = useMutation({
    mutationFn: (tn: Tenant) => platform.tenants.reactivate(tn.id),
    onSuccess: invalidate,
  });
  const changePlan = useMutation({
    mutationFn: ({ id, plan_id }: { id: string; plan_id: string }) => platform.tenants.update(id, { plan_id }),
    onSuccess: invalidate,
  });
  const planName = (id: string) => plansQ.data?.find((p) => p.id === id)?.name;

  return (
    <>
      <>
        <PageHeader title={t('platform.tenants.title')} description={t('platform.tenants.description')}
          actions={<Button onClick={() => setCreating(true)} data-testid="new-tenant"><Plus className="h-4 w-4" aria-hidden /> {t('platform.tenants.new')}</Button>} />
        {status.isError && <FormError error={status.error} />}
        {changePlan.isError && <FormError error={changePlan.error} />}
        <Card>
          {q.isPending ? (
            <SkeletonRows rows={4} />
          ) : q.isError ? (
            <ErrorState error={q.error} onRetry={() => q.refetch()} />
          ) : q.data.length === 0 ? (
            <EmptyState icon={<Building2 className="h-6 w-6" aria-hidden />} title={t('platform.tenants.empty')} />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>{t('platform.tenants.name')}</Th>
                  <Th>{t('platform.tenants.plan')}</Th>
                  <Th>{t('platform.tenants.status')}</Th>
                  <Th>{t('platform.tenants.created')}</Th>
                  <Th className="text-right">{t('common.actions')}</Th>
                </tr>
              </thead>
              <tbody data-testid="tenants-list">
                {q.data.map((tn) => (
                  <tr key={tn.id}>
                    <Td>
                      <p className="font-medium">{tn.name}</p>
                      <p className="text-xs text-gray-500">{tn.email}{tn.slug ? ` · ${tn.slug}` : ''}</p>
                    </Td>
                    <Td>
                      <Select className="w-auto min-w-[140px] py-1" value={tn.plan_id} aria-label={t('platform.tenants.change_plan', { name: tn.name })}
                        onChange={(e) => { const planId = e.target.value; void ask({ message: t('platform.tenants.confirm_plan', { name: tn.name, plan: planName(planId) ?? '' }), danger: false }).then((ok) => { if (ok) changePlan.mutate({ id: tn.id, plan_id: planId }); }); }}>
                        {!planName(tn.plan_id) && <option value={tn.plan_id}>{tn.plan_name ?? '—'}</option>}
                        {(plansQ.data ?? []).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
                      </Select>
                    </Td>
                    <Td>{tn.status === 'suspended' ? <Badge color="#dc2626">{t('platform.tenants.suspended')}</Badge> : <Badge color="#00a884">{t('platform.tenants.active')}</Badge>}</Td>
                    <Td className="whitespace-nowrap text-xs text-gray-500">{formatDate(tn.created_at)}</Td>
                    <Td className="whitespace-nowrap text-right">
                      <Button variant="ghost" size="sm" onClick={() => setLicensesFor(tn)} title={t('platform.licenses.title')}><KeyRound className="h-4 w-4" aria-hidden /> <span className="hidden lg:inline">{t('platform.licenses.title')}</span></Button>
                      <Button variant="ghost" size="sm" onClick={() => setAdminResetFor(tn)} title={t('password.admin_reset')} aria-label={t('password.admin_reset')} data-testid="admin-password-reset"><LockKeyhole className="h-4 w-4" aria-hidden /></Button>
                      <Button variant="ghost" size="sm" onClick={() => (tn.status === 'suspended' ? status.mutate(tn) : setSuspending(tn))}
                        title={tn.status === 'suspended' ? t('platform.tenants.reactivate') : t('platform.tenants.suspend')}>
                        {tn.status === 'suspended' ? <Play className="h-4 w-4 text-brand-600" aria-hidden /> : <Pause className="h-4 w-4 text-amber-600" aria-hidden />}
                        <span className="hidden lg:inline">{tn.status === 'suspended' ? t('platform.tenants.reactivate') : t('platform.tenants.suspend')}</span>
                      </Button>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
        {creating && <TenantForm plans={plansQ.data ?? []} onClose={() => setCreating(false)} />}
        {licensesFor && <Licenses tenant={licensesFor} onClose={() => setLicensesFor(null)} />}
        {suspending && <SuspendDialog tenant={suspending} onClose={() => setSuspending(null)} />}
        {adminResetFor && <AdminPasswordResetDialog tenant={adminResetFor} onClose={() => setAdminResetFor(null)} />}
      </>
      {confirmDialog}
    </>
  );
}

function TenantForm({ plans, onClose }: { plans: Plan[]; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ name: '', email: '', document: '', plan_id: plans[0]?.id ?? '', admin_name: '', admin_email: '', admin_password: '' });
  const save = useMutation({
    mutationFn: () => platform.tenants.create({
      name: f.values.name, email: f.values.email, document: f.values.document, plan_id: f.values.plan_id,
      admin: { name: f.values.admin_name, email: f.values.admin_email, password: f.values.admin_password },
    }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tenants'] });
      onClose();
    },
    onError: (err) => f.fail(err),
  });
  const err = (k: string) => f.errors[k] ?? f.errors[k.replace('admin_', 'admin.')];
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('platform.tenants.new')} description={t('platform.tenants.new_description')} wide>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError && !Object.keys(f.errors).some((k) => k.startsWith('admin.')) ? f.formError : null} />
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('platform.tenants.name')} htmlFor="tenant-name" error={err('name')}>
            <Input id="tenant-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} required autoFocus invalid={!!err('name')} />
          </Field>
          <Field label={t('platform.tenants.email')} htmlFor="tenant-email" error={err('email')}>
            <Input id="tenant-email" type="email" value={f.values.email} onChange={(e) => f.set('email', e.target.value)} required invalid={!!err('email')} />
          </Field>
          <Field label={t('platform.tenants.document')} htmlFor="tenant-document" error={err('document')}>
            <Input id="tenant-document" value={f.values.document} onChange={(e) => f.set('document', e.target.value)} invalid={!!err('document')} placeholder="00.000.000/0001-00" />
          </Field>
          <Field label={t('platform.tenants.plan')} htmlFor="tenant-plan" error={err('plan_id')}>
            <Select id="tenant-plan" value={f.values.plan_id} onChange={(e) => f.set('plan_id', e.target.value)} invalid={!!err('plan_id')}>
              {plans.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </Select>
          </Field>
        </div>
        <fieldset className="rounded-lg border border-gray-200 p-3">
          <legend className="px-1 text-sm font-medium text-gray-700">{t('platform.tenants.first_admin')}</legend>
          <div className="grid gap-4 sm:grid-cols-3">
            <Field label={t('users.name')} htmlFor="admin-name" error={err('admin_name')}>
              <Input id="admin-name" value={f.values.admin_name} onChange={(e) => f.set('admin_name', e.target.value)} required invalid={!!err('admin_name')} />
            </Field>
            <Field label={t('users.email')} htmlFor="admin-email" error={err('admin_email')}>
              <Input id="admin-email" type="email" value={f.values.admin_email} onChange={(e) => f.set('admin_email', e.target.value)} required invalid={!!err('admin_email')} />
            </Field>
            <Field label={t('users.password')} htmlFor="admin-password" error={err('admin_password')}>
              <Input id="admin-password" type="password" autoComplete="new-password" value={f.values.admin_password} onChange={(e) => f.set('admin_password', e.target.value)} required invalid={!!err('admin_password')} />
            </Field>
          </div>
        </fieldset>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.create')}</Button>
        </div>
      </form>
    </Modal>
  );
}

function SuspendDialog({ tenant, onClose }: { tenant: Tenant; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ reason: '' });
  const save = useMutation({
    mutationFn: () => platform.tenants.suspend(tenant.id, f.values.reason.trim()),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tenants'] });
      onClose();
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('platform.tenants.suspend_title', { name: tenant.name })} description={t('platform.tenants.confirm_suspend', { name: tenant.name })}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <Field label={t('platform.tenants.suspend_reason')} htmlFor="suspend-reason" error={f.errors.reason}>
          <Textarea id="suspend-reason" value={f.values.reason} onChange={(e) => f.set('reason', e.target.value)} required autoFocus invalid={!!f.errors.reason} />
        </Field>
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="danger" loading={save.isPending} disabled={!f.values.reason.trim()}>{t('platform.tenants.suspend')}</Button>
        </div>
      </form>
    </Modal>
  );
}

function licenseState(l: License): 'revoked' | 'expired' | 'valid' {
  if (l.revoked_at || l.status === 'revoked') return 'revoked';
  if (new Date(l.expires_at).getTime() < Date.now()) return 'expired';
  return 'valid';
}

function Licenses({ tenant, onClose }: { tenant: Tenant; onClose: () => void }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const key = ['licenses', tenant.id];
  const q = useQuery({ queryKey: key, queryFn: () => platform.tenants.licenses(tenant.id) });
  const nextYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
  const f = useForm({ server_ip: '', hostname: '', expires_at: nextYear });
  const [issued, setIssued] = useState<License | null>(null);
  const issue = useMutation({
    mutationFn: () => platform.tenants.issueLicense(tenant.id, {
      server_ip: f.values.server_ip.trim(), hostname: f.values.hostname.trim() || undefined,
      expires_at: new Date(`${f.values.expires_at}T23:59:59`).toISOString(),
    }),
    onSuccess: (lic) => {
      setIssued(lic);
      void qc.invalidateQueries({ queryKey: key });
    },
    onError: f.fail,
  });
  const revoke = useMutation({ mutationFn: (lid: string) => platform.tenants.revokeLicense(tenant.id, lid), onSuccess: () => qc.invalidateQueries({ queryKey: key }) });
  return (
    <>
      <Modal open onOpenChange={(o) => !o && onClose()} title={t('platform.licenses.title_for', { name: tenant.name })} wide>
        <div className="space-y-5">
          {issued?.key && (
            <Alert kind="success">
              <p className="mb-2 font-medium">{t('platform.licenses.issued')}</p>
              <div className="flex items-center gap-2">
                <code className="block min-w-0 flex-1 truncate rounded bg-white px-2 py-1 font-mono text-xs" data-testid="license-key">{issued.key}</code>
                <CopyButton text={issued.key} />
              </div>
            </Alert>
          )}
          <form onSubmit={(e) => { e.preventDefault(); issue.mutate(); }} className="space-y-3 rounded-lg border border-gray-200 p-3">
            <p className="text-sm font-medium text-gray-700">{t('platform.licenses.issue')}</p>
            <FormError error={f.formError} />
            <div className="grid gap-3 sm:grid-cols-3">
              <Field label={t('platform.licenses.server_ip')} htmlFor="lic-ip" error={f.errors.server_ip}>
                <Input id="lic-ip" value={f.values.server_ip} onChange={(e) => f.set('server_ip', e.target.value)} placeholder="203.0.113.10" required invalid={!!f.errors.server_ip} />
              </Field>
              <Field label={`${t('platform.licenses.hostname')} (${t('common.optional')})`} htmlFor="lic-host" error={f.errors.hostname}>
                <Input id="lic-host" value={f.values.hostname} onChange={(e) => f.set('hostname', e.target.value)} invalid={!!f.errors.hostname} />
              </Field>
              <Field label={t('platform.licenses.expires_at')} htmlFor="lic-exp" error={f.errors.expires_at}>
                <Input id="lic-exp" type="date" value={f.values.expires_at} onChange={(e) => f.set('expires_at', e.target.value)} required invalid={!!f.errors.expires_at} />
              </Field>
            </div>
            <div className="flex justify-end"><Button type="submit" loading={issue.isPending}><KeyRound className="h-4 w-4" aria-hidden /> {t('platform.licenses.issue')}</Button></div>
          </form>
          {revoke.isError && <FormError error={revoke.error} />}
          {q.isPending ? (
            <SkeletonRows rows={2} />
          ) : q.isError ? (
            <ErrorState error={q.error} onRetry={() => q.refetch()} />
          ) : q.data.length === 0 ? (
            <EmptyState icon={<KeyRound className="h-6 w-6" aria-hidden />} title={t('platform.licenses.empty')} />
          ) : (
            <ul className="divide-y divide-gray-100 rounded-lg border border-gray-200">
              {q.data.map((l) => {
                const st = licenseState(l);
                return (
                  <li key={l.id} className="flex flex-wrap items-center gap-3 p-3 text-sm">
                    <div className="min-w-0 flex-1">
                      <p className="font-mono text-xs">{l.server_ip}{l.hostname ? ` · ${l.hostname}` : ''}</p>
                      <p className="text-xs text-gray-500">{t('platform.licenses.valid_until', { date: formatDate(l.expires_at) })}</p>
                    </div>
                    <Badge color={st === 'valid' ? '#00a884' : st === 'expired' ? '#d97706' : '#dc2626'}>{t(`platform.licenses.state.${st}`)}</Badge>
                    {l.key && <CopyButton text={l.key} />}
                    {st !== 'revoked' && (
                      <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('platform.licenses.confirm_revoke'), confirmLabel: t('platform.licenses.revoke') }).then((ok) => { if (ok) revoke.mutate(l.id); }); }} aria-label={t('platform.licenses.revoke')} title={t('platform.licenses.revoke')}>
                        <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                      </Button>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      </Modal>
      {confirmDialog}
    </>
  );
}

/** "Redefinir senha do administrador": sends one of the tenant's admins a reset link (or, without SMTP, shows it once). */
export function AdminPasswordResetDialog({ tenant, onClose }: { tenant: Tenant; onClose: () => void }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const q = useQuery({ queryKey: ['tenant-admins', tenant.id], queryFn: () => platform.tenants.admins(tenant.id) });
  const [result, setResult] = useState<AdminPasswordReset | null>(null);
  const send = useMutation({
    mutationFn: (a: TenantAdminAccount) => platform.tenants.resetAdminPassword(tenant.id, a.id),
    onMutate: () => setResult(null),
    onSuccess: setResult,
  });
  const mailFailed = send.error instanceof ApiError && send.error.code === 'mail_failed';
  return (
    <>
      <Modal open onOpenChange={(o) => !o && onClose()} title={t('password.admin_reset_title', { name: tenant.name })} description={t('password.admin_reset_description')} wide>
        <div className="space-y-4">
          {result?.sent && <Alert kind="success"><span data-testid="admin-reset-sent">{t('password.admin_sent', { email: result.email })}</span></Alert>}
          {result?.link && (
            <Alert kind="warning">
              <p className="mb-2">{t('password.admin_link', { email: result.email, time: formatDateTime(result.expires_at) })}</p>
              <div className="flex items-center gap-2">
                <code className="block min-w-0 flex-1 truncate rounded bg-white px-2 py-1 font-mono text-xs" data-testid="admin-reset-link">{result.link}</code>
                <CopyButton text={result.link} />
              </div>
            </Alert>
          )}
          {send.isError && (mailFailed ? <Alert>{t('password.mail_failed')}</Alert> : <FormError error={send.error} />)}
          {q.isPending ? (
            <SkeletonRows rows={2} />
          ) : q.isError ? (
            <ErrorState error={q.error} onRetry={() => q.refetch()} />
          ) : q.data.length === 0 ? (
            <EmptyState icon={<LockKeyhole className="h-6 w-6" aria-hidden />} title={t('password.admin_none')} />
          ) : (
            <ul className="divide-y divide-gray-100 rounded-lg border border-gray-200" data-testid="tenant-admins">
              {q.data.map((a) => (
                <li key={a.id} className="flex flex-wrap items-center gap-3 p-3 text-sm">
                  <div className="min-w-0 flex-1">
                    <p className="font-medium">{a.name}</p>
                    <p className="text-xs text-gray-500">
                      {a.email} · {a.last_login_at ? t('password.last_login', { date: formatDateTime(a.last_login_at) }) : t('password.never_logged_in')}
                    </p>
                  </div>
                  {a.active ? (
                    <Button size="sm" variant="outline" loading={send.isPending && send.variables?.id === a.id}
                      onClick={() => { void ask({ message: t('password.admin_confirm', { email: a.email }), danger: false, confirmLabel: t('password.admin_send') }).then((ok) => { if (ok) send.mutate(a); }); }}>
                      <LockKeyhole className="h-4 w-4" aria-hidden /> {t('password.admin_send')}
                    </Button>
                  ) : (
                    <Badge color="#6b7280">{t('password.admin_inactive')}</Badge>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      </Modal>
      {confirmDialog}
    </>
  );
}
