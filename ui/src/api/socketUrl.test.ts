import { describe, expect, it, vi } from 'vitest';
import { ApiClient } from './client';
import { socketUrl } from './socketUrl';

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A JWT whose exp is `seconds` from now (unsigned: the client only reads exp). */
function jwt(seconds: number) {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256' })}.${b64({ exp: Math.floor(Date.now() / 1000) + seconds })}.sig`;
}

function server() {
  let access = jwt(600);
  const calls: string[] = [];
  const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const path = String(url);
    calls.push(`${init?.method ?? 'GET'} ${path}`);
    if (path === '/api/v1/auth/refresh') {
      access = jwt(900);
      return json(200, { access_token: access });
    }
    if (path === '/api/v1/ws/ticket' && new Headers(init?.headers).get('Authorization') === `Bearer ${access}`) {
      return json(200, { ticket: 'tk+/1', expires_at: new Date(Date.now() + 30_000).toISOString() });
    }
    return json(401, { error: { code: 'invalid_token', message: 'no' } });
  });
  let token: string | null = access;
  const client = new ApiClient({
    fetch: fetchImpl as typeof fetch,
    tokens: { getAccessToken: () => token, setAccessToken: (a) => { token = a; }, clear: () => { token = null; } },
  });
  return { client, calls, token: () => token };
}

describe('socketUrl', () => {
  it('opens the socket with a fresh one-use ticket, never the access token', async () => {
    const s = server();
    const url = await socketUrl(s.client, { closeCode: null, accessToken: s.token(), location: { protocol: 'https:', host: 'crm.example' } });
    expect(url).toBe('wss://crm.example/api/v1/ws?ticket=tk%2B%2F1');
    expect(url).not.toContain(s.token()!);
    expect(url).not.toContain('token=');
    expect(s.calls).toEqual(['POST /api/v1/ws/ticket']);
    // each connect asks again: a ticket opens one socket
    await socketUrl(s.client, { closeCode: null, accessToken: s.token(), location: { protocol: 'http:', host: 'h' } });
    expect(s.calls).toEqual(['POST /api/v1/ws/ticket', 'POST /api/v1/ws/ticket']);
  });

  it('refreshes first when the socket closed with 4401 (token expired)', async () => {
    const s = server();
    const url = await socketUrl(s.client, { closeCode: 4401, accessToken: s.token(), location: { protocol: 'http:', host: 'h' } });
    expect(url).toBe('ws://h/api/v1/ws?ticket=tk%2B%2F1');
    expect(s.calls).toEqual(['POST /api/v1/auth/refresh', 'POST /api/v1/ws/ticket']);
  });
});
