import { create } from 'zustand';
import type { Role, TokenResponse, UserSummary } from '../api/types';

// Tokens: the short-lived access token lives in memory only. The refresh
// token never reaches a script: the server keeps it in an HttpOnly,
// SameSite=Strict cookie on /api/v1/auth, so a reload signs back in by
// calling refresh (the cookie goes along by itself).

// Where earlier versions kept the refresh token; removed so none lingers.
const LEGACY_REFRESH_KEY = 'crm.refresh_token';
try {
  localStorage.removeItem(LEGACY_REFRESH_KEY);
} catch {
  /* private mode */
}

export interface AuthState {
  accessToken: string | null;
  user: UserSummary | null;
  /** True until the first attempt to restore a session from the refresh cookie is over. */
  restoring: boolean;
  signIn(res: TokenResponse): void;
  setAccessToken(access: string, user?: UserSummary): void;
  setUser(user: UserSummary | null): void;
  setRestoring(v: boolean): void;
  clear(): void;
}

export const useAuth = create<AuthState>((set) => ({
  accessToken: null,
  user: null,
  // Whether a cookie exists is not known to scripts (HttpOnly): always ask once.
  restoring: true,
  signIn(res) {
    set({ accessToken: res.access_token, user: res.user, restoring: false });
  },
  setAccessToken(access, user) {
    set((s) => ({ accessToken: access, user: user ?? s.user }));
  },
  setUser(user) {
    set({ user });
  },
  setRestoring(v) {
    set({ restoring: v });
  },
  clear() {
    set({ accessToken: null, user: null, restoring: false });
  },
}));

export const isPlatform = (role?: Role | null) => role === 'SUPER_ADMIN';
export const isAdmin = (role?: Role | null) => role === 'TENANT_ADMIN';
export const isSupervisorOrUp = (role?: Role | null) => role === 'TENANT_ADMIN' || role === 'SUPERVISOR';
