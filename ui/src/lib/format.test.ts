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

import { formatPhone } from './format';

describe('formatPhone', () => {
  it.each([
    ['+5511987654321', '(11) 98765-4321'],
    ['5511987654321', '(11) 98765-4321'],
    ['+551134567890', '(11) 3456-7890'],
    ['+55 21 2345-6789', '(21) 2345-6789'],
    ['+14155550100', '+1 415 555 0100'],
    ['+447911123456', '+44 7911 123456'],
    ['+351912345678', '+351 912 345 678'],
    ['+5511', '+5511'],
    ['', ''],
    [null, ''],
  ])('%s is shown as %s', (raw, shown) => {
    expect(formatPhone(raw)).toBe(shown);
  });
});
