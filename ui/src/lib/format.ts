import i18n from '../i18n';

const locale = () => (i18n.language === 'en' ? 'en-US' : 'pt-BR');

export function formatTime(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
}

export function formatDate(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleDateString(locale(), { day: '2-digit', month: '2-digit', year: 'numeric' });
}

export function formatDateTime(iso?: string | null): string {
  if (!iso) return '';
  return `${formatDate(iso)} ${formatTime(iso)}`;
}

/** The key of the local day of a timestamp, e.g. "2026-11-28". */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Hoje", "Ontem", a weekday within the week, else the date (WhatsApp style). */
export function dayLabel(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const start = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((start(now) - start(d)) / 86_400_000);
  if (days === 0) return i18n.t('time.today');
  if (days === 1) return i18n.t('time.yesterday');
  if (days > 1 && days < 7) {
    const w = d.toLocaleDateString(locale(), { weekday: 'long' });
    return w.charAt(0).toUpperCase() + w.slice(1);
  }
  return formatDate(iso);
}

/** The list's time column: the time today, "Ontem", else the date. */
export function listTime(iso?: string | null, now = new Date()): string {
  if (!iso) return '';
  const label = dayLabel(iso, now);
  return label === i18n.t('time.today') ? formatTime(iso) : label;
}

/** A wait as people say it: "39 s", "14 min 39 s", "2 h 5 min" (not "14:39", which reads as a clock time). */
export function formatDuration(totalSeconds: number): string {
  const total = Math.max(0, Math.ceil(totalSeconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

// Country codes of one and two digits (ITU E.164); every other code has three.
const SHORT_COUNTRY_CODES = new Set([
  '1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49',
  '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86',
  '90', '91', '92', '93', '94', '95', '98',
]);

/**
 * A phone as people write it: Brazilian numbers as "(11) 98765-4321" (mobile)
 * or "(11) 3456-7890" (landline), North American as "+1 415 555 0100", others
 * as "+CC" and groups of three. Stored numbers are E.164 digits; anything that
 * does not look like one is shown as it came. (libphonenumber-js would know
 * every country's grouping, but its metadata is ~80-140 KB for a console whose
 * numbers are nearly all Brazilian.)
 */
export function formatPhone(raw?: string | null): string {
  if (!raw) return '';
  const digits = raw.replace(/\D/g, '');
  if (digits.length < 10 || digits.length > 15) return raw;
  if (digits.startsWith('55') && (digits.length === 12 || digits.length === 13)) {
    const area = digits.slice(2, 4);
    const local = digits.slice(4);
    return `(${area}) ${local.slice(0, local.length - 4)}-${local.slice(-4)}`;
  }
  if (digits.startsWith('1') && digits.length === 11) {
    return `+1 ${digits.slice(1, 4)} ${digits.slice(4, 7)} ${digits.slice(7)}`;
  }
  const cc = SHORT_COUNTRY_CODES.has(digits[0]) ? digits[0] : SHORT_COUNTRY_CODES.has(digits.slice(0, 2)) ? digits.slice(0, 2) : digits.slice(0, 3);
  const national = digits.slice(cc.length);
  if (cc === '44') return `+44 ${national.slice(0, 4)} ${national.slice(4)}`;
  const groups = national.match(/.{1,3}/g) ?? [];
  if (groups.length > 1 && groups[groups.length - 1].length === 1) groups.splice(-2, 2, groups[groups.length - 2] + groups[groups.length - 1]);
  return `+${cc} ${groups.join(' ')}`;
}

export function formatBytes(n?: number | null): string {
  if (!n || n <= 0) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toLocaleString(locale(), { maximumFractionDigits: i === 0 ? 0 : 1 })} ${units[i]}`;
}

export function formatMoney(v: string | number | null | undefined): string {
  const n = typeof v === 'string' ? Number(v) : v ?? 0;
  return (Number.isFinite(n) ? n : 0).toLocaleString('pt-BR', { style: 'currency', currency: 'BRL' });
}

export function formatNumber(n?: number | null): string {
  return (n ?? 0).toLocaleString(locale());
}

export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
