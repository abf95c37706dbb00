import { ShieldAlert } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { TenantInfo } from '../api/types';
import { formatDate } from '../lib/format';

/** The license is enforced on this server and does not hold. */
export function licenseInvalid(info: TenantInfo | undefined | null): boolean {
  const l = info?.license;
  return !!l && l.enforced !== false && !l.valid;
}

/** Shown while the license is invalid, in grace or expiring, or the plan is near or over its limits. */
export function licenseWarning(info: TenantInfo | undefined | null): boolean {
  if (!info) return false;
  return !!info.warning || !!info.license?.warning || licenseInvalid(info);
}

/** The banner's sentences, in the user's language (the server's warning codes are translated). */
export function useWarningLines() {
  const { t, i18n } = useTranslation();
  return (info: TenantInfo): string[] => {
    const lines: string[] = [];
    const l = info.license;
    if (licenseInvalid(info)) {
      const reasonKey = `login.license_reason.${l?.reason}`;
      lines.push(`${t('license.invalid')} ${l?.reason && i18n.exists(reasonKey) ? t(reasonKey) : ''}`.trim());
    }
    for (const w of info.warnings ?? []) {
      const key = `license.warnings.${w.code}`;
      lines.push(i18n.exists(key) ? t(key, { date: formatDate(l?.grace_ends_at ?? l?.expires_at) }) : w.message);
    }
    if (!lines.length && l?.warning) lines.push(l.in_grace ? t('license.grace') : t('license.expires_on', { date: formatDate(l.expires_at) }));
    return lines;
  };
}

export function LicenseBanner({ info }: { info: TenantInfo }) {
  const lines = useWarningLines()(info);
  if (!licenseWarning(info) || !lines.length) return null;
  const severe = licenseInvalid(info) || (info.warnings ?? []).some((w) => w.code === 'conversations_100' || w.code === 'over_limit');
  return (
    <div role="alert" data-testid="license-banner" className={`flex items-center justify-center gap-2 px-3 py-1.5 text-sm ${severe ? 'bg-red-100 text-red-900' : 'bg-amber-100 text-amber-900'}`}>
      <ShieldAlert className="h-4 w-4 shrink-0" aria-hidden /> <span>{lines.join(' ')}</span>
    </div>
  );
}
