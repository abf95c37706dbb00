import { ShieldAlert } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { TenantInfo } from '../api/types';
import { formatDate } from '../lib/format';

/** Shown while the license is invalid, in its grace period, or the server flags a warning. */
export function licenseWarning(info: TenantInfo | undefined | null): boolean {
  const l = info?.license;
  if (!l) return false;
  return !!l.warning || !l.valid || !!l.in_grace;
}

export function LicenseBanner({ info }: { info: TenantInfo }) {
  const { t, i18n } = useTranslation();
  if (!licenseWarning(info)) return null;
  const l = info.license!;
  const reasonKey = `login.license_reason.${l.reason}`;
  let text: string;
  if (!l.valid) text = `${t('license.invalid')} ${l.reason && i18n.exists(reasonKey) ? t(reasonKey) : ''}`;
  else if (l.in_grace) text = t('license.grace');
  else if (l.days_left != null) text = t('license.expires_in', { count: l.days_left });
  else text = t('license.expires_on', { date: formatDate(l.expires_at) });
  return (
    <div role="alert" data-testid="license-banner" className={`flex items-center justify-center gap-2 px-3 py-1.5 text-sm ${l.valid ? 'bg-amber-100 text-amber-900' : 'bg-red-100 text-red-900'}`}>
      <ShieldAlert className="h-4 w-4 shrink-0" aria-hidden /> <span>{text.trim()}</span>
    </div>
  );
}
