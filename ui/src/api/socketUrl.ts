// The live socket's URL: GET /api/v1/ws?ticket=…, with a one-use ticket
// asked for right before each (re)connect. The access token never goes in
// the URL (URLs end up in proxies' logs and the browser's history); the
// server refuses it there.
import type { ApiClient } from './client';

export interface WsTicket {
  ticket: string;
  expires_at: string;
}

/** Seconds until a JWT expires (no signature check: only to refresh in time). */
export function secondsLeft(token: string | null): number {
  if (!token) return 0;
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp - Date.now() / 1000 : 0;
  } catch {
    return 0;
  }
}

export interface SocketUrlOptions {
  /** Why the previous socket closed (4401: its token expired). */
  closeCode: number | null;
  accessToken: string | null;
  location: { protocol: string; host: string };
}

/**
 * Asks for a ticket and returns the socket URL that spends it. A token that
 * expired (close 4401) or is about to is refreshed first: the socket lives
 * only as long as the token its ticket was issued for.
 */
export async function socketUrl(client: Pick<ApiClient, 'post' | 'refresh'>, opts: SocketUrlOptions): Promise<string> {
  if (opts.closeCode === 4401 || secondsLeft(opts.accessToken) < 30) await client.refresh();
  const { ticket } = await client.post<WsTicket>('/api/v1/ws/ticket');
  const proto = opts.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${opts.location.host}/api/v1/ws?ticket=${encodeURIComponent(ticket)}`;
}
