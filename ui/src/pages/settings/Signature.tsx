import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { auth, tenant } from '../../api/endpoints';
import { Alert, Card, ErrorState, Skeleton, useErrorText } from '../../components/ui';
import { isAdmin, useAuth } from '../../store/auth';

function Switch({ id, checked, disabled, onChange, label, hint }: { id: string; checked: boolean; disabled?: boolean; onChange: (on: boolean) => void; label: string; hint: string }) {
  return (
    <label htmlFor={id} className="flex items-start gap-3">
      <input id={id} type="checkbox" role="switch" className="mt-1 h-4 w-4 accent-brand-600" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <span>
        <span className="block text-sm font-medium text-gray-900">{label}</span>
        <span className="block text-sm text-gray-500">{hint}</span>
      </span>
    </label>
  );
}

/**
 * Agent signature: the company's switch (admins; off by default) and each
 * user's own. With both on, the server starts the user's text messages with
 * "*Name:*" on its own line.
 */
export default function SignatureSettings() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const errorText = useErrorText();
  const user = useAuth((s) => s.user);
  const setUser = useAuth((s) => s.setUser);
  const info = useQuery({ queryKey: ['tenant'], queryFn: tenant.get });
  const company = useMutation({
    mutationFn: (on: boolean) => tenant.updateSettings({ agent_signature: on }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['tenant'] }),
  });
  const mine = useMutation({
    mutationFn: (on: boolean) => auth.updateMe({ signature: on }),
    onSuccess: (me) => setUser(me),
  });
  if (info.isPending) return <Card className="space-y-3 p-5"><Skeleton className="h-5 w-1/3" /><Skeleton className="h-4 w-2/3" /></Card>;
  if (info.isError) return <Card><ErrorState error={info.error} onRetry={() => info.refetch()} /></Card>;
  const companyOn = info.data.settings?.agent_signature ?? false;
  const mineOn = user?.signature ?? true;
  const error = company.error ?? mine.error;
  return (
    <Card className="space-y-5 p-5">
      <div>
        <h2 className="text-base font-semibold text-gray-900">{t('signature.title')}</h2>
        <p className="text-sm text-gray-500">{t('signature.description')}</p>
      </div>
      {error && <Alert>{errorText(error)}</Alert>}
      <Switch id="signature-company" checked={companyOn} disabled={!isAdmin(user?.role) || company.isPending} onChange={(on) => company.mutate(on)}
        label={t('signature.company')} hint={isAdmin(user?.role) ? t('signature.company_hint') : t('signature.company_admin_only')} />
      <Switch id="signature-mine" checked={mineOn} disabled={mine.isPending} onChange={(on) => mine.mutate(on)}
        label={t('signature.mine')} hint={companyOn ? t('signature.mine_hint') : t('signature.mine_off_hint')} />
      <div>
        <p className="mb-1 text-xs font-medium uppercase tracking-wide text-gray-500">{t('signature.preview')}</p>
        <div className="inline-block max-w-sm whitespace-pre-line rounded-lg bg-[#d9fdd3] px-3 py-2 text-sm text-gray-900 shadow-sm" data-testid="signature-preview">
          {companyOn && mineOn && <strong>{user?.name}:{'\n'}</strong>}
          {t('signature.sample')}
        </div>
      </div>
    </Card>
  );
}
