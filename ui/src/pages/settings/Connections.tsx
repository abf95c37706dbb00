import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Check, Copy, Plug, Plus, Smartphone, Trash2 } from 'lucide-react';
import { Link } from 'react-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useConfirm } from '../../components/ConfirmDialog';
import { connections, routing, teams, type ConnectionInput } from '../../api/endpoints';
import type { Connection } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, Select, SkeletonRows } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { useForm } from '../../lib/useForm';
import { useConnectionLive } from '../../store/realtime';
import { ChannelIcon } from '../../components/chat/ChannelIcon';

/** The credentials each provider needs (DESIGN §6); sandbox needs none. */
export function credentialFields(provider: string, channel: string): string[] {
  if (provider === 'meta') {
    if (channel === 'messenger') return ['access_token', 'app_secret', 'page_id'];
    if (channel === 'instagram') return ['access_token', 'app_secret', 'ig_account_id'];
    return ['access_token', 'app_secret', 'phone_number_id', 'waba_id'];
  }
  if (provider === 'uazapi') return ['base_url', 'instance_token'];
  if (provider === 'evolution') return ['base_url', 'instance', 'api_key'];
  return [];
}

const statusColor: Record<string, string> = { connected: '#00a884', active: '#00a884', pending: '#d97706', connecting: '#d97706', qr: '#d97706', disconnected: '#dc2626', error: '#dc2626' };

function CopyField({ label, value }: { label: string; value: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <div>
      <p className="text-xs text-gray-500">{label}</p>
      <div className="mt-0.5 flex items-center gap-2">
        <code className="min-w-0 flex-1 truncate rounded bg-gray-50 px-2 py-1 font-mono text-xs">{value}</code>
        <Button variant="ghost" size="sm" type="button" aria-label={`${t('common.copy')} ${label}`}
          onClick={async () => { try { await navigator.clipboard.writeText(value); } catch { /* no clipboard */ } setCopied(true); setTimeout(() => setCopied(false), 1500); }}>
          {copied ? <Check className="h-4 w-4" aria-hidden /> : <Copy className="h-4 w-4" aria-hidden />}
        </Button>
      </div>
    </div>
  );
}

