import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, readError, type TokenStore } from './client';

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}
const invalidToken = () => json(401, { error: { code: 'invalid_token', message: 'access token is missing, invalid or expired' } });

function memoryTokens(access: string | null) {
  const store = { access, cleared: 0, saved: [] as string[] };
  const tokens: TokenStore = {
    getAccessToken: () => store.access,
    setAccessToken: (a) => { store.access = a; store.saved.push(a); },
    clear: () => { store.access = null; store.cleared++; },
  };
  return { store, tokens };
}

/**
 * A fake server. The browser's cookie jar is modelled by `cookie`: /refresh
 * reads the refresh token from it (each works once) and rotates it there,
 * answering only an access token; other routes want the current access token.
 */
function fakeServer(opts: { refreshStatus?: number; cookie?: string | null } = {}) {
  let generation = 1;
  const jar = { cookie: opts.cookie === undefined ? 'refresh-1' : opts.cookie };
  const calls: { path: string; auth: string | null; body: unknown; credentials?: RequestCredentials }[] = [];
  const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const path = String(url);
    const headers = new Headers(init?.headers);
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ path, auth: headers.get('Authorization'), body, credentials: init?.credentials });
    await Promise.resolve();
    if (path === '/api/v1/auth/refresh') {
      if (opts.refreshStatus) return json(opts.refreshStatus, { error: { code: 'invalid_token', message: 'refresh token invalid' } });
      const sent = init?.credentials === 'omit' ? null : jar.cookie;
      if (sent !== `refresh-${generation}`) return json(401, { error: { code: 'invalid_refresh_token', message: 'no or reused token' } });
      generation++;
      jar.cookie = `refresh-${generation}`;
      return json(200, { access_token: `access-${generation}`, token_type: 'Bearer', expires_in: 900, user: { id: 'u1' } });
    }
    if (headers.get('Authorization') !== `Bearer access-${generation}`) return invalidToken();
    return json(200, { ok: true, path });
  });
  return { fetchImpl, calls, jar };
}

