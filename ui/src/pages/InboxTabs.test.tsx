import { describe, expect, it } from 'vitest';
import { tabQuery, tabsFor } from './Inbox';

describe('the inbox tabs of each role', () => {
  it('agents see their own and the queue', () => {
    expect(tabsFor('AGENT')).toEqual(['mine', 'queue']);
  });
  it('supervisors get "Todas" for their teams (the server lists only what their teams hold)', () => {
    expect(tabsFor('SUPERVISOR')).toEqual(['mine', 'queue', 'teams', 'all', 'queues']);
    expect(tabQuery('all')).toEqual({});
  });
  it('admins see everything', () => {
    expect(tabsFor('TENANT_ADMIN')).toEqual(['mine', 'queue', 'teams', 'all', 'queues']);
  });
});
