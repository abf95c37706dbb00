import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAuth } from '../store/auth';
import { applyAvailabilityFrame, useAvailability } from '../store/availability';
import { AvailabilitySwitch } from './AvailabilitySwitch';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  useAvailability.setState({ byUser: {} });
  useAuth.setState({ accessToken: 'tok', user: { id: 'me', tenant_id: 't', name: 'Bruno', email: 'b@x', role: 'AGENT' } as never });
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/agents/availability') return respond(200, { items: [{ user_id: 'other', availability: 'online', connected: true }, { user_id: 'me', availability: 'away', connected: true }] });
    if (url.pathname === '/api/v1/auth/me/availability' && init?.method === 'PUT') return respond(200, { user_id: 'me', ...JSON.parse(String(init.body)) });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function show() {
  render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}><AvailabilitySwitch /></QueryClientProvider>);
}

describe('the availability switch', () => {
  it('starts from the server, sends the change, and follows live user.availability frames', async () => {
    show();
    const select = screen.getByLabelText('Disponibilidade') as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe('away'));
    expect(screen.getByRole('img', { name: 'Ausente' })).toBeTruthy();

    fireEvent.change(select, { target: { value: 'online' } });
    await waitFor(() => expect(select.value).toBe('online'));
    const put = fetchMock.mock.calls.find(([u, i]) => String(u).includes('/api/v1/auth/me/availability') && i?.method === 'PUT');
    expect(JSON.parse(String(put![1]!.body))).toEqual({ availability: 'online' });
    expect(screen.getByRole('img', { name: 'Disponível' }).getAttribute('data-availability')).toBe('online');

    // the last console closed elsewhere, or another tab switched: the server says so
    act(() => { applyAvailabilityFrame({ user_id: 'me', availability: 'offline' }); });
    expect(select.value).toBe('offline');
    expect(screen.getByRole('img', { name: 'Offline' })).toBeTruthy();
    // a colleague's change and malformed frames leave it alone
    act(() => {
      expect(applyAvailabilityFrame({ user_id: 'other', availability: 'away' })).toBe(true);
      expect(applyAvailabilityFrame({ user_id: 'me', availability: 'busy' })).toBe(false);
    });
    expect(select.value).toBe('offline');
    expect(useAvailability.getState().byUser.other).toBe('away');
  });
});
