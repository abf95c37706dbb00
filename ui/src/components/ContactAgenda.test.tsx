import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation } from '../api/types';
import { useAuth } from '../store/auth';
import { ContactAgenda } from './ContactAgenda';

const respond = (status: number, body?: unknown) =>
  body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const conversation = { id: 'conv-1', connection_id: 'conn-1', contact_id: 'ct-1', contact: { id: 'ct-1', name: 'Maria Souza', phone: '+5511999990000' } } as unknown as Conversation;
let fetchMock: ReturnType<typeof vi.fn>;
let feature: boolean;

beforeEach(() => {
  feature = true;
  useAuth.setState({ user: { id: 'u1', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url);
    if (!feature) return respond(402, { error: { code: 'feature_disabled', message: 'your plan does not include agenda' } });
    if (path === '/api/v1/appointments' && init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      return respond(201, { id: 'n1', ...body, contact_name: 'Maria Souza', reminders: [], overlaps: ['x1', 'x2'] });
    }
    if (path.startsWith('/api/v1/appointments?')) {
      return respond(200, { items: [{ id: 'a1', title: 'Retorno', starts_at: '2030-01-15T13:00:00Z', duration_min: 30, status: 'scheduled', contact_id: 'ct-1', reminders: [], overlaps: [] }], next_cursor: null });
    }
    if (path.startsWith('/api/v1/users')) return respond(200, { items: [{ id: 'u1', name: 'Ana', active: true }], next_cursor: null });
    if (path.startsWith('/api/v1/connections')) return respond(200, { items: [{ id: 'conn-1', name: 'Loja' }], next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

const renderIt = () => render(<QueryClientProvider client={new QueryClient()}><MemoryRouter><ContactAgenda conversation={conversation} /></MemoryRouter></QueryClientProvider>);

describe("the contact panel's appointments", () => {
  it("lists the contact's next 93 days and books with the contact and the conversation's connection", async () => {
    renderIt();
    expect(await screen.findByText('Retorno')).toBeTruthy();
    const list = new URL(String(fetchMock.mock.calls[0][0]), 'http://x').searchParams;
    expect(list.get('contact_id')).toBe('ct-1');
    const span = new Date(list.get('to')!).getTime() - new Date(list.get('from')!).getTime();
    expect(span).toBe(93 * 86_400_000);
    fireEvent.click(screen.getByTestId('contact-book'));
    const form = await screen.findByTestId('appointment-form');
    expect(within(form).getByTestId('appt-contact').textContent).toBe('Maria Souza');
    await waitFor(() => expect((within(form).getByLabelText('Conexão') as HTMLSelectElement).value).toBe('conn-1'));
    fireEvent.change(within(form).getByLabelText('Título'), { target: { value: 'Consulta' } });
    fireEvent.click(within(form).getByTestId('add-reminder'));
    expect((within(form).getByLabelText('Para quem (lembrete 1)') as HTMLSelectElement).value).toBe('contact');
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-save'));
    });
    const post = fetchMock.mock.calls.find(([, init]) => init?.method === 'POST');
    const body = JSON.parse(String(post?.[1]?.body));
    expect(body).toMatchObject({ title: 'Consulta', contact_id: 'ct-1', connection_id: 'conn-1', assignee_id: 'u1', reminders: [{ minutes_before: 1440, to: 'contact' }] });
    expect((await screen.findByTestId('overlap-warning')).textContent).toContain('outros 2 agendamentos');
  });

  it('is hidden when the plan has no agenda', async () => {
    feature = false;
    renderIt();
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('contact-agenda')).toBeNull();
  });
});
