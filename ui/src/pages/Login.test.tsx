import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router';
import { useAuth } from '../store/auth';
import LoginPage from './Login';

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}
const apiError = (status: number, code: string, details?: unknown, headers?: Record<string, string>) =>
  respond(status, { error: { code, message: code, details } }, headers);

let fetchMock: ReturnType<typeof vi.fn>;

function renderLogin() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={['/login']}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/inbox" element={<p>inbox page</p>} />
          <Route path="/platform" element={<p>platform page</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

async function submit(email = 'agent@demo.crm', password = 'secret') {
  fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: email } });
  fireEvent.change(screen.getByLabelText('Senha'), { target: { value: password } });
  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name: /Entrar/ }));
  });
}

beforeEach(() => {
  useAuth.getState().clear();
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Login', () => {
  it('signs in, keeps only the access token (in memory) and goes to the inbox', async () => {
    fetchMock.mockResolvedValueOnce(respond(200, {
      access_token: 'acc', refresh_token: 'rt-secret-1', token_type: 'Bearer', expires_in: 900,
      user: { id: 'u', tenant_id: 't', tenant_name: 'Loja Demo', name: 'Agente', email: 'agent@demo.crm', role: 'AGENT' },
    }));
    renderLogin();
    await submit();
    await screen.findByText('inbox page');
    expect(useAuth.getState().accessToken).toBe('acc');
    // the refresh token is the server's HttpOnly cookie: nothing of it is kept where a script could read it
    expect(JSON.stringify(useAuth.getState())).not.toContain('rt-secret-1');
    const stored = Array.from({ length: localStorage.length }, (_, i) => localStorage.getItem(localStorage.key(i)!));
    expect(stored.join(' ')).not.toContain('rt-secret-1');
    expect(localStorage.getItem('crm.refresh_token')).toBeNull();
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/v1/auth/login');
    expect(JSON.parse(init.body)).toEqual({ email: 'agent@demo.crm', password: 'secret' });
  });

  it('sends the platform owner to the platform pages', async () => {
    fetchMock.mockResolvedValueOnce(respond(200, { access_token: 'a', refresh_token: 'r', user: { id: 'o', tenant_id: null, name: 'Owner', email: 'o', role: 'SUPER_ADMIN' } }));
    renderLogin();
    await submit();
    await screen.findByText('platform page');
  });

  it('says when the email or password is wrong', async () => {
    fetchMock.mockResolvedValueOnce(apiError(401, 'invalid_credentials'));
    renderLogin();
    await submit();
    expect((await screen.findByTestId('login-error')).textContent).toBe('E-mail ou senha incorretos.');
    expect(useAuth.getState().accessToken).toBeNull();
  });

  it('locks the form with a countdown from Retry-After', async () => {
    // The throttle's progressive delay answers 429 with Retry-After seconds: a duration, not a clock time.
    fetchMock.mockResolvedValueOnce(apiError(429, 'too_many_attempts', { retry_after_seconds: 879 }, { 'Retry-After': '879' }));
    renderLogin();
    await submit();
    const msg = await screen.findByTestId('login-error');
    expect(msg.textContent).toMatch(/^Muitas tentativas de login\. Tente de novo em 14 min (39|38) s\.$/);
    const button = screen.getByRole('button', { name: /Bloqueado por 14 min (39|38) s/ }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    // the countdown moves
    await waitFor(() => expect(screen.getByTestId('login-error').textContent).toMatch(/14 min 3[0-7] s/), { timeout: 3000 });
    fireEvent.click(button);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('explains an invalid license with its reason', async () => {
    fetchMock.mockResolvedValueOnce(apiError(402, 'license_invalid', { reason: 'expired' }));
    renderLogin();
    await submit();
    expect((await screen.findByTestId('login-error')).textContent).toBe('A licença desta empresa não é válida. Ela expirou.');
  });

  it('explains a suspended tenant and a disabled account', async () => {
    fetchMock.mockResolvedValueOnce(apiError(403, 'tenant_suspended')).mockResolvedValueOnce(apiError(403, 'account_disabled'));
    renderLogin();
    await submit();
    expect((await screen.findByTestId('login-error')).textContent).toContain('A conta da sua empresa está suspensa');
    await submit();
    await waitFor(() => expect(screen.getByTestId('login-error').textContent).toContain('Sua conta foi desativada'));
  });

  it('asks which company when the email has accounts in several, then sends its slug', async () => {
    fetchMock
      .mockResolvedValueOnce(apiError(409, 'tenant_required', { tenants: [{ slug: 'loja-a', name: 'Loja A' }, { slug: 'loja-b', name: 'Loja B' }] }))
      .mockResolvedValueOnce(respond(200, { access_token: 'a', refresh_token: 'r', user: { id: 'u', tenant_id: 't', name: 'N', email: 'e', role: 'AGENT' } }));
    renderLogin();
    await submit();
    const select = (await screen.findByLabelText('Em qual empresa você quer entrar?')) as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(['Loja A', 'Loja B']);
    fireEvent.change(select, { target: { value: 'loja-b' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Entrar nesta empresa' }));
    });
    await screen.findByText('inbox page');
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toMatchObject({ tenant: 'loja-b' });
  });

  it('shows field errors next to the fields', async () => {
    fetchMock.mockResolvedValueOnce(apiError(400, 'validation_failed', { fields: { email: 'is required' } }));
    renderLogin();
    await submit('', 'x');
    expect((await screen.findByText('Obrigatório.')).getAttribute('data-field-error')).toBe('email');
  });
});
