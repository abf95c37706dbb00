// The realtime client for GET /api/v1/ws?ticket=… (socketUrl.ts): JSON frames
// {"type", "seq", "data"}; reconnects on its own with capped, jittered
// backoff and, once it has seen a sequence number, sends
// {"type": "resume", "since": N} after every (re)connect so nothing is missed.
// Frames at or below the last seen seq are dropped (a resume may replay them).

export interface Frame<T = unknown> {
  type: string;
  seq?: number;
  data?: T;
}

export type RealtimeStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The parts of the browser WebSocket the client uses (a fake in tests). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface RealtimeOptions {
  /**
   * Builds the socket URL (with a fresh one-use ticket). May be async to
   * refresh the token first; closeCode is why the previous socket closed
   * (4401: token expired).
   */
  url: (info: { closeCode: number | null }) => string | Promise<string>;
  socket?: SocketFactory;
  onFrame?: (frame: Frame) => void;
  onStatus?: (status: RealtimeStatus) => void;
  /** The server said the client fell too far behind: reload state. */
  onResyncRequired?: () => void;
  /** Backoff: first delay and cap, in ms. */
  minDelay?: number;
  maxDelay?: number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
  /** The last seq already handled (e.g. restored from a previous socket). */
  since?: number | null;
  /** Sends {"type":"ping"} this often while open (the server closes idle sockets); 0 turns it off. */
  pingInterval?: number;
}

const OPEN = 1;

export class RealtimeClient {
  private opts: Required<Pick<RealtimeOptions, 'minDelay' | 'maxDelay' | 'random' | 'setTimer' | 'clearTimer' | 'pingInterval'>> & RealtimeOptions;
  private ws: SocketLike | null = null;
  private timer: unknown = null;
  private attempts = 0;
  private stopped = true;
  private _status: RealtimeStatus = 'idle';
  private _lastSeq: number | null;
  private closeCode: number | null = null;
  private pingTimer: unknown = null;
  private everOpened = false;

  constructor(opts: RealtimeOptions) {
    this.opts = {
      minDelay: 500,
      maxDelay: 15_000,
      random: Math.random,
      pingInterval: 25_000,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      ...opts,
    };
    this._lastSeq = opts.since ?? null;
  }

  get status() { return this._status; }
  /** The highest seq handled, or null before the first sequenced frame. */
  get lastSeq() { return this._lastSeq; }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onopen = null;
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this.setStatus('closed');
  }

  /** Sends a frame when open; returns whether it was sent. */
  send(frame: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drops the socket and reconnects at once (for tests and "retry now"). */
  reconnectNow() {
    if (this.stopped) return;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      try { ws.close(4000, 'reconnect'); } catch { /* ignore */ }
    }
    this.attempts = 0;
    void this.connect();
  }

  private setStatus(s: RealtimeStatus) {
    if (this._status === s) return;
    this._status = s;
    this.opts.onStatus?.(s);
  }

  private async connect() {
    if (this.stopped) return;
    this.setStatus(this.attempts === 0 && this._lastSeq === null ? 'connecting' : 'reconnecting');
    let url: string;
    try {
      url = await this.opts.url({ closeCode: this.closeCode });
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const factory = this.opts.socket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike);
    let ws: SocketLike;
    try {
      ws = factory(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempts = 0;
      this.closeCode = null;
      if (this._lastSeq !== null) ws.send(JSON.stringify({ type: 'resume', since: this._lastSeq }));
      else if (this.everOpened) this.opts.onResyncRequired?.(); // reconnected without a seq to resume from: reload
      this.everOpened = true;
      this.startPing(ws);
      this.setStatus('open');
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.handle(ev.data);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.closeCode = typeof ev?.code === 'number' ? ev.code : null;
      this.stopPing();
      this.scheduleReconnect();
    };
  }

  private handle(raw: unknown) {
    let frame: Frame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== 'string') return;
    if (frame.type === 'resync_required') {
      const data = (frame.data ?? {}) as { reason?: string; since?: number };
      if (data.reason === 'slow_consumer' && typeof data.since === 'number') {
        // We fell behind and frames after `since` were dropped: replay them.
        this._lastSeq = this._lastSeq === null ? data.since : Math.min(this._lastSeq, data.since);
        this.send({ type: 'resume', since: this._lastSeq });
        return;
      }
      // Too old to replay: reload the state and go on live from the server's present.
      this._lastSeq = typeof frame.seq === 'number' ? frame.seq : null;
      this.opts.onResyncRequired?.();
      return;
    }
    if (typeof frame.seq === 'number') {
      if (this._lastSeq !== null && frame.seq <= this._lastSeq) return; // replayed
      this._lastSeq = frame.seq;
    }
    this.opts.onFrame?.(frame);
  }

  private startPing(ws: SocketLike) {
    this.stopPing();
    if (!this.opts.pingInterval) return;
    const tick = () => {
      if (this.ws !== ws) return;
      this.send({ type: 'ping' });
      this.pingTimer = this.opts.setTimer(tick, this.opts.pingInterval);
    };
    this.pingTimer = this.opts.setTimer(tick, this.opts.pingInterval);
  }

  private stopPing() {
    if (this.pingTimer !== null) this.opts.clearTimer(this.pingTimer);
    this.pingTimer = null;
  }

  /** The delay before reconnect attempt n (0-based): exponential, capped, with ±20% jitter. */
  delay(n: number): number {
    const base = Math.min(this.opts.maxDelay, this.opts.minDelay * 2 ** n);
    return Math.round(base * (0.8 + 0.4 * this.opts.random()));
  }

  private scheduleReconnect() {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    const wait = this.delay(this.attempts);
    this.attempts++;
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      void this.connect();
    }, wait);
  }
}
