import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebhookDelivery, WebhookSubscription } from '../../api/types';
import WebhooksSettings from './Webhooks';

const respond = (status: number, body: unknown) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const failing: WebhookSubscription = {
  id: 'sub-1', url: 'https://erp.example.com/crm', events: ['message.created', 'contact.created'], status: 'disabled',
  disabled_reason: 'failing', disabled_at: '2026-12-05T10:00:00Z', failing_since: '2026-12-04T10:00:00Z', has_secret: true,
  secret_hint: '…abcd', created_by: null, created_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-05T10:00:00Z',
};

const delivery: WebhookDelivery = {
  id: 'del-1', subscription_id: 'sub-1', event_id: 'ev-1', event_seq: 7, event_type: 'message.created', status: 'failed',
  attempts: 15, status_code: 503, response_ms: 231, error: 'HTTP 503', last_attempt_at: '2026-12-05T10:00:00Z', replay_of: null,
  created_at: '2026-12-04T10:00:00Z', attempt_log: [],
};

let fetchMock: ReturnType<typeof vi.fn>;
let subs: WebhookSubscription[];
let deliveries: WebhookDelivery[];

beforeEach(() => {
  subs = [{ ...failing }];
  deliveries = [{ ...delivery }];
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const u = String(url);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    if (u.startsWith('/api/v1/webhook-subscriptions/sub-1/deliveries/del-1/replay') && method === 'POST') {
      const replayed = { ...delivery, id: 'del-2', status: 'pending' as const, attempts: 0, status_code: null, response_ms: null, error: null, replay_of: 'del-1' };
      deliveries = [replayed, ...deliveries];
      return respond(202, replayed);
    }
    if (u.startsWith('/api/v1/webhook-subscriptions/sub-1/deliveries')) return respond(200, { items: deliveries, next_cursor: null });
    if (u.startsWith('/api/v1/webhook-subscriptions/sub-1') && method === 'PATCH') {
      subs = [{ ...subs[0], status: body.enabled ? 'active' : 'disabled', disabled_reason: body.enabled ? null : 'disabled', disabled_at: null }];
      return respond(200, subs[0]);
    }
    if (u.startsWith('/api/v1/webhook-subscriptions') && method === 'POST') {
      if (!String(body.url).startsWith('https://')) {
        return respond(400, { error: { code: 'validation_failed', message: 'some fields are invalid', details: { fields: { url: 'must be https' } } } });
      }
      const created = { ...failing, id: 'sub-2', url: body.url, events: body.events, status: 'active' as const, disabled_reason: null, disabled_at: null };
      subs = [...subs, created];
      return respond(201, { ...created, secret: 'whsec_shown_once_123' });
    }
    if (u.startsWith('/api/v1/webhook-subscriptions')) return respond(200, { items: subs, next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

const renderPage = () => render(<QueryClientProvider client={new QueryClient()}><WebhooksSettings /></QueryClientProvider>);

describe('Webhooks', () => {
  it('shows a disabled subscription, its delivery log, resends and re-enables', async () => {
    renderPage();
    const list = await screen.findByTestId('webhooks');
    expect(list.textContent).toContain('https://erp.example.com/crm');
    expect(list.textContent).toContain('Desativado');
    expect(list.textContent).toContain('as entregas falharam por 24 horas seguidas');

    fireEvent.click(screen.getByRole('button', { name: /Entregas/ }));
    const rows = await screen.findByTestId('webhook-deliveries');
    expect(rows.textContent).toContain('Mensagem criada');
    expect(rows.textContent).toContain('Falhou');
    expect(rows.textContent).toContain('503');
    expect(rows.textContent).toContain('231 ms');
    expect(rows.textContent).toContain('15');
    // A disabled subscription is not sent to: the resend waits for re-enabling.
    const resend = within(rows).getByRole('button', { name: 'Reenviar o evento Mensagem criada' }) as HTMLButtonElement;
    expect(resend.disabled).toBe(true);

    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: /Reativar/ }));
    });
    const patch = fetchMock.mock.calls.find(([, init]) => init?.method === 'PATCH');
    expect(patch?.[0]).toBe('/api/v1/webhook-subscriptions/sub-1');
    expect(JSON.parse(String(patch?.[1]?.body))).toEqual({ enabled: true });
    await waitFor(() => expect(screen.getByTestId('webhooks').textContent).toContain('Ativo'));

    await waitFor(() => expect((within(screen.getByTestId('webhook-deliveries')).getByRole('button', { name: 'Reenviar o evento Mensagem criada' }) as HTMLButtonElement).disabled).toBe(false));
    await act(async () => {
      fireEvent.click(within(screen.getByTestId('webhook-deliveries')).getByRole('button', { name: 'Reenviar o evento Mensagem criada' }));
    });
    const replay = fetchMock.mock.calls.find(([u, init]) => String(u).endsWith('/replay') && init?.method === 'POST');
    expect(replay?.[0]).toBe('/api/v1/webhook-subscriptions/sub-1/deliveries/del-1/replay');
    await screen.findByText('Evento reenviado: a nova entrega aparece na lista.');
    await waitFor(() => expect(screen.getByTestId('webhook-deliveries').textContent).toContain('Tentando'));
  });

  it('creates a subscription with chosen events, shows field errors and the secret once', async () => {
    subs = [];
    renderPage();
    await screen.findByText('Nenhum webhook ainda');
    fireEvent.click(screen.getByRole('button', { name: /Novo webhook/ }));
    const url = await screen.findByLabelText('URL');
    fireEvent.change(url, { target: { value: 'http://erp.example.com/hook' } });
    fireEvent.click(screen.getByLabelText(/Contato criado/));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Salvar' }));
    });
    expect(await screen.findByText('must be https', { exact: false })).toBeTruthy();

    fireEvent.change(screen.getByLabelText('URL'), { target: { value: 'https://erp.example.com/hook' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Salvar' }));
    });
    const posts = fetchMock.mock.calls.filter(([, init]) => init?.method === 'POST');
    expect(JSON.parse(String(posts[posts.length - 1][1]?.body))).toEqual({
      url: 'https://erp.example.com/hook', events: ['message.created', 'contact.created'],
    });
    expect((await screen.findByTestId('webhook-secret')).textContent).toBe('whsec_shown_once_123');
    expect(screen.getByText(/ele não será mostrado de novo/)).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('webhooks').textContent).toContain('https://erp.example.com/hook'));
  });
});
