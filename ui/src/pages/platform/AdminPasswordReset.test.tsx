import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Tenant } from '../../api/types';
import { useAuth } from '../../store/auth';
import { AdminPasswordResetDialog } from './Tenants';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const tenant = { id: 't1', name: 'Acme', email: 'c@acme.test', plan_id: 'p', status: 'active', created_at: '2026-01-01T00:00:00Z' } as unknown as Tenant;
const admins = {
  items: [
    { id: 'a1', name: 'Ana Admin', email: 'ana@acme.test', active: true, last_login_at: '2026-12-01T12:00:00Z' },
    { id: 'a2', name: 'Old Admin', email: 'old@acme.test', active: false, last_login_at: null },
  ],
};

let fetchMock: ReturnType<typeof vi.fn>;
let resetAnswer: () => Response;
beforeEach(() => {
  useAuth.setState({ accessToken: 'tok', user: { id: 'owner', tenant_id: null, name: 'Owner', email: 'o@p', role: 'SUPER_ADMIN', signature: false } });
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/admin/tenants/t1/admins') return respond(200, admins);
    if (url.pathname === '/api/v1/admin/tenants/t1/admins/a1/password-reset' && init?.method === 'POST') return resetAnswer();
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

async function sendToAna() {
  render(<QueryClientProvider client={new QueryClient()}><AdminPasswordResetDialog tenant={tenant} onClose={() => undefined} /></QueryClientProvider>);
  const list = await screen.findByTestId('tenant-admins');
  expect(within(list).getByText('Desativado')).toBeTruthy(); // no button for a deactivated admin
  expect(within(list).getAllByRole('button', { name: /Enviar link/ })).toHaveLength(1);
  fireEvent.click(within(list).getByRole('button', { name: /Enviar link/ }));
  expect(screen.getByTestId('confirm-message').textContent).toBe('Enviar a ana@acme.test um link para redefinir a senha?');
  await act(async () => fireEvent.click(screen.getAllByRole('button', { name: 'Enviar link' }).at(-1)!));
}

describe('platform owner resets a tenant admin password', () => {
  it('with SMTP: says the link was e-mailed', async () => {
    resetAnswer = () => respond(200, { sent: true, email: 'ana@acme.test', expires_at: '2026-12-06T20:00:00Z' });
    await sendToAna();
    expect((await screen.findByTestId('admin-reset-sent')).textContent).toBe('Enviamos o link para ana@acme.test.');
    expect(screen.queryByTestId('admin-reset-link')).toBeNull();
  });

  it('without SMTP: shows the link once to copy', async () => {
    resetAnswer = () => respond(200, { sent: false, email: 'ana@acme.test', expires_at: '2026-12-06T20:00:00Z', link: 'https://crm.test/redefinir-senha?token=abc' });
    await sendToAna();
    expect((await screen.findByTestId('admin-reset-link')).textContent).toBe('https://crm.test/redefinir-senha?token=abc');
    expect(screen.getByText(/não tem e-mail \(SMTP\) configurado/)).toBeTruthy();
  });

  it('a refused e-mail says to check SMTP', async () => {
    resetAnswer = () => respond(422, { error: { code: 'mail_failed', message: 'the e-mail could not be sent' } });
    await sendToAna();
    expect(await screen.findByText('Não foi possível enviar o e-mail. Verifique a configuração de SMTP do servidor.')).toBeTruthy();
  });
});
