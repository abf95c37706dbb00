import type { Campaign } from '../api/types';

/** A running campaign, 40% through; fields overridden by over. */
export const campaign = (over: Partial<Campaign> = {}): Campaign => ({
  id: 'c1', name: 'Black Friday', connection_id: 'conn', status: 'running', message: { type: 'text', text: 'Oi' }, audience: {},
  scheduled_at: null, rate_per_minute: 20, jitter_pct: 0, quiet_hours: null,
  stats: { total: 100, pending: 60, sent: 30, delivered: 5, read: 3, failed: 2, skipped: 0 }, progress: 0.4, estimated_finish_at: null, error: null,
  launched_at: '2026-12-06T10:00:00Z', started_at: '2026-12-06T10:00:00Z', finished_at: null, created_at: '2026-12-06T09:00:00Z', updated_at: '2026-12-06T10:00:00Z',
  ...over,
});
