import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation } from '../api/types';
import { useAuth } from '../store/auth';
import { ContactKanban } from './ContactKanban';

const respond = (status: number, body?: unknown) =>
  body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const conversation = { id: 'conv-1', contact_id: 'ct-1', contact: { id: 'ct-1', name: 'Maria Souza', phone: '+5511999990000' } } as unknown as Conversation;
let fetchMock: ReturnType<typeof vi.fn>;
let feature: boolean;

beforeEach(() => {
  feature = true;
  useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url);
    if (!feature) return respond(402, { error: { code: 'feature_disabled', message: 'your plan does not include kanban' } });
    if (path.startsWith('/api/v1/cards') && init?.method === 'POST') return respond(201, { id: 'k9', ...JSON.parse(String(init.body)) });
    if (path.startsWith('/api/v1/cards?contact_id=ct-1')) {
      return respond(200, { items: [{ id: 'k1', board_id: 'b1', column_id: 'c1', title: 'Orçamento', value: '2500.00', rank: 'a' }] });
    }
    if (path.startsWith('/api/v1/boards')) return respond(200, { items: [{ id: 'b1', name: 'Vendas' }, { id: 'b2', name: 'Suporte' }] });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

const renderIt = () => render(<QueryClientProvider client={new QueryClient()}><MemoryRouter><ContactKanban conversation={conversation} /></MemoryRouter></QueryClientProvider>);

describe('the contact panel\'s Kanban cards', () => {
  it("lists the contact's cards and creates one from the conversation", async () => {
    renderIt();
    expect(await screen.findByText('Orçamento')).toBeTruthy();
    expect(screen.getByText('R$ 2.500,00')).toBeTruthy();
    fireEvent.click(await screen.findByTestId('contact-create-card'));
    expect((await screen.findByLabelText('Título') as HTMLInputElement).value).toBe('Maria Souza');
    fireEvent.change(screen.getByLabelText('Quadro'), { target: { value: 'b2' } });
    await act(async () => {
      fireEvent.click(screen.getByTestId('contact-create-card-submit'));
    });
    const post = fetchMock.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(String(post?.[0])).toBe('/api/v1/cards');
    expect(JSON.parse(String(post?.[1]?.body))).toEqual({ board_id: 'b2', title: 'Maria Souza', contact_id: 'ct-1', conversation_id: 'conv-1' });
  });

  it('is hidden when the plan has no Kanban', async () => {
    feature = false;
    renderIt();
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    await waitFor(() => expect(screen.queryByTestId('contact-kanban')).toBeNull());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('contact-kanban')).toBeNull();
  });
});