export default function ConnectionsSettings({ canWrite }: { canWrite: boolean }) {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['connections'], queryFn: () => connections.list() });
  const live = useConnectionLive((s) => s.byId);
  const [creating, setCreating] = useState(false);
  const remove = useMutation({ mutationFn: (id: string) => connections.remove(id), onSuccess: () => qc.invalidateQueries({ queryKey: ['connections'] }) });
  const teamsQ = useQuery({ queryKey: ['teams'], queryFn: () => teams.list() });
  const defaultTeam = useMutation({
    mutationFn: ({ id, teamId }: { id: string; teamId: string | null }) => routing.setDefaultTeam(id, teamId),
    onSuccess: (out) => {
      qc.setQueryData<Connection[]>(['connections'], (list) => list?.map((c) => (c.id === out.connection_id ? { ...c, default_team_id: out.default_team_id } : c)));
      void qc.invalidateQueries({ queryKey: ['connections'] });
    },
  });
  return (
    <>
      <Card>
        <div className="flex items-center justify-between border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('connections.title')}</h2>
            <p className="text-sm text-gray-500">{t('connections.description')}</p>
          </div>
          {canWrite && <Button onClick={() => setCreating(true)}><Plus className="h-4 w-4" aria-hidden /> {t('connections.new')}</Button>}
        </div>
        {remove.isError && <div className="px-4 pt-4"><FormError error={remove.error} /></div>}
        {defaultTeam.isError && <div className="px-4 pt-4"><FormError error={defaultTeam.error} /></div>}
        {q.isPending ? (
          <SkeletonRows rows={2} />
        ) : q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : q.data.length === 0 ? (
          <EmptyState icon={<Plug className="h-6 w-6" aria-hidden />} title={t('connections.empty')} description={t('connections.empty_hint')} />
        ) : (
          <ul className="divide-y divide-gray-100" data-testid="connections-list">
            {q.data.map((c) => {
              const state = live[c.id];
              const status = state?.status ?? c.status;
              const qr = state?.qr_code;
              return (
                <li key={c.id} className="space-y-3 p-4">
                  <div className="flex flex-wrap items-center gap-3">
                    <ChannelIcon channel={c.channel} className="h-5 w-5" />
                    <div className="min-w-0 flex-1">
                      <p className="font-medium text-gray-900">{c.name}</p>
                      <p className="text-xs text-gray-500">{t(`inbox.channels.${c.channel}`)} · {t(`connections.providers.${c.provider}`, { defaultValue: c.provider })}</p>
                    </div>
                    {c.provider === 'sandbox' && (
                      <Link to={`/settings/connections/${c.id}/phone`} data-testid="open-phone"
                        className="inline-flex items-center gap-1.5 rounded-md border border-brand-200 px-2.5 py-1 text-sm font-medium text-brand-700 hover:bg-brand-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
                        <Smartphone className="h-4 w-4" aria-hidden /> {t('phone.open')}
                      </Link>
                    )}
                    <Badge color={statusColor[status] ?? '#64748b'}>{t(`connections.status.${status}`, { defaultValue: status })}</Badge>
                    {canWrite && (
                      <Button variant="ghost" size="sm" onClick={() => { void ask({ message: t('connections.confirm_delete', { name: c.name }), confirmLabel: t('common.delete') }).then((ok) => { if (ok) remove.mutate(c.id); }); }} aria-label={t('common.delete_item', { name: c.name })}>
                        <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                      </Button>
                    )}
                  </div>
                  <div className="flex flex-wrap items-center gap-2 text-sm">
                    <label htmlFor={`default-team-${c.id}`} className="text-gray-600">{t('routing.default_team')}</label>
                    <div className="w-56">
                      <Select id={`default-team-${c.id}`} className="py-1 text-sm" value={c.default_team_id ?? ''} disabled={!canWrite || defaultTeam.isPending}
                        onChange={(e) => defaultTeam.mutate({ id: c.id, teamId: e.target.value || null })}>
                        <option value="">{t('routing.no_default_team')}</option>
                        {(teamsQ.data ?? []).map((tm) => <option key={tm.id} value={tm.id}>{tm.name}</option>)}
                      </Select>
                    </div>
                    <span className="text-xs text-gray-500">{t('routing.default_team_hint')}</span>
                  </div>
                  {(c.last_error || state?.last_error) && <Alert kind="error">{state?.last_error || c.last_error} {c.last_error_at && `(${formatDateTime(c.last_error_at)})`}</Alert>}
                  {qr && status !== 'connected' && (
                    <div className="flex flex-col items-center gap-2 rounded-lg border border-gray-200 p-3">
                      <p className="text-sm text-gray-700">{t('connections.scan_qr')}</p>
                      {qr.startsWith('data:image') ? <img src={qr} alt={t('connections.qr')} className="h-56 w-56" /> : <code className="break-all text-xs">{qr}</code>}
                    </div>
                  )}
                  {c.provider !== 'sandbox' && c.webhook_url && (
                    <div className="grid gap-2 sm:grid-cols-2">
                      <CopyField label={t('connections.webhook_url')} value={c.webhook_url} />
                      {c.provider === 'meta' && c.verify_token && <CopyField label={t('connections.verify_token')} value={c.verify_token} />}
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        {creating && <ConnectionForm onClose={() => setCreating(false)} />}
      </Card>
      {confirmDialog}
    </>
  );
}

function ConnectionForm({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ name: '', channel: 'whatsapp', provider: 'sandbox' });
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<(Connection & { app_secret?: string }) | null>(null);
  const fields = credentialFields(f.values.provider, f.values.channel);
  const save = useMutation({
    mutationFn: () => {
      const body: ConnectionInput = { name: f.values.name, channel: f.values.channel, provider: f.values.provider };
      if (fields.length) body.credentials = Object.fromEntries(fields.map((k) => [k, creds[k] ?? '']));
      return connections.create(body);
    },
    onSuccess: (c) => {
      void qc.invalidateQueries({ queryKey: ['connections'] });
      void qc.invalidateQueries({ queryKey: ['tenant'] });
      if (c.app_secret || c.webhook_url) setCreated(c);
      else onClose();
    },
    onError: f.fail,
  });
  if (created) {
    return (
      <Modal open onOpenChange={(o) => !o && onClose()} title={t('connections.created')}>
        <div className="space-y-3">
          {created.app_secret && <Alert kind="warning">{t('connections.secret_once')}</Alert>}
          {created.app_secret && <CopyField label={t('connections.app_secret')} value={created.app_secret} />}
          {created.webhook_url && <CopyField label={t('connections.webhook_url')} value={created.webhook_url} />}
          {created.provider === 'meta' && created.verify_token && <CopyField label={t('connections.verify_token')} value={created.verify_token} />}
          <div className="flex justify-end"><Button onClick={onClose}>{t('common.close')}</Button></div>
        </div>
      </Modal>
    );
  }
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('connections.new')} wide>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
        <FormError error={f.formError} />
        <div className="grid gap-4 sm:grid-cols-3">
          <Field label={t('connections.name')} htmlFor="conn-name" error={f.errors.name}>
            <Input id="conn-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} required autoFocus invalid={!!f.errors.name} />
          </Field>
          <Field label={t('connections.channel')} htmlFor="conn-channel" error={f.errors.channel}>
            <Select id="conn-channel" value={f.values.channel} onChange={(e) => f.set('channel', e.target.value)}>
              {['whatsapp', 'instagram', 'messenger'].map((ch) => <option key={ch} value={ch}>{t(`inbox.channels.${ch}`)}</option>)}
            </Select>
          </Field>
          <Field label={t('connections.provider')} htmlFor="conn-provider" error={f.errors.provider}>
            <Select id="conn-provider" value={f.values.provider} onChange={(e) => f.set('provider', e.target.value)}>
              {['sandbox', 'meta', 'uazapi', 'evolution'].map((p) => <option key={p} value={p}>{t(`connections.providers.${p}`)}</option>)}
            </Select>
          </Field>
        </div>
        {fields.length > 0 && (
          <fieldset className="grid gap-3 rounded-lg border border-gray-200 p-3 sm:grid-cols-2">
            <legend className="px-1 text-sm font-medium text-gray-700">{t('connections.credentials')}</legend>
            {fields.map((k) => (
              <Field key={k} label={k} htmlFor={`cred-${k}`} error={f.errors[`credentials.${k}`]}>
                <Input id={`cred-${k}`} autoComplete="off" type={/token|secret|key/.test(k) ? 'password' : 'text'} value={creds[k] ?? ''} onChange={(e) => setCreds((c) => ({ ...c, [k]: e.target.value }))} />
              </Field>
            ))}
          </fieldset>
        )}
        {f.values.provider === 'sandbox' && <p className="text-sm text-gray-600">{t('connections.sandbox_hint')}</p>}
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending}>{t('common.create')}</Button>
        </div>
      </form>
    </Modal>
  );
}
