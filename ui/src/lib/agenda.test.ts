import { describe, expect, it } from 'vitest';
import type { Appointment } from '../api/agenda';
import { addMonths, fromZoned, placeDay, startOfWeek, upsertAppointment, viewRange, zoned } from './agenda';

const appt = (id: string, starts_at: string, duration_min = 30) => ({ id, starts_at, duration_min }) as Appointment;

describe('agenda time helpers', () => {
  it('reads and writes São Paulo wall times whatever the browser zone', () => {
    expect(zoned('2026-12-08T13:00:00Z')).toEqual({ day: '2026-12-08', minutes: 600 });
    expect(zoned('2026-12-09T02:30:00Z')).toEqual({ day: '2026-12-08', minutes: 23 * 60 + 30 });
    expect(fromZoned('2026-12-08', 600).toISOString()).toBe('2026-12-08T13:00:00.000Z');
    expect(fromZoned('2026-12-09', 0).toISOString()).toBe('2026-12-09T03:00:00.000Z');
  });

  it('pages by week from Sunday and by month grid', () => {
    expect(startOfWeek('2026-12-08')).toBe('2026-12-06');
    expect(startOfWeek('2026-12-06')).toBe('2026-12-06');
    expect(addMonths('2026-12-31', 1)).toBe('2027-01-01');
    expect(viewRange('day', '2026-12-08')).toEqual({ from: '2026-12-08T03:00:00.000Z', to: '2026-12-09T03:00:00.000Z' });
  });

  it('places overlapping appointments side by side, clamped to the grid', () => {
    const placed = placeDay([appt('a', '2026-12-08T13:00:00Z', 60), appt('b', '2026-12-08T13:30:00Z'), appt('c', '2026-12-08T15:00:00Z'), appt('early', '2026-12-08T08:00:00Z')], '2026-12-08');
    const by = Object.fromEntries(placed.map((p) => [p.appt.id, p]));
    expect(by.a).toMatchObject({ top: 6, height: 2, lane: 0, lanes: 2 });
    expect(by.b).toMatchObject({ top: 7, height: 1, lane: 1, lanes: 2 });
    expect(by.c).toMatchObject({ top: 10, lane: 0, lanes: 1 });
    expect(by.early.top).toBe(0); // 05:00 shows at the grid's top
  });

  it('keeps lists in start order and drops what no longer fits', () => {
    const list = [appt('a', '2026-12-08T13:00:00Z'), appt('b', '2026-12-08T15:00:00Z')];
    expect(upsertAppointment(list, appt('c', '2026-12-08T14:00:00Z'), true).map((x) => x.id)).toEqual(['a', 'c', 'b']);
    expect(upsertAppointment(list, appt('a', '2026-12-08T16:00:00Z'), true).map((x) => x.id)).toEqual(['b', 'a']);
    expect(upsertAppointment(list, appt('a', '2026-12-08T16:00:00Z'), false).map((x) => x.id)).toEqual(['b']);
    expect(upsertAppointment(list, appt('z', '2026-12-08T16:00:00Z'), false)).toBe(list);
  });
});
