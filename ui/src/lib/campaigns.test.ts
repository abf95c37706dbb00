import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { Campaign, Page } from '../api/types';
import { campaign } from '../test/campaigns';
import { applyCampaignFrame, estimateSeconds, renderVariables, windowMinutes } from './campaigns';


describe('campaign pace', () => {
  it('estimates the sending time from the count and the rate', () => {
    expect(estimateSeconds(100, 20)).toBeCloseTo(297); // 99 intervals of 3 s
    expect(estimateSeconds(1, 20)).toBe(0);
    expect(estimateSeconds(0, 20)).toBe(0);
    expect(estimateSeconds(60001, 60000)).toBeCloseTo(60);
  });
  it('adds the quiet part of each day the sending spans', () => {
    const quiet = windowMinutes('21:00', '08:00');
    expect(quiet).toBe(660);
    expect(windowMinutes('12:00', '13:30')).toBe(90);
    expect(windowMinutes('bad', '08:00')).toBe(0);
    // 20/min for 13 open hours a day: 15,601 contacts take 13 h of sending = exactly one open day, so one quiet stretch
    expect(estimateSeconds(15601, 20, quiet)).toBeCloseTo(13 * 3600 + 11 * 3600);
    expect(estimateSeconds(100, 20, quiet)).toBeCloseTo(297, 0); // within one open day: no wait
  });
});

describe('campaign variables', () => {
  it("puts a sample contact's values in the text", () => {
    const c = { name: 'Ana', phone: '+5511999990000', email: null, custom_fields: { cidade: 'Recife' } };
    expect(renderVariables('Oi {{contact.name}} de {{ contact.cidade }} {{contact.email}}!', c)).toBe('Oi Ana de Recife !');
    expect(renderVariables('Oi {{contact.name}}', undefined)).toBe('Oi Maria');
  });
});

describe('campaign.updated frames', () => {
  it('update the detail and the list item in place', () => {
    const qc = new QueryClient();
    qc.setQueryData(['campaign', 'c1'], campaign());
    qc.setQueryData<InfiniteData<Page<Campaign>>>(['campaigns', ''], { pages: [{ items: [campaign(), campaign({ id: 'c2', name: 'Outra' })], next_cursor: null }], pageParams: [undefined] });
    const next = campaign({ progress: 0.9, stats: { total: 100, pending: 10, sent: 80, delivered: 5, read: 3, failed: 2, skipped: 0 } });
    expect(applyCampaignFrame(qc, next as unknown as Record<string, unknown>)).toBe(true);
    expect(qc.getQueryData<Campaign>(['campaign', 'c1'])?.progress).toBe(0.9);
    const list = qc.getQueryData<InfiniteData<Page<Campaign>>>(['campaigns', ''])!;
    expect(list.pages[0].items![0].progress).toBe(0.9);
    expect(list.pages[0].items![1].name).toBe('Outra');
    expect(applyCampaignFrame(qc, undefined)).toBe(false);
  });
});
