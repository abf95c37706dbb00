import { ApiClient } from './client';
import { useAuth } from '../store/auth';
import type { TokenResponse } from './types';
import { queryClient } from '../lib/queryClient';

/** The app's one API client, wired to the auth store. */
export const api = new ApiClient({
  tokens: {
    getAccessToken: () => useAuth.getState().accessToken,
    setAccessToken: (access, body) => useAuth.getState().setAccessToken(access, (body as TokenResponse)?.user),
    clear: () => useAuth.getState().clear(),
  },
  onSessionEnded: () => queryClient.clear(),
});
