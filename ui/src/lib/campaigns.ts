// Campaigns in the console: the pace's arithmetic, the live cache, and a
// recipient's values in a message's variables.
import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { Campaign, Page } from '../api/types';

/**
 * How long sending takes at a pace: n recipients, one every 60/rate seconds
 * (the first goes at once). With quiet hours, the closed part of each day is
 * added, at most once per day the sending spans.
 */
export function estimateSeconds(recipients: number, ratePerMinute: number, quietMinutesPerDay = 0): number {
  if (recipients <= 0 || ratePerMinute <= 0) return 0;
  const sending = ((recipients - 1) * 60) / ratePerMinute;
  if (quietMinutesPerDay <= 0 || quietMinutesPerDay >= 1440) return sending;
  const openPerDay = (1440 - quietMinutesPerDay) * 60;
  const closedDays = Math.floor(sending / openPerDay);
  return sending + closedDays * quietMinutesPerDay * 60;
}

/** The minutes a daily window from → to (HH:MM) covers; 21:00 → 08:00 spans midnight. */
export function windowMinutes(from: string, to: string): number {
  const m = (s: string) => { const [h, mm] = s.split(':').map(Number); return h * 60 + mm; };
  if (!/^\d\d:\d\d$/.test(from) || !/^\d\d:\d\d$/.test(to)) return 0;
  const d = m(to) - m(from);
  return d >= 0 ? d : d + 1440;
}

/** A sample contact's values in {{contact.name}}, {{contact.phone}}, {{contact.email}}, {{contact.<field>}}. */
export function renderVariables(text: string, c?: { name?: string | null; phone?: string | null; email?: string | null; custom_fields?: Record<string, unknown> | null }): string {
  return text.replace(/\{\{\s*contact\.([\p{L}\p{N}_-]+)\s*\}\}/gu, (_, field: string) => {
    if (!c) return field === 'name' ? 'Maria' : '';
    if (field === 'name' || field === 'phone' || field === 'email') return String(c[field] ?? '');
    const v = c.custom_fields?.[field];
    return v == null ? '' : String(v);
  });
}

/** Applies a campaign.updated frame: the detail and every list page show the new state at once. */
export function applyCampaignFrame(qc: QueryClient, data: Record<string, unknown> | undefined): boolean {
  const c = data as unknown as Campaign | undefined;
  if (!c?.id) return false;
  qc.setQueryData(['campaign', c.id], c);
  const patch = (p: Page<Campaign>): Page<Campaign> => ({ ...p, items: (p.items ?? []).map((x) => (x.id === c.id ? c : x)) });
  let listed = false;
  qc.setQueriesData<InfiniteData<Page<Campaign>>>({ queryKey: ['campaigns'] }, (old) => {
    if (!old) return old;
    listed = listed || old.pages.some((p) => (p.items ?? []).some((x) => x.id === c.id));
    return { ...old, pages: old.pages.map(patch) };
  });
  if (!listed) void qc.invalidateQueries({ queryKey: ['campaigns'] }); // a new one, or one deleted elsewhere
  return true;
}
