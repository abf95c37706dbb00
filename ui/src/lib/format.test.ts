import { describe, expect, it } from 'vitest';
import { formatDuration } from './format';

describe('formatDuration', () => {
  it.each([
    [879, '14 min 39 s'],
    [90, '1 min 30 s'],
    [60, '1 min'],
    [39, '39 s'],
    [0, '0 s'],
    [0.2, '1 s'],
    [3600, '1 h'],
    [7500, '2 h 5 min'],
  ])('%s seconds read as %s', (secs, text) => {
    expect(formatDuration(secs)).toBe(text);
  });
});
