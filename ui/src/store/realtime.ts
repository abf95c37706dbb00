import { create } from 'zustand';
import type { RealtimeStatus } from '../api/ws';

interface RealtimeState {
  status: RealtimeStatus;
  /** True once a socket has opened: a later drop is "connection lost", not "not available yet". */
  everOpen: boolean;
  lastSeq: number | null;
  setStatus(s: RealtimeStatus): void;
  setLastSeq(n: number | null): void;
}

export const useRealtime = create<RealtimeState>((set) => ({
  status: 'idle',
  everOpen: false,
  lastSeq: null,
  setStatus: (status) => set((s) => ({ status, everOpen: s.everOpen || status === 'open' })),
  setLastSeq: (lastSeq) => set({ lastSeq }),
}));
