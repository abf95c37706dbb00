// Two tabs of one browser: one cookie jar, one lock manager, one broadcast
// channel name. The refresh cookie rotates and works once; the server takes
// a second use for a replay and signs the whole login out (as
// persistence.RotateRefreshToken does).
import { describe, expect, it, vi } from 'vitest';
import { ApiClient, type ChannelLike, type LockManagerLike, type TokenStore } from './client';

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function browser() {
  const jar = { cookie: 'refresh-1' };
  // access tokens of generations below validFrom have expired
  const server = { generation: 1, validFrom: 1, used: new Set<string>(), revoked: false, refreshes: 0 };
  const expireAll = () => { server.validFrom = server.generation + 1; };
  const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const path = String(url);
    if (path === '/api/v1/auth/refresh') {
      const sent = jar.cookie; // the browser attaches the cookie as it sends
      await new Promise((r) => setTimeout(r, 5)); // the round trip
      if (server.revoked || server.used.has(sent)) {
        server.revoked = true;
        return json(401, { error: { code: 'refresh_token_reused', message: 'every session of this login was signed out' } });
      }
      server.used.add(sent);
      server.refreshes++;
      server.generation++;
      jar.cookie = `refresh-${server.generation}`;
      return json(200, { access_token: `access-${server.generation}`, user: { id: 'u1' } });
    }
    const auth = new Headers(init?.headers).get('Authorization') ?? '';
    const gen = Number(auth.replace('Bearer access-', ''));
    if (server.revoked || !(gen >= server.validFrom && gen <= server.generation)) {
      return json(401, { error: { code: 'invalid_token', message: 'expired' } });
    }
    return json(200, { ok: true });
  });

  // navigator.locks: one holder at a time, in request order.
  let tail: Promise<unknown> = Promise.resolve();
  const locks: LockManagerLike = {
    request<T>(_name: string, cb: () => Promise<T>): Promise<T> {
      const run = tail.then(cb);
      tail = run.catch(() => undefined);
      return run;
    },
  };

  // BroadcastChannel('crm.auth'): a message reaches every other tab, later.
  const members: ChannelLike[] = [];
  const channel = (): ChannelLike => {
    const me: ChannelLike = {
      onmessage: null,
      postMessage(data) {
        for (const other of members) {
          if (other !== me) setTimeout(() => other.onmessage?.({ data } as MessageEvent), 0);
        }
      },
    };
    members.push(me);
    return me;
  };

  const tab = (coordinated: boolean) => {
    const state = { access: 'access-1' as string | null, ended: 0 };
    const tokens: TokenStore = {
      getAccessToken: () => state.access,
      setAccessToken: (a) => { state.access = a; },
      clear: () => { state.access = null; },
    };
    const api = new ApiClient({
      fetch: fetchImpl as typeof fetch, tokens, onSessionEnded: () => state.ended++,
      ...(coordinated ? { locks, channel: channel() } : {}),
    });
    return { api, state };
  };
  return { server, tab, expireAll };
}

describe('two tabs sharing the refresh cookie', () => {
  it('refresh at the same moment without signing each other out', async () => {
    const b = browser();
    const one = b.tab(true);
    const two = b.tab(true);
    b.expireAll(); // both tabs' access tokens have expired

    const [r1, r2] = await Promise.all([one.api.get('/api/v1/auth/me'), two.api.get('/api/v1/auth/me')]);
    expect(r1).toEqual({ ok: true });
    expect(r2).toEqual({ ok: true });
    expect(b.server.revoked).toBe(false);
    expect(one.state.ended + two.state.ended).toBe(0);
    expect(one.state.access).not.toBeNull();
    expect(two.state.access).not.toBeNull();

    // and go on refreshing later, each in turn
    await new Promise((r) => setTimeout(r, 1));
    b.expireAll();
    expect(await two.api.get('/api/v1/auth/me')).toEqual({ ok: true });
    expect(await one.api.get('/api/v1/auth/me')).toEqual({ ok: true });
    expect(b.server.revoked).toBe(false);
  });

  it('lets the waiting tab take the token the other tab refreshed instead of rotating the cookie again', async () => {
    const b = browser();
    const one = b.tab(true);
    const two = b.tab(true);
    await Promise.all([one.api.refresh(), two.api.refresh()]);
    expect(two.state.access).toBe(one.state.access);
    expect(b.server.refreshes).toBe(1);
    // a token taken that way is not taken again when it is refused: the tab refreshes for real
    await new Promise((r) => setTimeout(r, 1));
    expect(await two.api.refresh()).toBe(true);
    expect(b.server.refreshes).toBe(2);
    expect(b.server.revoked).toBe(false);
  });

  it('(without the lock, the second tab replays the cookie and the login dies)', async () => {
    const b = browser();
    const one = b.tab(false);
    const two = b.tab(false);
    await Promise.all([one.api.refresh(), two.api.refresh()]);
    expect(b.server.revoked).toBe(true);
  });
});
