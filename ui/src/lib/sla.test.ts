import { describe, expect, it } from 'vitest';
import { shortMinutes, shortWait, slaLeft, slaUrgent } from './sla';

const now = Date.parse('2026-12-06T12:00:00Z');

describe('SLA left', () => {
  it('is nothing without a due time', () => {
    expect(slaLeft(null, now)).toBeNull();
    expect(slaLeft(undefined, now)).toBeNull();
    expect(slaLeft('not a time', now)).toBeNull();
  });
  it('counts whole minutes, rounded up, until due', () => {
    expect(slaLeft('2026-12-06T12:12:00Z', now)).toEqual({ late: false, minutes: 12 });
    expect(slaLeft('2026-12-06T12:11:01Z', now)).toEqual({ late: false, minutes: 12 });
    expect(slaLeft('2026-12-06T12:00:30Z', now)).toEqual({ late: false, minutes: 1 });
  });
  it('is late at and after the due time', () => {
    expect(slaLeft('2026-12-06T12:00:00Z', now)).toEqual({ late: true, minutes: 0 });
    expect(slaLeft('2026-12-06T11:00:00Z', now)?.late).toBe(true);
  });
  it('is urgent with ten minutes or less', () => {
    expect(slaUrgent({ late: false, minutes: 10 })).toBe(true);
    expect(slaUrgent({ late: false, minutes: 11 })).toBe(false);
    expect(slaUrgent({ late: true, minutes: 0 })).toBe(true);
  });
});

describe('short spans', () => {
  it('minutes, hours and days', () => {
    expect(shortMinutes(12)).toBe('12 min');
    expect(shortMinutes(60)).toBe('1 h 00');
    expect(shortMinutes(125)).toBe('2 h 05');
    expect(shortMinutes(24 * 60)).toBe('1 d');
    expect(shortMinutes(3 * 24 * 60 + 4 * 60 + 10)).toBe('3 d 4 h');
  });
  it('waiting seconds', () => {
    expect(shortWait(45.7)).toBe('45 s');
    expect(shortWait(-3)).toBe('0 s');
    expect(shortWait(180)).toBe('3 min');
    expect(shortWait(4800)).toBe('1 h 20');
  });
});
