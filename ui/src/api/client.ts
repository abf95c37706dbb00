// The REST client: bearer access tokens, one shared refresh on 401
// invalid_token, the error shape {"error": {code, message, details}} as
// ApiError. The refresh token is the server's HttpOnly cookie: scripts never
// see it; refresh sends it along (same origin) and gets a rotated one back
// in the cookie.
//
// Every tab of the console shares that cookie, and a refresh token works
// once: two tabs refreshing at the same moment would send the same token,
// and the server takes the second use for a replay and signs the whole
// login out. So a refresh runs under a lock held across tabs (Web Locks),
// and the tab that refreshed tells the others (BroadcastChannel): a tab that
// was waiting for the lock takes that fresh token instead of refreshing
// again, and one that refreshes anyway sends the cookie as rotated.

export interface ErrorDetails {
  fields?: Record<string, string>;
  field?: string;
  tenants?: { slug: string; name: string }[];
  reason?: string;
  retry_after_seconds?: number;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetails;
  /** Seconds from the Retry-After header (429), when present. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details?: ErrorDetails, retryAfter?: number | null) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details ?? {};
    this.retryAfter = retryAfter ?? null;
  }

  /** Field errors of a 400 validation_failed (and the field of a 409 conflict). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = { ...(this.details.fields ?? {}) };
    if (this.code === 'conflict' && typeof this.details.field === 'string' && !out[this.details.field]) {
      out[this.details.field] = this.message;
    }
    return out;
  }
}

/** Where the client keeps its access token (the auth store in the app, a stub in tests). */
export interface TokenStore {
  getAccessToken(): string | null;
  /** Called with every access token a refresh issues, and the body it came in. */
  setAccessToken(access: string, body: unknown): void;
  /** Called when the session is over (refresh refused). */
  clear(): void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  /** Send FormData as is (multipart). */
  form?: FormData;
  /** Leave the Authorization header out (login, refresh). */
  anonymous?: boolean;
  /** Return the raw Response (CSV downloads). */
  raw?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** The part of the Web Locks API the client uses (navigator.locks). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The part of BroadcastChannel the client uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
}

/** What a tab tells the others after a refresh. */
interface RefreshedMessage {
  type: 'refreshed';
  access_token: string;
  body: unknown;
}

/** The lock every tab's refresh takes. */
export const REFRESH_LOCK = 'crm.auth.refresh';


export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  tokens: TokenStore;
  /** Told when the session ended because the refresh failed. */
  onSessionEnded?: () => void;
  /** Serialises refreshes across tabs (navigator.locks); absent: this tab only. */
  locks?: LockManagerLike | null;
  /** Shares a refresh's result with the other tabs (a BroadcastChannel). */
  channel?: ChannelLike | null;
  now?: () => number;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly tokens: TokenStore;
  private readonly onSessionEnded?: () => void;
  private readonly locks: LockManagerLike | null;
  private readonly channel: ChannelLike | null;
  private readonly now: () => number;
  private refreshing: Promise<boolean> | null = null;
  /** The last token another tab refreshed, and when it arrived. */
  private shared: { access: string; body: unknown; at: number } | null = null;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl ?? '';
    this.fetchImpl = opts.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
    this.tokens = opts.tokens;
    this.onSessionEnded = opts.onSessionEnded;
    this.locks = opts.locks ?? null;
    this.channel = opts.channel ?? null;
    this.now = opts.now ?? Date.now;
    if (this.channel) {
      this.channel.onmessage = (ev) => {
        const m = ev.data as RefreshedMessage | null;
        if (m?.type === 'refreshed' && typeof m.access_token === 'string') {
          this.shared = { access: m.access_token, body: m.body, at: this.now() };
        }
      };
    }
  }

  url(path: string, query?: RequestOptions['query']): string {
    let u = this.baseUrl + path;
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
      }
      const s = qs.toString();
      if (s) u += (u.includes('?') ? '&' : '?') + s;
    }
    return u;
  }

  get<T>(path: string, opts: RequestOptions = {}) { return this.request<T>('GET', path, opts); }
  post<T>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('POST', path, { ...opts, body }); }
  patch<T>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PATCH', path, { ...opts, body }); }
  put<T>(path: string, body?: unknown, opts: RequestOptions = {}) { return this.request<T>('PUT', path, { ...opts, body }); }
  delete<T>(path: string, opts: RequestOptions = {}) { return this.request<T>('DELETE', path, opts); }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let res = await this.send(method, path, opts);
    if (res.status === 401 && !opts.anonymous) {
      const err = await readError(res.clone());
      if (err.code === 'invalid_token' || err.code === 'http_401') {
        // Refused refresh: the session already ended. Network failure: keep it and fail this call.
        if (await this.refresh()) {
          res = await this.send(method, path, opts);
          if (res.status === 401) {
            const again = await readError(res);
            this.endSession(); // fresh tokens refused too: the account is gone or disabled
            throw again;
          }
        }
      }
    }
    if (!res.ok) throw await readError(res);
    if (opts.raw) return res as unknown as T;
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Exchanges the refresh cookie for a new access token (and a rotated
   * cookie). Concurrent callers share one request: a rotated refresh token
   * can only be used once.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const had = this.tokens.getAccessToken();
    const asked = this.now();
    if (!this.locks) return this.refreshNow(had, asked);
    try {
      return await this.locks.request(REFRESH_LOCK, async () => {
        // The tab that held the lock posted its token before letting go: let
        // that message in first.
        await new Promise((resolve) => setTimeout(resolve, 0));
        return this.refreshNow(had, asked);
      });
    } catch {
      return this.refreshNow(had, asked); // the lock manager failed (not the refresh): go on alone
    }
  }

  /**
   * Refreshes, unless another tab did while this one waited for the lock
   * (its token is as new as ours would be). had is the token this tab held
   * when it asked: a shared token equal to it is the one being replaced.
   */
  private async refreshNow(had: string | null, asked: number): Promise<boolean> {
    const shared = this.shared;
    if (shared && shared.at >= asked && shared.access !== had) {
      this.tokens.setAccessToken(shared.access, shared.body);
      return true;
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url('/api/v1/auth/refresh'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: '{}', // the token is the cookie
        credentials: 'same-origin',
      });
    } catch {
      return false; // offline: keep the session, the request fails as a network error
    }
    if (!res.ok) {
      if (res.status >= 500) return false;
      this.endSession();
      return false;
    }
    const body = (await res.json()) as { access_token: string };
    this.tokens.setAccessToken(body.access_token, body);
    try {
      this.channel?.postMessage({ type: 'refreshed', access_token: body.access_token, body } satisfies RefreshedMessage);
    } catch {
      /* a closed channel: the other tabs refresh by themselves */
    }
    return true;
  }

  private endSession() {
    this.tokens.clear();
    this.onSessionEnded?.();
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
    let body: BodyInit | undefined;
    if (opts.form) {
      body = opts.form;
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const access = this.tokens.getAccessToken();
    if (!opts.anonymous && access) headers.Authorization = `Bearer ${access}`;
    try {
      return await this.fetchImpl(this.url(path, opts.query), { method, headers, body, signal: opts.signal, credentials: 'same-origin' });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError(0, 'network_error', (e as Error)?.message ?? 'network error');
    }
  }
}

/** Reads the error shape from a failed response, tolerating anything else. */
export async function readError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || code;
  let details: ErrorDetails | undefined;
  try {
    const body = await res.json();
    if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
      code = body.error.code || code;
      message = body.error.message || message;
      details = body.error.details ?? undefined;
    }
  } catch {
    /* not JSON */
  }
  let retryAfter: number | null = null;
  const header = res.headers.get('Retry-After');
  if (header) {
    const secs = Number(header);
    if (Number.isFinite(secs)) retryAfter = Math.max(0, Math.ceil(secs));
    else {
      const when = Date.parse(header);
      if (!Number.isNaN(when)) retryAfter = Math.max(0, Math.ceil((when - Date.now()) / 1000));
    }
  }
  if (retryAfter === null && typeof details?.retry_after_seconds === 'number') retryAfter = details.retry_after_seconds;
  return new ApiError(res.status, code, message, details, retryAfter);
}
