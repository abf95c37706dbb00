import { create } from 'zustand';
import type { Role, TokenResponse, UserSummary } from '../api/types';

// Tokens: the access token lives in memory only; the refresh token is kept in
// localStorage so a reload signs back in (it rotates on every refresh).
export const REFRESH_KEY = 'crm.refresh_token';

function readRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function writeRefresh(token: string | null) {
  try {
    if (token) localStorage.setItem(REFRESH_KEY, token);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* private mode */
  }
}

export interface AuthState {
  accessToken: string | null;
  refreshToken: string | null;
  user: UserSummary | null;
  /** True until the first attempt to restore a session from the stored refresh token is over. */
  restoring: boolean;
  signIn(res: TokenResponse): void;
  setTokens(access: string, refresh: string, user?: UserSummary): void;
  setUser(user: UserSummary | null): void;
  setRestoring(v: boolean): void;
  clear(): void;
}

export const useAuth = create<AuthState>((set) => ({
  accessToken: null,
  refreshToken: readRefresh(),
  user: null,
  restoring: !!readRefresh(),
  signIn(res) {
    writeRefresh(res.refresh_token);
    set({ accessToken: res.access_token, refreshToken: res.refresh_token, user: res.user, restoring: false });
  },
  setTokens(access, refresh, user) {
    writeRefresh(refresh);
    set((s) => ({ accessToken: access, refreshToken: refresh, user: user ?? s.user }));
  },
  setUser(user) {
    set({ user });
  },
  setRestoring(v) {
    set({ restoring: v });
  },
  clear() {
    writeRefresh(null);
    set({ accessToken: null, refreshToken: null, user: null, restoring: false });
  },
}));

export const isPlatform = (role?: Role | null) => role === 'SUPER_ADMIN';
export const isAdmin = (role?: Role | null) => role === 'TENANT_ADMIN';
export const isSupervisorOrUp = (role?: Role | null) => role === 'TENANT_ADMIN' || role === 'SUPERVISOR';
