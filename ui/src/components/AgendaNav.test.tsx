import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAuth } from '../store/auth';
import { useNavItems } from './Shell';

let agenda: boolean;
beforeEach(() => {
  useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ id: 't', name: 'Acme', plan: { id: 'p', name: 'Pro', limits: {}, features: { agenda } }, usage: {}, license: null }),
    { status: 200, headers: { 'Content-Type': 'application/json' } })));
});
afterEach(() => vi.unstubAllGlobals());

function Nav() {
  return <ul>{useNavItems().map((i) => <li key={i.to} data-to={i.to}>{i.label}</li>)}</ul>;
}
const renderNav = () => render(<QueryClientProvider client={new QueryClient()}><Nav /></QueryClientProvider>);

describe('the agenda nav entry', () => {
  it('shows Agenda to an agent when the plan has agenda', async () => {
    agenda = true;
    renderNav();
    expect(await screen.findByText('Agenda')).toBeTruthy();
  });
  it('is hidden when the plan lacks it', async () => {
    agenda = false;
    renderNav();
    await waitFor(() => expect(screen.getByText('Configurações')).toBeTruthy());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByText('Agenda')).toBeNull();
  });
});
