import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render as rtlRender, screen, waitFor, within } from '@testing-library/react';
import type { ReactElement } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { Message, Note } from '../../api/types';
import { fixtureMessages } from './fixtures';
import { MessageBubble } from './MessageBubble';
import { MessageList, buildRows, mergeNotes } from './MessageList';

const now = new Date(2026, 10, 28, 12, 0);
const render = (ui: ReactElement) => rtlRender(<QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>);

function bubble(id: string) {
  return document.querySelector(`[data-message-id="${id}"]`) as HTMLElement;
}

describe('MessageList with the fixture conversation', () => {
  it('renders every message type, day separators and notes apart', () => {
    render(<MessageList messages={fixtureMessages(now)} now={now} />);
    const days = screen.getAllByTestId('day-separator').map((d) => d.textContent);
    expect(days).toEqual(['Ontem', 'Hoje']);
    // 17 messages: the reaction folds onto its target, the note is not a bubble
    expect(screen.getAllByTestId('bubble')).toHaveLength(15);
    expect(screen.getAllByTestId('note')).toHaveLength(1);
    expect(within(screen.getByTestId('note')).getByText(/Nota interna · Admin Demo/)).toBeTruthy();
    expect(screen.getByText('Oi! Vocês entregam em Campinas?')).toBeTruthy();
    expect(bubble('m3').querySelector('img')?.getAttribute('alt')).toBe('Esse modelo tem na cor verde?');
    expect(within(bubble('m4')).getByText('Mensagem de voz')).toBeTruthy();
    expect(bubble('m4').querySelector('[data-voice="true"]')).toBeTruthy();
    expect(within(bubble('m6')).getByTestId('document-name').textContent).toBe('catalogo-verao-2026.pdf');
    expect(within(bubble('m6')).getByText('PDF · 2,3 MB')).toBeTruthy();
    const map = within(bubble('m7')).getByText('Abrir no mapa').closest('a')!;
    expect(map.getAttribute('href')).toContain('-22.9056,-47.0608');
    expect(within(bubble('m8')).getByText('João Souza')).toBeTruthy();
    expect(within(bubble('m8')).getByText('+55 19 99876-5432')).toBeTruthy();
    expect(bubble('m10').querySelector('img')?.getAttribute('alt')).toBe('Figurinha');
    expect(within(bubble('m13')).getByText('Resposta de botão')).toBeTruthy();
    expect(within(bubble('m14')).getByTestId('unsupported').textContent).toContain('Mensagem não suportada');
  });

  it('shows the reaction on its target and the quoted reply', () => {
    render(<MessageList messages={fixtureMessages(now)} now={now} />);
    expect(within(bubble('m11')).getByTestId('reactions').textContent).toBe('❤️');
    expect(bubble('m12')).toBeNull();
    const quote = within(bubble('m11')).getByTestId('reply-quote');
    expect(quote.textContent).toContain('Cliente');
    expect(quote.textContent).toContain('📷 Esse modelo tem na cor verde?');
  });

  it('draws delivery ticks for outbound messages and the failure reason', () => {
    render(<MessageList messages={fixtureMessages(now)} now={now} />);
    const tick = (id: string) => bubble(id).querySelector('[data-status]:not([data-testid])')?.getAttribute('data-status');
    expect(tick('m2')).toBe('read');
    expect(tick('m11')).toBe('delivered');
    expect(tick('m15')).toBe('sent');
    expect(tick('m16')).toBe('pending');
    expect(tick('m17')).toBe('failed');
    expect(within(bubble('m17')).getByTestId('send-error').textContent).toBe('Não enviada: Janela de 24 horas encerrada');
    // inbound bubbles have no ticks
    expect(bubble('m1').querySelector('svg[data-status]')).toBeNull();
  });

  it('orders by seq and starts a new run (tail) when the side changes', () => {
    const msgs = fixtureMessages(now).reverse();
    const { rows } = buildRows(msgs, now);
    const ids = rows.filter((r) => r.kind === 'message').map((r) => r.message!.id);
    expect(ids.slice(0, 3)).toEqual(['m1', 'm2', 'm3']);
    const tails = Object.fromEntries(rows.filter((r) => r.kind === 'message').map((r) => [r.message!.id, r.tail]));
    expect(tails).toMatchObject({ m1: true, m2: true, m3: true, m4: false });
  });

  it('says honestly when the quoted message is not loaded, and a removed reaction disappears', () => {
    const base: Omit<Message, 'id' | 'seq' | 'type' | 'direction'> = { conversation_id: 'c', status: 'received', created_at: now.toISOString() };
    const msgs: Message[] = [
      { ...base, id: 'a', seq: 1, type: 'text', direction: 'inbound', text: 'oi', external_id: 'wamid.A' },
      { ...base, id: 'b', seq: 2, type: 'reaction', direction: 'inbound', reaction: { target_external_id: 'wamid.A', emoji: '👍' } },
      { ...base, id: 'c', seq: 3, type: 'reaction', direction: 'inbound', reaction: { target_external_id: 'wamid.A', emoji: '', removed: true } },
      { ...base, id: 'd', seq: 4, type: 'text', direction: 'outbound', text: 'resposta', reply_to_id: 'zzz', status: 'sent' },
    ];
    render(<MessageList messages={msgs} now={now} />);
    expect(within(bubble('a')).queryByTestId('reactions')).toBeNull();
    expect(within(bubble('d')).getByTestId('reply-quote').textContent).toContain('Mensagem original não carregada');
  });
});

