import { useQuery } from '@tanstack/react-query';
import { CheckCircle2, ShieldAlert, ShieldCheck, XCircle } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { tenant } from '../../api/endpoints';
import { FEATURE_KEYS, type PlanLimits } from '../../api/types';
import { licenseInvalid, licenseWarning, useWarningLines } from '../../components/LicenseBanner';
import { Alert, Card, ErrorState, Skeleton } from '../../components/ui';
import { formatDate, formatMoney, formatNumber } from '../../lib/format';

const LIMIT_KEYS: (keyof PlanLimits)[] = ['users', 'connections', 'contacts', 'monthly_conversations'];

export function UsageBar({ label, used, limit }: { label: string; used: number; limit: number | null | undefined }) {
  const { t } = useTranslation();
  const unlimited = limit === null || limit === undefined || limit < 0;
  const pct = unlimited ? 0 : limit === 0 ? (used > 0 ? 100 : 0) : Math.min(100, Math.round((used / limit!) * 100));
  const color = pct >= 100 ? 'bg-red-500' : pct >= 80 ? 'bg-amber-500' : 'bg-brand-500';
  return (
    <div>
      <div className="mb-1 flex justify-between text-sm">
        <span className="text-gray-700">{label}</span>
        <span className="tabular-nums text-gray-500">
          {formatNumber(used)} / {unlimited ? t('plan.unlimited') : formatNumber(limit)}
        </span>
      </div>
      <div className="h-2 overflow-hidden rounded-full bg-gray-100" role="progressbar" aria-label={label} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div className={`h-full rounded-full ${color}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export default function PlanSettings() {
  const { t, i18n } = useTranslation();
  const warningLines = useWarningLines();
  const q = useQuery({ queryKey: ['tenant'], queryFn: tenant.get, staleTime: 0, refetchOnMount: 'always' });
  if (q.isPending) {
    return (
      <div className="grid gap-4 md:grid-cols-2">
        <Card className="space-y-4 p-5"><Skeleton className="h-5 w-1/3" /><Skeleton className="h-2 w-full" /><Skeleton className="h-2 w-full" /><Skeleton className="h-2 w-full" /></Card>
        <Card className="space-y-4 p-5"><Skeleton className="h-5 w-1/3" /><Skeleton className="h-4 w-2/3" /></Card>
      </div>
    );
  }
  if (q.isError) return <Card><ErrorState error={q.error} onRetry={() => q.refetch()} /></Card>;
  const info = q.data;
  const limits = info.plan?.limits;
  const lic = info.license;
  const reasonKey = `login.license_reason.${lic?.reason}`;
  const lines = warningLines(info);
  return (
    <div className="space-y-4">
      {licenseWarning(info) && lines.length > 0 && (
        <Alert kind={licenseInvalid(info) ? 'error' : 'warning'}>
          <ul data-testid="license-warning">{lines.map((l, i) => <li key={i}>{l}</li>)}</ul>
        </Alert>
      )}
      <div className="grid gap-4 md:grid-cols-2">
        <Card className="p-5">
          <div className="mb-4 flex items-baseline justify-between">
            <div>
              <p className="text-xs uppercase tracking-wide text-gray-500">{t('plan.current')}</p>
              <h2 className="text-lg font-semibold text-gray-900">{info.plan?.name ?? t('plan.none')}</h2>
            </div>
            {info.plan?.monthly_price && <p className="text-sm text-gray-600">{t('plan.per_month', { price: formatMoney(info.plan.monthly_price) })}</p>}
          </div>
          <div className="space-y-4">
            {LIMIT_KEYS.map((k) => (
              <UsageBar key={k} label={t(`plan.limits.${k}`)} used={info.usage?.[k] ?? 0} limit={limits ? limits[k] : null} />
            ))}
          </div>
        </Card>
        <Card className="p-5">
          <p className="text-xs uppercase tracking-wide text-gray-500">{t('plan.license')}</p>
          {lic && lic.enforced === false ? (
            <div className="mt-2 flex items-start gap-3">
              <ShieldCheck className="h-8 w-8 text-gray-400" aria-hidden />
              <div>
                <p className="font-semibold text-gray-900">{t('plan.license_not_enforced')}</p>
                <p className="text-sm text-gray-600">{t('plan.license_not_enforced_hint')}</p>
              </div>
            </div>
          ) : lic ? (
            <div className="mt-2 flex items-start gap-3">
              {lic.valid && !lic.in_grace ? <ShieldCheck className="h-8 w-8 text-brand-600" aria-hidden /> : <ShieldAlert className={`h-8 w-8 ${lic.valid ? 'text-amber-500' : 'text-red-600'}`} aria-hidden />}
              <div>
                <p className="font-semibold text-gray-900">{lic.valid ? (lic.in_grace ? t('plan.license_grace') : t('plan.license_valid')) : t('plan.license_invalid')}</p>
                {!lic.valid && lic.reason && <p className="text-sm text-gray-600">{i18n.exists(reasonKey) ? t(reasonKey) : lic.reason}</p>}
                {lic.expires_at && <p className="text-sm text-gray-600">{t('plan.license_expires', { date: formatDate(lic.expires_at) })}</p>}
              </div>
            </div>
          ) : (
            <p className="mt-2 text-sm text-gray-600">{t('plan.license_none')}</p>
          )}
          {info.plan?.features && (
            <>
              <p className="mt-6 text-xs uppercase tracking-wide text-gray-500">{t('plan.features_title')}</p>
              <ul className="mt-2 grid grid-cols-2 gap-2">
                {FEATURE_KEYS.map((k) => (
                  <li key={k} className="flex items-center gap-2 text-sm">
                    {info.plan!.features[k] ? <CheckCircle2 className="h-4 w-4 text-brand-600" aria-label={t('common.yes')} /> : <XCircle className="h-4 w-4 text-gray-300" aria-label={t('common.no')} />}
                    <span className={info.plan!.features[k] ? 'text-gray-800' : 'text-gray-400'}>{t(`plan.features.${k}`)}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </Card>
      </div>
    </div>
  );
}
