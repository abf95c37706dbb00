import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import i18n from '../../i18n';
import { useAuth } from '../../store/auth';
import LoginPage from '../Login';
import ChangePasswordPage from './ChangePassword';
import ForgotPasswordPage from './ForgotPassword';
import ResetPasswordPage from './ResetPassword';

function respond(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}
const apiError = (status: number, code: string, details?: unknown, headers?: Record<string, string>) =>
  respond(status, { error: { code, message: code, details } }, headers);

let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  useAuth.getState().clear();
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await i18n.changeLanguage('pt-BR');
});

function Where() {
  const loc = useLocation();
  return <p data-testid="where">{loc.pathname + loc.search}</p>;
}

function show(path: string) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/esqueci-senha" element={<ForgotPasswordPage />} />
          <Route path="/redefinir-senha" element={<ResetPasswordPage />} />
          <Route path="/account/password" element={<ChangePasswordPage />} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

function sent(path: string) {
  const call = fetchMock.mock.calls.find(([u]) => String(u).includes(path));
  return call ? { url: String(call[0]), init: call[1] as RequestInit, body: JSON.parse(String((call[1] as RequestInit).body)) } : null;
}

describe('forgot password', () => {
  it('the login page links to it; the request says the same whatever the answer', async () => {
    fetchMock.mockResolvedValueOnce(respond(202, { message: 'if this email has an account…' }));
    show('/login');
    fireEvent.click(screen.getByRole('link', { name: 'Esqueci minha senha' }));
    expect(screen.getByTestId('where').textContent).toBe('/esqueci-senha');
    fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: '  maria@acme.com.br ' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Enviar link' })));
    expect((await screen.findByTestId('forgot-sent')).textContent).toContain('Se houver uma conta com maria@acme.com.br');
    const req = sent('/api/v1/auth/password/forgot')!;
    expect(req.init.method).toBe('POST');
    expect(req.body).toEqual({ email: 'maria@acme.com.br' });
    expect(new Headers(req.init.headers).get('Authorization')).toBeNull();
  });

  it('asks for the email before sending, and shows the throttle', async () => {
    show('/esqueci-senha');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Enviar link' })));
    expect(screen.getByText('Obrigatório.')).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();
    fetchMock.mockResolvedValueOnce(apiError(429, 'too_many_attempts', { retry_after_seconds: 30 }, { 'Retry-After': '30' }));
    fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: 'maria@acme.com.br' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Enviar link' })));
    expect((await screen.findByTestId('forgot-error')).textContent).toMatch(/^Muitos pedidos\. Tente de novo em/);
  });

  it('speaks English too', async () => {
    await i18n.changeLanguage('en');
    show('/esqueci-senha');
    expect(screen.getByRole('heading', { name: 'Forgot my password' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Send link' })).toBeTruthy();
  });
});

describe('reset password', () => {
  const token = 'p.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

  async function fill(password: string, confirmation: string) {
    fireEvent.change(screen.getByLabelText('Nova senha'), { target: { value: password } });
    fireEvent.change(screen.getByLabelText('Confirme a nova senha'), { target: { value: confirmation } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Salvar nova senha' })));
  }

  it('checks the confirmation, sends the token from the link, and takes it out of the address', async () => {
    show(`/redefinir-senha?token=${encodeURIComponent(token)}`);
    await waitFor(() => expect(screen.getByTestId('where').textContent).toBe('/redefinir-senha'));
    await fill('short', 'short');
    expect(screen.getByText('Use pelo menos 8 caracteres.')).toBeTruthy();
    await fill('a brand new password', 'a brand new passw0rd');
    expect(screen.getByText('As senhas não são iguais.')).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();

    fetchMock.mockResolvedValueOnce(respond(204));
    await fill('a brand new password', 'a brand new password');
    expect((await screen.findByTestId('reset-done')).textContent).toContain('todas as sessões abertas foram encerradas');
    expect(sent('/api/v1/auth/password/reset')!.body).toEqual({ token, password: 'a brand new password' });
    fireEvent.click(screen.getByRole('link', { name: 'Ir para o login' }));
    expect(screen.getByTestId('where').textContent).toBe('/login');
  });

  it('an expired or used link asks for a new one', async () => {
    fetchMock.mockResolvedValueOnce(apiError(400, 'invalid_reset_token', { fields: { token: 'is invalid, expired or already used' } }));
    show(`/redefinir-senha?token=${token}`);
    await fill('a brand new password', 'a brand new password');
    expect((await screen.findByTestId('reset-invalid')).textContent).toBe('Este link é inválido, expirou ou já foi usado. Peça um novo.');
    fireEvent.click(screen.getByRole('link', { name: 'Pedir um novo link' }));
    expect(screen.getByTestId('where').textContent).toBe('/esqueci-senha');
  });

  it('a link without a token says so', () => {
    show('/redefinir-senha');
    expect(screen.getByTestId('reset-invalid').textContent).toMatch(/incompleto/);
  });

  it("shows the server's password rule next to the field", async () => {
    fetchMock.mockResolvedValueOnce(apiError(400, 'validation_failed', { fields: { password: 'must have at most 200 characters' } }));
    show(`/redefinir-senha?token=${token}`);
    await fill('a brand new password', 'a brand new password');
    expect(await screen.findByText('Deve ter no máximo 200 caracteres.')).toBeTruthy();
  });
});

describe('change password', () => {
  beforeEach(() => {
    useAuth.setState({ accessToken: 'tok', user: { id: 'me', tenant_id: 't', name: 'Bruno', email: 'b@x', role: 'AGENT', signature: true } });
  });

  async function fill(current: string, next: string, confirmation = next) {
    fireEvent.change(screen.getByLabelText('Senha atual'), { target: { value: current } });
    fireEvent.change(screen.getByLabelText('Nova senha'), { target: { value: next } });
    fireEvent.change(screen.getByLabelText('Confirme a nova senha'), { target: { value: confirmation } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Alterar senha' })));
  }

  it('a wrong current password shows next to its field; then the change goes through', async () => {
    show('/account/password');
    await fill('', 'a brand new password', 'something else');
    expect(screen.getByText('Obrigatório.')).toBeTruthy();
    expect(screen.getByText('As senhas não são iguais.')).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();

    fetchMock.mockResolvedValueOnce(apiError(400, 'wrong_password', { fields: { current_password: 'is not your current password' } }));
    await fill('guess', 'a brand new password');
    expect(await screen.findByText('A senha atual está incorreta.')).toBeTruthy();
    const req = sent('/api/v1/auth/me/password')!;
    expect(req.body).toEqual({ current_password: 'guess', new_password: 'a brand new password' });
    expect(new Headers(req.init.headers).get('Authorization')).toBe('Bearer tok');

    fetchMock.mockResolvedValueOnce(respond(204));
    await fill('the real one', 'a brand new password');
    expect((await screen.findByTestId('password-changed')).textContent).toBe('Senha alterada. Suas outras sessões foram encerradas.');
    expect((screen.getByLabelText('Senha atual') as HTMLInputElement).value).toBe('');
  });
});
