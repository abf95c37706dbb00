import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAuth } from '../../store/auth';
import SignatureSettings from './Signature';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
let companyOn = false;
beforeEach(() => {
  companyOn = false;
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/tenant') return respond(200, { id: 't', name: 'Acme', plan: null, usage: {}, license: null, settings: { agent_signature: companyOn } });
    if (url.pathname === '/api/v1/tenant/settings' && init?.method === 'PATCH') {
      companyOn = JSON.parse(String(init.body)).agent_signature;
      return respond(200, { agent_signature: companyOn });
    }
    if (url.pathname === '/api/v1/auth/me' && init?.method === 'PATCH') {
      return respond(200, { ...useAuth.getState().user, ...JSON.parse(String(init.body)) });
    }
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function show(role: 'TENANT_ADMIN' | 'AGENT') {
  useAuth.setState({ accessToken: 'tok', user: { id: 'me', tenant_id: 't', name: 'Bruno', email: 'b@x', role, signature: true } });
  render(<QueryClientProvider client={new QueryClient()}><SignatureSettings /></QueryClientProvider>);
}

describe('agent signature settings', () => {
  it('an admin turns the company signature on; the preview shows the name first', async () => {
    show('TENANT_ADMIN');
    const company = await screen.findByLabelText(/Assinar as mensagens dos atendentes/);
    expect((company as HTMLInputElement).checked).toBe(false);
    expect(screen.getByTestId('signature-preview').textContent).toBe('Olá! Em que posso ajudar?');
    fireEvent.click(company);
    await waitFor(() => expect(screen.getByTestId('signature-preview').textContent).toBe('Bruno:\nOlá! Em que posso ajudar?'));
    const patch = fetchMock.mock.calls.find(([u, i]) => String(u).includes('/api/v1/tenant/settings') && i?.method === 'PATCH');
    expect(JSON.parse(String(patch![1]!.body))).toEqual({ agent_signature: true });
  });

  it('an agent cannot change the company switch but turns their own off', async () => {
    companyOn = true;
    show('AGENT');
    const company = await screen.findByLabelText(/Assinar as mensagens dos atendentes/);
    expect((company as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByText('Só administradores mudam esta opção.')).toBeTruthy();
    const mine = screen.getByLabelText(/Assinar as minhas mensagens/) as HTMLInputElement;
    expect(mine.checked).toBe(true);
    fireEvent.click(mine);
    await waitFor(() => expect(useAuth.getState().user?.signature).toBe(false));
    expect(screen.getByTestId('signature-preview').textContent).toBe('Olá! Em que posso ajudar?');
  });
});
