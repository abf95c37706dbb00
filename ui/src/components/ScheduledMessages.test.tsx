import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScheduledMessage } from '../api/types';
import { ScheduleDialog, ScheduledChip, localInput, quickPicks } from './ScheduledMessages';

const respond = (status: number, body: unknown) => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
let fetchMock: ReturnType<typeof vi.fn>;
let routes: (url: string, init?: RequestInit) => Response | undefined;
beforeEach(() => {
  routes = () => undefined;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => routes(String(url), init) ?? respond(200, { items: [], next_cursor: null }));
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());
const wrap = (ui: ReactNode) => render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>);

const sm = (over: Partial<ScheduledMessage> = {}): ScheduledMessage => ({
  id: 's1', connection_id: 'c', contact_id: 'k', conversation_id: 'conv', message: { type: 'text', text: 'Lembrete da consulta' },
  send_at: '2026-12-07T12:00:00Z', status: 'pending', sent_message_id: null, error: null, created_by: 'u', created_at: '2026-12-06T10:00:00Z', updated_at: '2026-12-06T10:00:00Z', ...over,
});

describe('scheduling a message', () => {
  it('offers quick picks an hour ahead and tomorrow at 9', () => {
    const now = new Date(2026, 11, 6, 22, 30);
    const [hour, tomorrow] = quickPicks(now);
    expect(localInput(hour.at)).toBe('2026-12-06T23:30');
    expect(localInput(tomorrow.at)).toBe('2026-12-07T09:00');
  });

  it("shows the API's field error on the field, and hands back the scheduled message on success", async () => {
    let attempt = 0;
    routes = (url, init) => {
      if (url === '/api/v1/scheduled-messages' && init?.method === 'POST') {
        attempt++;
        if (attempt === 1) return respond(400, { error: { code: 'validation_failed', message: 'x', details: { fields: { send_at: 'must not be in the past' } } } });
        return respond(201, sm({ message: { type: 'text', text: JSON.parse(String(init.body)).text } }));
      }
      return undefined;
    };
    const onDone = vi.fn();
    wrap(<ScheduleDialog conversationId="conv" text="Lembrete da consulta" onClose={() => {}} onDone={onDone} />);
    expect((screen.getByLabelText('Mensagem') as HTMLTextAreaElement).value).toBe('Lembrete da consulta');
    fireEvent.click(screen.getByTestId('schedule-save'));
    expect(await screen.findByText('Escolha um horário no futuro.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Amanhã 9h' }));
    fireEvent.click(screen.getByTestId('schedule-save'));
    await waitFor(() => expect(onDone).toHaveBeenCalledTimes(1));
    const body = JSON.parse(String((fetchMock.mock.calls.at(-1)![1] as RequestInit).body));
    expect(body).toMatchObject({ conversation_id: 'conv', type: 'text', text: 'Lembrete da consulta' });
    expect(new Date(body.send_at).getHours()).toBe(9);
  });

  it("lists the conversation's scheduled messages: the pending count, edit and cancel", async () => {
    let items = [sm(), sm({ id: 's2', status: 'sent', message: { type: 'text', text: 'Já foi' } })];
    routes = (url, init) => {
      if (url.startsWith('/api/v1/scheduled-messages?')) return respond(200, { items, next_cursor: null });
      if (url === '/api/v1/scheduled-messages/s1' && init?.method === 'DELETE') { items = [{ ...items[0], status: 'cancelled' }, items[1]]; return respond(200, items[0]); }
      if (url === '/api/v1/scheduled-messages/s1' && init?.method === 'PATCH') return respond(200, sm({ message: { type: 'text', text: JSON.parse(String(init.body)).text } }));
      return undefined;
    };
    wrap(<ScheduledChip conversationId="conv" />);
    const chip = await screen.findByTestId('scheduled-chip');
    expect(chip.textContent).toContain('Agendada (1)');
    expect(String(fetchMock.mock.calls[0][0])).toContain('conversation_id=conv');
    fireEvent.click(chip);
    expect((await screen.findAllByTestId('scheduled-item')).map((x) => x.getAttribute('data-status'))).toEqual(['pending', 'sent']);
    fireEvent.click(screen.getByRole('button', { name: 'Editar' }));
    fireEvent.change(await screen.findByLabelText('Mensagem'), { target: { value: 'Lembrete: amanhã às 14h' } });
    fireEvent.click(screen.getByTestId('schedule-save'));
    await waitFor(() => expect(fetchMock.mock.calls.some(([u, i]) => String(u) === '/api/v1/scheduled-messages/s1' && (i as RequestInit).method === 'PATCH')).toBe(true));
    fireEvent.click(screen.getByTestId('scheduled-cancel'));
    const confirmDialog = (await screen.findByTestId('confirm-message')).closest('[role="dialog"]') as HTMLElement;
    fireEvent.click(within(confirmDialog).getByRole('button', { name: 'Cancelar envio' }));
    await waitFor(() => expect(fetchMock.mock.calls.map(([u, i]) => `${(i as RequestInit | undefined)?.method ?? 'GET'} ${u}`)).toContain('DELETE /api/v1/scheduled-messages/s1'));
    await waitFor(() => expect(screen.getByTestId('scheduled-chip').textContent).toContain('Agendada (0)'));
  });
});