describe('MessageBubble', () => {
  it('shows a media placeholder when there is no URL and links text', () => {
    const m: Message = { id: 'x', conversation_id: 'c', seq: 1, type: 'image', direction: 'inbound', status: 'received', created_at: now.toISOString(), media: { caption: 'veja https://exemplo.com.br/p' } };
    render(<MessageBubble message={m} />);
    expect(screen.getByText('Mídia indisponível')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'https://exemplo.com.br/p' }).getAttribute('target')).toBe('_blank');
  });

  it('fetches a signed URL for stored media that came without one', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ id: 'x', url: '/api/v1/media/x/content?sig=abc', mime_type: 'image/jpeg', kind: 'image', size: 10 }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const id = '0192f0a4-1111-7000-8000-000000000001';
    const m: Message = { id: 'i', conversation_id: 'c', seq: 1, type: 'image', direction: 'inbound', status: 'received', created_at: now.toISOString(), media: { id } };
    render(<MessageBubble message={m} />);
    const img = await screen.findByRole('img');
    expect(img.getAttribute('src')).toBe('/api/v1/media/x/content?sig=abc');
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toBe(`/api/v1/media/${id}`);
    vi.unstubAllGlobals();
  });

  it("uses our media_id, not the provider's media id, for an inbound file", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ id: 'y', url: '/api/v1/media/y/content?sig=def', mime_type: 'audio/ogg', kind: 'audio', size: 10 }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const ours = '0192f0a4-2222-7000-8000-000000000002';
    const m: Message = { id: 'v', conversation_id: 'c', seq: 1, type: 'audio', direction: 'inbound', status: 'received', created_at: now.toISOString(), media: { id: '9538434238769094', media_id: ours, voice: true } };
    render(<MessageBubble message={m} />);
    await waitFor(() => expect(document.querySelector('audio')?.getAttribute('src')).toBe('/api/v1/media/y/content?sig=def'));
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toBe(`/api/v1/media/${ours}`);
    vi.unstubAllGlobals();
  });

  it("shows our stored copy rather than a provider's CDN URL (the console's CSP loads media from its own origin only)", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ id: 'z', url: '/api/v1/media/z/content?sig=ghi', mime_type: 'image/jpeg', kind: 'image', size: 10 }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const ours = '0192f0a4-3333-7000-8000-000000000003';
    const m: Message = { id: 'w', conversation_id: 'c', seq: 1, type: 'image', direction: 'inbound', status: 'received', created_at: now.toISOString(), media: { url: 'https://scontent.xx.fbcdn.net/v/t1/foto.jpg', media_id: ours } };
    render(<MessageBubble message={m} />);
    await waitFor(() => expect(screen.getByRole('img').getAttribute('src')).toBe('/api/v1/media/z/content?sig=ghi'));
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toBe(`/api/v1/media/${ours}`);
    vi.unstubAllGlobals();
  });
});

describe('messages written without a user', () => {
  const base = { conversation_id: 'c1', created_at: '2026-12-01T10:00:00Z' };
  it('an outbound message with via "bot" is labelled Bot', () => {
    const m: Message = { ...base, id: 'b1', seq: 1, direction: 'outbound', type: 'text', text: 'Digite 1 para vendas', status: 'sent', sent_by: null, via: 'bot' };
    render(<MessageBubble message={m} />);
    expect(screen.getByText('Bot', { selector: 'p' })).toBeTruthy();
  });

  it('a customer message and an agent message are not', () => {
    const inbound: Message = { ...base, id: 'i1', seq: 1, direction: 'inbound', type: 'text', text: 'oi', status: 'received', sent_by: null };
    const agent: Message = { ...base, id: 'a1', seq: 2, direction: 'outbound', type: 'text', text: 'olá', status: 'sent', sent_by: 'u1', via: 'agent' };
    render(<MessageList messages={[inbound, agent]} authorOf={(m) => (m.sent_by === 'u1' ? 'Bruno' : null)} />);
    expect(screen.queryByText('Bot')).toBeNull();
    expect(screen.getByText('Bruno')).toBeTruthy();
  });

  it('a note without an author (the bot\'s error) is signed Chatbot', () => {
    const notes: Note[] = [
      { id: 'n1', conversation_id: 'c1', author_id: null, text: 'Chatbot: o fluxo foi interrompido após 50 passos sem esperar o cliente.', created_at: '2026-12-01T10:01:00Z' },
      { id: 'n2', conversation_id: 'c1', author_id: 'u1', text: 'Cliente VIP', created_at: '2026-12-01T10:02:00Z' },
    ];
    render(<MessageList messages={mergeNotes([], notes)} authorOf={(m) => (m.sent_by === 'u1' ? 'Bruno' : null)} />);
    const [bot, human] = screen.getAllByTestId('note');
    expect(bot.textContent).toContain('Nota interna · Chatbot');
    expect(human.textContent).toContain('Nota interna · Bruno');
  });
});