describe('ApiClient', () => {
  it('sends the bearer token and parses JSON', async () => {
    const { fetchImpl, calls } = fakeServer();
    const { tokens } = memoryTokens('access-1');
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens });
    expect(await api.get('/api/v1/labels', { query: { q: 'vip', cursor: undefined, limit: 10 } })).toEqual({ ok: true, path: '/api/v1/labels?q=vip&limit=10' });
    expect(calls[0].auth).toBe('Bearer access-1');
  });

  it('refreshes once on 401 invalid_token from the cookie (no token in the body) and retries', async () => {
    const { fetchImpl, calls, jar } = fakeServer();
    const { store, tokens } = memoryTokens('stale');
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens });
    await expect(api.get('/api/v1/users')).resolves.toMatchObject({ ok: true });
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/users', '/api/v1/auth/refresh', '/api/v1/users']);
    expect(calls[1].credentials).toBe('same-origin');
    expect(calls[1].body).toEqual({});
    expect(calls[1].auth).toBeNull();
    expect(store.access).toBe('access-2');
    expect(jar.cookie).toBe('refresh-2');
    expect(calls[2].auth).toBe('Bearer access-2');
  });

  it('shares one refresh between concurrent requests (a rotated token works only once)', async () => {
    const { fetchImpl, calls } = fakeServer();
    const { store, tokens } = memoryTokens('stale');
    const ended = vi.fn();
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens, onSessionEnded: ended });
    const results = await Promise.all([api.get('/a'), api.get('/b'), api.get('/c')]);
    expect(results).toHaveLength(3);
    expect(calls.filter((c) => c.path === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(store.access).toBe('access-2');
    expect(ended).not.toHaveBeenCalled();
  });

  it('restores a session from the refresh cookie alone (after a reload)', async () => {
    const { fetchImpl, calls } = fakeServer();
    const { store, tokens } = memoryTokens(null);
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens });
    await expect(api.refresh()).resolves.toBe(true);
    await api.get('/api/v1/auth/me');
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/auth/refresh', '/api/v1/auth/me']);
    expect(calls[1].auth).toBe('Bearer access-2');
    expect(store.access).toBe('access-2');
  });

  it('without a cookie the refresh fails and the session ends', async () => {
    const { fetchImpl, calls } = fakeServer({ cookie: null });
    const { store, tokens } = memoryTokens(null);
    const ended = vi.fn();
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens, onSessionEnded: ended });
    await expect(api.refresh()).resolves.toBe(false);
    await expect(api.get('/api/v1/auth/me')).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/auth/refresh', '/api/v1/auth/me', '/api/v1/auth/refresh']);
    expect(store.access).toBeNull();
    expect(ended).toHaveBeenCalledTimes(2);
  });

  it('logs out when the refresh is refused', async () => {
    const { fetchImpl, calls } = fakeServer({ refreshStatus: 401 });
    const { store, tokens } = memoryTokens('stale');
    const ended = vi.fn();
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens, onSessionEnded: ended });
    const err = (await api.get("/api/v1/users").catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(401);
    expect(store.access).toBeNull();
    expect(store.cleared).toBe(1);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/users', '/api/v1/auth/refresh']);
  });

  it('does not loop when the retried request is refused again', async () => {
    let n = 0;
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      n++;
      if (String(url).endsWith('/refresh')) return json(200, { access_token: `a${n}` });
      return invalidToken();
    });
    const { store, tokens } = memoryTokens('a0');
    const ended = vi.fn();
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens, onSessionEnded: ended });
    await expect(api.get('/x')).rejects.toMatchObject({ code: 'invalid_token' });
    expect(fetchImpl).toHaveBeenCalledTimes(3);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(store.access).toBeNull();
  });

  it('never refreshes for anonymous calls (a wrong password is not an expired session)', async () => {
    const fetchImpl = vi.fn(async () => json(401, { error: { code: 'invalid_credentials', message: 'email or password is wrong' } }));
    const { store, tokens } = memoryTokens(null);
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens });
    await expect(api.post('/api/v1/auth/login', { email: 'a', password: 'b' }, { anonymous: true })).rejects.toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(store.cleared).toBe(0);
  });

  it('keeps the session when the refresh fails on the network', async () => {
    const fetchImpl = vi.fn(async (url: RequestInfo | URL) => {
      if (String(url).endsWith('/refresh')) throw new TypeError('Failed to fetch');
      return invalidToken();
    });
    const { store, tokens } = memoryTokens('stale');
    const api = new ApiClient({ fetch: fetchImpl as typeof fetch, tokens });
    await expect(api.get('/x')).rejects.toBeInstanceOf(ApiError);
    expect(store.cleared).toBe(0);
    expect(store.access).toBe('stale');
  });

  it('turns network failures into ApiError network_error', async () => {
    const { tokens } = memoryTokens('a');
    const api = new ApiClient({ fetch: (async () => { throw new TypeError('Failed to fetch'); }) as typeof fetch, tokens });
    await expect(api.get('/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });
});

describe('readError', () => {
  it('reads the error shape, field errors and Retry-After', async () => {
    const e1 = await readError(json(400, { error: { code: 'validation_failed', message: 'invalid input', details: { fields: { email: 'is required' } } } }));
    expect(e1.code).toBe('validation_failed');
    expect(e1.fieldErrors).toEqual({ email: 'is required' });
    const e2 = await readError(json(409, { error: { code: 'conflict', message: 'email already used', details: { field: 'email' } } }));
    expect(e2.fieldErrors).toEqual({ email: 'email already used' });
    const e3 = await readError(json(429, { error: { code: 'too_many_attempts', message: 'later' } }, { 'Retry-After': '42' }));
    expect(e3.retryAfter).toBe(42);
    const e4 = await readError(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e4.code).toBe('http_502');
  });
});
