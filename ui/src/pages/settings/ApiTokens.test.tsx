import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiToken } from '../../api/types';
import ApiTokensSettings from './ApiTokens';

const respond = (status: number, body?: unknown) =>
  body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const erp: ApiToken = {
  id: 'tok-1', name: 'ERP', scope: 'read', prefix: 'crm_0123456789abcdef', created_by: 'u-1',
  created_at: '2026-12-01T12:00:00Z', last_used_at: null,
};
const secret = 'crm_fedcba9876543210_' + 'A'.repeat(43);

let fetchMock: ReturnType<typeof vi.fn>;
let tokens: ApiToken[];
let apiFeature: boolean;

beforeEach(() => {
  tokens = [erp];
  apiFeature = true;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url);
    if (path.startsWith('/api/v1/tenant')) {
      return respond(200, { id: 't-1', name: 'Acme', plan: { id: 'p-1', name: 'Pro', limits: {}, features: { api: apiFeature } }, usage: {}, license: null });
    }
    if (path === '/api/v1/api-tokens' && init?.method === 'POST') {
      const body = JSON.parse(String(init.body)) as { name: string; scope: 'read' | 'write' };
      const created = { id: 'tok-2', name: body.name, scope: body.scope, prefix: 'crm_fedcba9876543210', created_by: 'u-1',
        created_at: '2026-12-06T12:00:00Z', last_used_at: null };
      tokens = [...tokens, created];
      return respond(201, { ...created, token: secret });
    }
    if (path.startsWith('/api/v1/api-tokens/tok-1') && init?.method === 'DELETE') {
      tokens = tokens.filter((k) => k.id !== 'tok-1');
      return respond(204);
    }
    if (path.startsWith('/api/v1/api-tokens')) return respond(200, { items: tokens, next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

const renderPage = () => render(<QueryClientProvider client={new QueryClient()}><ApiTokensSettings /></QueryClientProvider>);

describe('Tokens de API', () => {
  it('lists tokens with their scope and last use, never a secret', async () => {
    renderPage();
    const rows = await screen.findByTestId('api-tokens-list');
    expect(rows.textContent).toContain('ERP');
    expect(rows.textContent).toContain('Leitura');
    expect(rows.textContent).toContain('Nunca usado');
    expect(rows.textContent).toContain('crm_0123456789abcdef_…');
    expect(screen.getByText('Tokens de API')).toBeTruthy();
  });

  it('creates a token and shows it once with a copy button and a warning', async () => {
    renderPage();
    await screen.findByTestId('api-tokens-list');
    await waitFor(() => expect((screen.getByTestId('new-api-token') as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId('new-api-token'));
    fireEvent.change(await screen.findByLabelText('Nome'), { target: { value: ' Zapier ' } });
    fireEvent.change(screen.getByLabelText('Permissão'), { target: { value: 'write' } });
    await act(async () => {
      fireEvent.click(screen.getByTestId('create-api-token'));
    });
    expect((await screen.findByTestId('api-token-secret')).textContent).toBe(secret);
    expect(screen.getByText(/não será mostrado de novo/)).toBeTruthy();
    expect(screen.getByRole('button', { name: /Copiar/ })).toBeTruthy();
    const post = fetchMock.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(JSON.parse(String(post?.[1]?.body))).toEqual({ name: 'Zapier', scope: 'write' });

    fireEvent.click(screen.getByTestId('api-token-done'));
    await waitFor(() => expect(screen.queryByTestId('api-token-secret')).toBeNull());
    const rows = await screen.findByTestId('api-tokens-list');
    await waitFor(() => expect(rows.textContent).toContain('Zapier'));
    expect(rows.textContent).toContain('Leitura e escrita');
    expect(document.body.textContent).not.toContain(secret);
  });

  it('revokes a token after the confirm dialog', async () => {
    renderPage();
    await screen.findByTestId('api-tokens-list');
    fireEvent.click(screen.getByRole('button', { name: 'Revogar o token ERP' }));
    expect((await screen.findByTestId('confirm-message')).textContent).toContain('Revogar o token ERP?');
    await act(async () => {
      fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revogar' }));
    });
    const revoked = fetchMock.mock.calls.find(([, init]) => init?.method === 'DELETE');
    expect(revoked?.[0]).toBe('/api/v1/api-tokens/tok-1');
    await screen.findByText('Nenhum token de API');
  });

  it('says when the plan lacks the API and does not offer to create', async () => {
    apiFeature = false;
    renderPage();
    await screen.findByText(/não inclui a API/);
    expect((screen.getByTestId('new-api-token') as HTMLButtonElement).disabled).toBe(true);
  });
});
