// Pure helpers of the agenda console: days and times in the agenda's time
// zone (America/Sao_Paulo, whatever the browser's), the ranges the views
// ask for, the grid's layout, and the live events' cache updates.
import type { QueryClient } from '@tanstack/react-query';
import { create } from 'zustand';
import { ApiError } from '../api/client';
import type { Appointment } from '../api/agenda';
import { useAuth } from '../store/auth';

export const AGENDA_TZ = 'America/Sao_Paulo';

/** The grid's hours: 07:00 to 21:00 in slots of 30 minutes. */
export const DAY_START_MIN = 7 * 60;
export const DAY_END_MIN = 21 * 60;
export const SLOT_MIN = 30;

export type AgendaView = 'day' | 'week' | 'month';

const partsFmt = new Intl.DateTimeFormat('en-US', {
  timeZone: AGENDA_TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
});

const pad = (n: number) => String(n).padStart(2, '0');

/** A moment as the agenda's day ("YYYY-MM-DD") and minutes since that day's midnight. */
export function zoned(at: Date | string | number): { day: string; minutes: number } {
  const d = new Date(at);
  const p: Record<string, string> = {};
  for (const x of partsFmt.formatToParts(d)) p[x.type] = x.value;
  const hour = Number(p.hour) % 24;
  return { day: `${p.year}-${p.month}-${p.day}`, minutes: hour * 60 + Number(p.minute) };
}

function offsetMs(at: number): number {
  const z = zoned(at);
  const [y, m, d] = z.day.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d) + z.minutes * 60_000;
  const floor = at - (((at % 60_000) + 60_000) % 60_000);
  return wall - floor;
}

/** The moment a wall-clock time of the agenda's zone names. */
export function fromZoned(day: string, minutes: number): Date {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d) + minutes * 60_000;
  const off = offsetMs(guess);
  let t = guess - off;
  const off2 = offsetMs(t);
  if (off2 !== off) t = guess - off2;
  return new Date(t);
}

/** "HH:MM" of minutes since midnight, and back (null when not a time). */
export const hhmm = (minutes: number) => `${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}`;
export function parseHHMM(s: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
  return Number(m[1]) * 60 + Number(m[2]);
}

const utcDay = (day: string) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
};
const dayOf = (d: Date) => d.toISOString().slice(0, 10);

export const addDays = (day: string, n: number) => dayOf(new Date(utcDay(day).getTime() + n * 86_400_000));
/** 0 Sunday … 6 Saturday. */
export const weekday = (day: string) => utcDay(day).getUTCDay();
/** Weeks start on Sunday, as Brazilian calendars do. */
export const startOfWeek = (day: string) => addDays(day, -weekday(day));
export const today = (now = new Date()) => zoned(now).day;

export function addMonths(day: string, n: number): string {
  const d = utcDay(day);
  return dayOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1)));
}

/** The days a view shows around a day: one, a week, or the 6 weeks of a month's grid. */
export function viewDays(view: AgendaView, day: string): string[] {
  let first = day;
  let n = 1;
  if (view === 'week') {
    first = startOfWeek(day);
    n = 7;
  } else if (view === 'month') {
    first = startOfWeek(`${day.slice(0, 7)}-01`);
    n = 42;
  }
  return Array.from({ length: n }, (_, i) => addDays(first, i));
}

/** The API range (from, to) of a view: midnight of its first day to midnight after its last, in the agenda's zone. */
export function viewRange(view: AgendaView, day: string): { from: string; to: string } {
  const days = viewDays(view, day);
  return { from: fromZoned(days[0], 0).toISOString(), to: fromZoned(addDays(days[days.length - 1], 1), 0).toISOString() };
}

/** The view's next or previous page. */
export function shiftDay(view: AgendaView, day: string, dir: 1 | -1): string {
  if (view === 'day') return addDays(day, dir);
  if (view === 'week') return addDays(day, 7 * dir);
  return addMonths(day, dir);
}

/** "14:30" in the agenda's zone. */
export function formatTime(at: string | Date): string {
  return new Intl.DateTimeFormat('pt-BR', { timeZone: AGENDA_TZ, hour: '2-digit', minute: '2-digit' }).format(new Date(at));
}

