import { create } from 'zustand';

export interface PresenceEntry { online: boolean; viewing: string[] }

/** Who is online and which conversations they have open (presence frames). */
export const usePresence = create<{ byUser: Record<string, PresenceEntry>; set(userId: string, p: PresenceEntry): void; clear(): void }>((set) => ({
  byUser: {},
  set: (userId, p) => set((s) => ({ byUser: { ...s.byUser, [userId]: p } })),
  clear: () => set({ byUser: {} }),
}));
