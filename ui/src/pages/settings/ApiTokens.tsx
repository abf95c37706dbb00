import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { KeyRound, Plus, Trash2 } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { apiTokens, tenant } from '../../api/endpoints';
import type { ApiToken, CreatedApiToken } from '../../api/types';
import { useConfirm } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { FormError } from '../../components/FormError';
import { Alert, Badge, Button, Card, EmptyState, ErrorState, Field, Input, Modal, Select, SkeletonRows, Table, Td, Th } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { useForm } from '../../lib/useForm';

/** The company's API tokens (admins): programs use them as Authorization: Bearer crm_…; the secret is shown once. */
export default function ApiTokensSettings() {
  const { t } = useTranslation();
  const [ask, confirmDialog] = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['api-tokens'], queryFn: apiTokens.list });
  const tenantQ = useQuery({ queryKey: ['tenant'], queryFn: tenant.get, retry: false, staleTime: 60_000 });
  // Unknown (still loading, or the tenant call failed) counts as included: the server refuses anyway.
  const included = tenantQ.data?.plan?.features?.api !== false;
  const [creating, setCreating] = useState(false);
  const revoke = useMutation({
    mutationFn: (id: string) => apiTokens.revoke(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['api-tokens'] }),
  });
  const confirmRevoke = (k: ApiToken) => {
    void ask({ message: t('api_tokens.confirm_revoke', { name: k.name }), confirmLabel: t('api_tokens.revoke') }).then((ok) => {
      if (ok) revoke.mutate(k.id);
    });
  };

  return (
    <>
      <Card>
        <div className="flex items-center justify-between gap-3 border-b border-gray-100 p-4">
          <div>
            <h2 className="font-semibold text-gray-900">{t('api_tokens.title')}</h2>
            <p className="text-sm text-gray-500">{t('api_tokens.description')}</p>
          </div>
          <Button onClick={() => setCreating(true)} disabled={!included} data-testid="new-api-token">
            <Plus className="h-4 w-4" aria-hidden /> {t('api_tokens.new')}
          </Button>
        </div>
        {!included && <Alert kind="warning" className="m-4">{t('api_tokens.not_in_plan')}</Alert>}
        {q.isPending ? (
          <SkeletonRows rows={3} />
        ) : q.isError ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : q.data.length === 0 ? (
          <EmptyState icon={<KeyRound className="h-6 w-6" aria-hidden />} title={t('api_tokens.empty')} description={t('api_tokens.empty_hint')} />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>{t('api_tokens.name')}</Th>
                <Th>{t('api_tokens.scope')}</Th>
                <Th>{t('api_tokens.created')}</Th>
                <Th>{t('api_tokens.last_used')}</Th>
                <Th className="text-right">{t('common.actions')}</Th>
              </tr>
            </thead>
            <tbody data-testid="api-tokens-list">
              {q.data.map((k) => (
                <tr key={k.id}>
                  <Td>
                    <div className="font-medium text-gray-900">{k.name}</div>
                    <div className="font-mono text-xs text-gray-500">{k.prefix}_…</div>
                  </Td>
                  <Td><Badge>{t(`api_tokens.scopes.${k.scope}`)}</Badge></Td>
                  <Td className="whitespace-nowrap text-gray-500">{formatDateTime(k.created_at)}</Td>
                  <Td className="whitespace-nowrap text-gray-500">{k.last_used_at ? formatDateTime(k.last_used_at) : t('api_tokens.never_used')}</Td>
                  <Td className="text-right">
                    <Button variant="ghost" size="sm" onClick={() => confirmRevoke(k)} aria-label={t('api_tokens.revoke_item', { name: k.name })}>
                      <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                    </Button>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {revoke.isError && <div className="p-4"><FormError error={revoke.error} /></div>}
      </Card>
      {creating && <CreateApiToken onClose={() => setCreating(false)} />}
      {confirmDialog}
    </>
  );
}

/** The create dialog: name and scope, then the token, shown this once with a copy button. */
function CreateApiToken({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const f = useForm({ name: '', scope: 'read' as 'read' | 'write' });
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const save = useMutation({
    mutationFn: () => apiTokens.create({ name: f.values.name.trim(), scope: f.values.scope }),
    onSuccess: (k) => {
      setCreated(k);
      void qc.invalidateQueries({ queryKey: ['api-tokens'] });
    },
    onError: f.fail,
  });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={created ? t('api_tokens.created_title') : t('api_tokens.new')}>
      {created ? (
        <div className="space-y-4">
          <Alert kind="warning">{t('api_tokens.shown_once')}</Alert>
          <div className="flex items-center gap-2">
            <code className="block min-w-0 flex-1 break-all rounded bg-gray-100 px-2 py-1 font-mono text-xs" data-testid="api-token-secret">{created.token}</code>
            <CopyButton text={created.token} />
          </div>
          <p className="text-sm text-gray-500">{t('api_tokens.usage_hint')}</p>
          <div className="flex justify-end">
            <Button type="button" onClick={onClose} data-testid="api-token-done">{t('api_tokens.done')}</Button>
          </div>
        </div>
      ) : (
        <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }} className="space-y-4">
          <FormError error={f.formError} />
          <Field label={t('api_tokens.name')} htmlFor="api-token-name" error={f.errors.name} hint={t('api_tokens.name_hint')}>
            <Input id="api-token-name" value={f.values.name} onChange={(e) => f.set('name', e.target.value)} invalid={!!f.errors.name} required autoFocus maxLength={120} />
          </Field>
          <Field label={t('api_tokens.scope')} htmlFor="api-token-scope" error={f.errors.scope} hint={t(`api_tokens.scope_hints.${f.values.scope}`)}>
            <Select id="api-token-scope" value={f.values.scope} onChange={(e) => f.set('scope', e.target.value as 'read' | 'write')} invalid={!!f.errors.scope}>
              <option value="read">{t('api_tokens.scopes.read')}</option>
              <option value="write">{t('api_tokens.scopes.write')}</option>
            </Select>
          </Field>
          <div className="flex justify-end gap-2">
            <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={save.isPending} data-testid="create-api-token">{t('common.create')}</Button>
          </div>
        </form>
      )}
    </Modal>
  );
}
