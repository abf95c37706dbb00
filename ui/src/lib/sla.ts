// Routing's time displays (issue 18): the first-response SLA left and how
// long a conversation has waited in its team's queue.

/** What is left of a first-response SLA: whole minutes (rounded up), or late. Null without a due time. */
export function slaLeft(dueAt: string | null | undefined, now: number): { late: boolean; minutes: number } | null {
  if (!dueAt) return null;
  const due = new Date(dueAt).getTime();
  if (Number.isNaN(due)) return null;
  const ms = due - now;
  if (ms <= 0) return { late: true, minutes: 0 };
  return { late: false, minutes: Math.ceil(ms / 60_000) };
}

/** A span of minutes, short: "12 min", "2 h 05", "3 d 4 h". */
export function shortMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')}`;
  const d = Math.floor(minutes / (24 * 60));
  const h = Math.floor((minutes % (24 * 60)) / 60);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** A waiting time in seconds, short: "45 s", "3 min", "1 h 20". */
export function shortWait(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  return shortMinutes(Math.floor(s / 60));
}

/** Whether an SLA is close to breaking (10 minutes or less left). */
export const slaUrgent = (left: { late: boolean; minutes: number }) => left.late || left.minutes <= 10;
