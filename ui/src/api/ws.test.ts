import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient, type Frame, type SocketLike } from './ws';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(public url: string) {}
  send(data: string) { this.sent.push(JSON.parse(data)); }
  close() { this.closed = true; this.readyState = 3; }
  // server side
  open() { this.readyState = 1; this.onopen?.({}); }
  push(frame: Frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const frames: Frame[] = [];
  const statuses: string[] = [];
  const closeCodes: (number | null)[] = [];
  const resync = vi.fn();
  let token = 0;
  const client = new RealtimeClient({
    url: ({ closeCode }) => { closeCodes.push(closeCode); return `ws://test/api/v1/ws?token=t${++token}`; },
    pingInterval: 0,
    socket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    onResyncRequired: resync,
    random: () => 0.5,
    setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimer: () => undefined,
  });
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const fire = async () => { const t = timers.shift(); t?.fn(); await flush(); return t?.ms; };
  return { client, sockets, timers, frames, statuses, resync, flush, fire, closeCodes };
}

describe('RealtimeClient', () => {
  it('resumes since the last seq after a drop and drops replayed frames', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    expect(h.sockets).toHaveLength(1);
    h.sockets[0].open();
    expect(h.sockets[0].sent).toEqual([]); // nothing to resume on a first connection
    expect(h.client.status).toBe('open');
    h.sockets[0].push({ type: 'message.created', seq: 1, data: { id: 'a' } });
    h.sockets[0].push({ type: 'message.created', seq: 2, data: { id: 'b' } });
    h.sockets[0].push({ type: 'message.status', seq: 3, data: { id: 'a', status: 'read' } });
    expect(h.client.lastSeq).toBe(3);

    h.sockets[0].drop();
    expect(h.client.status).toBe('reconnecting');
    expect(h.timers).toHaveLength(1);
    await h.fire();
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1].url).toContain('token=t2'); // a fresh token for every connection
    h.sockets[1].open();
    expect(h.sockets[1].sent).toEqual([{ type: 'resume', since: 3 }]);
    // the server replays from 3 (inclusive, say) and goes on
    h.sockets[1].push({ type: 'message.status', seq: 3, data: {} });
    h.sockets[1].push({ type: 'message.created', seq: 4, data: { id: 'c' } });
    h.sockets[1].push({ type: 'pong' });
    expect(h.frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, undefined]);
    expect(h.client.lastSeq).toBe(4);
    expect(h.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('backs off exponentially up to the cap, and resets after a successful open', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      h.sockets[h.sockets.length - 1].drop();
      delays.push((await h.fire())!);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    h.sockets[h.sockets.length - 1].open();
    h.sockets[h.sockets.length - 1].drop();
    expect(await h.fire()).toBe(500);
  });

  it('jitters the delay within ±20%', () => {
    const lo = new RealtimeClient({ url: () => '', random: () => 0 });
    const hi = new RealtimeClient({ url: () => '', random: () => 0.999 });
    expect(lo.delay(0)).toBe(400);
    expect(hi.delay(0)).toBe(600);
  });

  it('asks the app to reload on resync_required and restarts from the server seq', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.sockets[0].push({ type: 'message.created', seq: 10 });
    h.sockets[0].push({ type: 'resync_required', seq: 50 });
    expect(h.resync).toHaveBeenCalledTimes(1);
    expect(h.client.lastSeq).toBe(50);
    h.sockets[0].push({ type: 'message.created', seq: 51 });
    expect(h.frames.map((f) => f.seq)).toEqual([10, 51]);
  });

  it('ignores garbage frames', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.sockets[0].onmessage?.({ data: 'not json' });
    h.sockets[0].onmessage?.({ data: '{"no":"type"}' });
    expect(h.frames).toEqual([]);
  });

  it('stops for good', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.client.stop();
    expect(h.sockets[0].closed).toBe(true);
    expect(h.timers).toHaveLength(0);
    expect(h.client.status).toBe('closed');
    expect(h.client.send({ type: 'ping' })).toBe(false);
  });

  it('retries when building the URL fails (token refresh offline)', async () => {
    let fail = true;
    const timers: (() => void)[] = [];
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient({
      url: async () => { if (fail) throw new Error('offline'); return 'ws://x'; },
      socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
      setTimer: (fn) => { timers.push(fn); return 1; },
      clearTimer: () => undefined,
    });
    client.start();
    await new Promise((r) => setTimeout(r, 0));
    expect(sockets).toHaveLength(0);
    expect(timers).toHaveLength(1);
    fail = false;
    timers.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(sockets).toHaveLength(1);
  });

  it('starts from a known seq and resumes on the first connection', async () => {
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient({ url: () => 'ws://x', since: 7, socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; } });
    client.start();
    await new Promise((r) => setTimeout(r, 0));
    sockets[0].open();
    expect(sockets[0].sent).toEqual([{ type: 'resume', since: 7 }]);
    client.stop();
  });

  it('replays after a slow_consumer resync on the same socket', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.sockets[0].push({ type: 'message.created', seq: 5 });
    h.sockets[0].push({ type: 'resync_required', data: { reason: 'slow_consumer', since: 3 } });
    expect(h.sockets[0].sent).toEqual([{ type: 'resume', since: 3 }]);
    expect(h.resync).not.toHaveBeenCalled();
    h.sockets[0].push({ type: 'message.created', seq: 4 });
    h.sockets[0].push({ type: 'message.created', seq: 5 });
    expect(h.frames.map((f) => f.seq)).toEqual([5, 4, 5]);
  });

  it('reloads when it reconnects with no seq to resume from', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.sockets[0].push({ type: 'pong' });
    h.sockets[0].drop();
    await h.fire();
    h.sockets[1].open();
    expect(h.sockets[1].sent).toEqual([]);
    expect(h.resync).toHaveBeenCalledTimes(1);
  });

  it('tells the URL builder the token expired (close 4401) so it refreshes first', async () => {
    const h = harness();
    h.client.start();
    await h.flush();
    h.sockets[0].open();
    h.sockets[0].drop(4401);
    await h.fire();
    expect(h.closeCodes).toEqual([null, 4401]);
  });

  it('pings while open', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient({
      url: () => 'ws://x', pingInterval: 25_000,
      socket: (u) => { const s = new FakeSocket(u); sockets.push(s); return s; },
      setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
      clearTimer: () => undefined,
    });
    client.start();
    await new Promise((r) => setTimeout(r, 0));
    sockets[0].open();
    expect(timers.map((t) => t.ms)).toEqual([25_000]);
    timers.shift()!.fn();
    expect(sockets[0].sent).toEqual([{ type: 'ping' }]);
    expect(timers.map((t) => t.ms)).toEqual([25_000]);
    client.stop();
  });
});
