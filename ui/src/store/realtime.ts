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

export interface ConnectionLive { status?: string; qr_code?: string; pairing_code?: string; last_error?: string }

/** Connection states pushed live (connection.updated: status, QR code while pairing). */
export const useConnectionLive = create<{ byId: Record<string, ConnectionLive>; set(id: string, v: ConnectionLive): void }>((set) => ({
  byId: {},
  set: (id, v) => set((s) => ({ byId: { ...s.byId, [id]: { ...s.byId[id], ...v } } })),
}));

export const useRealtime = create<RealtimeState>((set) => ({
  status: 'idle',
  everOpen: false,
  lastSeq: null,
  setStatus: (status) => set((s) => ({ status, everOpen: s.everOpen || status === 'open' })),
  setLastSeq: (lastSeq) => set({ lastSeq }),
}));
