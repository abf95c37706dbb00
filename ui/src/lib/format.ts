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
