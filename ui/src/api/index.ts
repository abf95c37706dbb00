import { ApiClient } from './client';
import { useAuth } from '../store/auth';
import type { TokenResponse } from './types';
import { queryClient } from '../lib/queryClient';

/** The other tabs of this console: they share the refresh cookie (client.ts). */
const authChannel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('crm.auth');

/** The app's one API client, wired to the auth store. */
export const api = new ApiClient({
  // Web Locks exist in secure contexts (https, localhost); elsewhere tabs refresh uncoordinated.
  locks: typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null,
  channel: authChannel,
  tokens: {
    getAccessToken: () => useAuth.getState().accessToken,
    setAccessToken: (access, body) => useAuth.getState().setAccessToken(access, (body as TokenResponse)?.user),
    clear: () => useAuth.getState().clear(),
  },
  onSessionEnded: () => queryClient.clear(),
});