/** A date and time in the agenda's zone, in the console's language ("seg., 8 de dez., 14:30"). */
export function formatWhen(at: string | Date, lang = 'pt-BR'): string {
  return new Intl.DateTimeFormat(lang, { timeZone: AGENDA_TZ, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(at));
}

/** A calendar day ("YYYY-MM-DD") in words (no zone: it already is the agenda's day). */
export function formatDay(day: string, lang: string, opts: Intl.DateTimeFormatOptions): string {
  return new Intl.DateTimeFormat(lang, { ...opts, timeZone: 'UTC' }).format(utcDay(day));
}

export interface Placed { appt: Appointment; top: number; height: number; lane: number; lanes: number }

/**
 * Places a day's appointments on the grid: top and height in slots (the
 * grid's hours only), side by side where they overlap.
 */
export function placeDay(items: Appointment[], day: string): Placed[] {
  const span = DAY_END_MIN - DAY_START_MIN;
  const rows = items
    .map((a) => ({ a, z: zoned(a.starts_at) }))
    .filter((x) => x.z.day === day)
    .sort((x, y) => x.z.minutes - y.z.minutes || y.a.duration_min - x.a.duration_min)
    .map(({ a, z }) => {
      const start = Math.min(Math.max(z.minutes - DAY_START_MIN, 0), span - SLOT_MIN / 2);
      const end = Math.min(Math.max(z.minutes + a.duration_min - DAY_START_MIN, start + SLOT_MIN / 2), span);
      return { a, start, end };
    });
  const out: Placed[] = [];
  // clusters of overlapping appointments share their width
  let cluster: { a: Appointment; start: number; end: number; lane: number }[] = [];
  let clusterEnd = -1;
  const flush = () => {
    const lanes = Math.max(1, ...cluster.map((c) => c.lane + 1));
    for (const c of cluster) out.push({ appt: c.a, top: c.start / SLOT_MIN, height: (c.end - c.start) / SLOT_MIN, lane: c.lane, lanes });
    cluster = [];
  };
  for (const r of rows) {
    if (r.start >= clusterEnd) flush();
    const laneEnds: number[] = [];
    for (const c of cluster) laneEnds[c.lane] = Math.max(laneEnds[c.lane] ?? -1, c.end);
    let lane = laneEnds.findIndex((e) => e <= r.start);
    if (lane < 0) lane = laneEnds.length;
    cluster.push({ ...r, lane });
    clusterEnd = Math.max(clusterEnd, r.end);
  }
  flush();
  return out;
}

/** 402: the plan lacks the agenda feature. */
export function agendaDisabled(err: unknown): boolean {
  return err instanceof ApiError && err.status === 402;
}

/** The cached lists: ['agenda', 'list', from, to, assignee] (assignee '' everyone, 'me' or a user id). */
export const listKey = (from: string, to: string, assignee: string) => ['agenda', 'list', from, to, assignee] as const;
export const contactKey = (contactId: string) => ['agenda', 'contact', contactId] as const;

/** Puts an appointment (created or changed) into a cached list when it belongs there, in start order; out of it otherwise. */
export function upsertAppointment(list: Appointment[], a: Appointment, fits: boolean): Appointment[] {
  const rest = list.filter((x) => x.id !== a.id);
  if (!fits) return rest.length === list.length ? list : rest;
  return [...rest, a].sort((x, y) => x.starts_at.localeCompare(y.starts_at) || x.id.localeCompare(y.id));
}

/** A reminder to the signed-in user, shown as a toast. */
export interface AgendaToast { id: string; appointment: Appointment; minutesBefore: number }

export const useAgendaToasts = create<{ toasts: AgendaToast[]; push(t: AgendaToast): void; dismiss(id: string): void }>((set) => ({
  toasts: [],
  push: (t) => set((s) => ({ toasts: [...s.toasts.filter((x) => x.id !== t.id), t].slice(-5) })),
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })),
}));

/**
 * Applies an appointment.* event: the cached agenda lists update at once
 * (created or changed: put where it belongs; deleted: taken out), the
 * contact lists refetch, and a reminder to the signed-in user becomes a
 * toast (and `notify`, the desktop notification). False for other events.
 */
export function applyAgendaFrame(qc: QueryClient, type: string, data: unknown, notify?: (t: AgendaToast) => void): boolean {
  const d = (data ?? {}) as Record<string, unknown>;
  const id = typeof d.id === 'string' ? d.id : '';
  const me = useAuth.getState().user?.id;
  switch (type) {
    case 'appointment.created':
    case 'appointment.updated': {
      if (!id || typeof d.starts_at !== 'string') {
        void qc.invalidateQueries({ queryKey: ['agenda'] });
        return true;
      }
      const a = d as unknown as Appointment;
      for (const [key, list] of qc.getQueriesData<Appointment[]>({ queryKey: ['agenda', 'list'] })) {
        if (!list) continue;
        const [, , from, to, assignee] = key as unknown as [string, string, string, string, string];
        const t = new Date(a.starts_at).getTime();
        const fits = t >= new Date(from).getTime() && t < new Date(to).getTime() &&
          (!assignee || (assignee === 'me' ? a.assignee_id === me : a.assignee_id === assignee));
        const next = upsertAppointment(list, a, fits);
        if (next !== list) qc.setQueryData(key, next);
      }
      void qc.invalidateQueries({ queryKey: ['agenda', 'contact'] });
      return true;
    }
    case 'appointment.deleted':
      for (const [key, list] of qc.getQueriesData<Appointment[]>({ queryKey: ['agenda', 'list'] })) {
        if (list?.some((x) => x.id === id)) qc.setQueryData(key, list.filter((x) => x.id !== id));
      }
      void qc.invalidateQueries({ queryKey: ['agenda', 'contact'] });
      return true;
    case 'appointment.reminder': {
      const a = d.appointment as Appointment | undefined;
      if (a && a.assignee_id && a.assignee_id === me) {
        const toast = { id: String(d.reminder_id ?? a.id), appointment: a, minutesBefore: Number(d.minutes_before ?? 0) };
        useAgendaToasts.getState().push(toast);
        notify?.(toast);
      }
      return true;
    }
  }
  return false;
}
