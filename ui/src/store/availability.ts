import { create } from 'zustand';
import type { AgentAvailability, Availability } from '../api/types';

/** Each user's availability (online, away, offline): GET /api/v1/agents/availability, then user.availability frames. */
export const useAvailability = create<{
  byUser: Record<string, Availability>;
  set(userId: string, a: Availability): void;
  setAll(items: AgentAvailability[]): void;
}>((set) => ({
  byUser: {},
  set: (userId, a) => set((s) => ({ byUser: { ...s.byUser, [userId]: a } })),
  setAll: (items) => set((s) => ({ byUser: { ...s.byUser, ...Object.fromEntries(items.map((i) => [i.user_id, i.availability])) } })),
}));

export const AVAILABILITIES: Availability[] = ['online', 'away', 'offline'];

export const availabilityDot: Record<Availability, string> = { online: 'bg-emerald-500', away: 'bg-amber-400', offline: 'bg-gray-400' };

export const isAvailability = (v: unknown): v is Availability => v === 'online' || v === 'away' || v === 'offline';

/** Applies a user.availability frame ({user_id, availability}); false when it is not one. */
export function applyAvailabilityFrame(data: unknown): boolean {
  const a = data as { user_id?: unknown; availability?: unknown } | null | undefined;
  if (typeof a?.user_id !== 'string' || !isAvailability(a.availability)) return false;
  useAvailability.getState().set(a.user_id, a.availability);
  return true;
}
