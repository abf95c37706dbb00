import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Contact } from '../api/types';
import { ConsentSection } from './ContactPanel';

const respond = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
let fetchMock: ReturnType<typeof vi.fn>;
beforeEach(() => {
  fetchMock = vi.fn(async () => respond(200, { opted_out: false, changed: true }));
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

const contact = (over: Partial<Contact> = {}): Contact => ({ id: 'k1', name: 'Ana', phone: '+5511999990000', email: null, custom_fields: null, label_ids: [], ...over });
const wrap = (c: Contact) => render(<QueryClientProvider client={new QueryClient()}><ConsentSection contact={c} /></QueryClientProvider>);

describe('consent in the contact panel', () => {
  it('shows an opted-out contact as such, and records new consent only with a note', async () => {
    wrap(contact({ opted_out: true }));
    expect(screen.getByTestId('opted-out').textContent).toContain('Não recebe campanhas');
    fireEvent.click(screen.getByRole('button', { name: 'Registrar novo consentimento' }));
    fireEvent.click(await screen.findByTestId('consent-save'));
    expect(await screen.findByText('Escreva como o cliente pediu ou autorizou.')).toBeTruthy();
    expect(fetchMock).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Como o cliente pediu ou autorizou?'), { target: { value: 'Pediu de novo pelo telefone' } });
    fireEvent.click(screen.getByTestId('consent-save'));
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    const [url, init] = fetchMock.mock.calls[0];
    expect(String(url)).toBe('/api/v1/contacts/k1/consent');
    expect(JSON.parse(String((init as RequestInit).body))).toEqual({ opted_out: false, note: 'Pediu de novo pelo telefone' });
  });

  it('lets an agent opt a contact out with the reason', async () => {
    wrap(contact());
    expect(screen.queryByTestId('opted-out')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Marcar como descadastrado' }));
    fireEvent.change(await screen.findByLabelText('Como o cliente pediu ou autorizou?'), { target: { value: 'Pediu por e-mail' } });
    fireEvent.click(screen.getByTestId('consent-save'));
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    expect(JSON.parse(String((fetchMock.mock.calls[0][1] as RequestInit).body))).toEqual({ opted_out: true, note: 'Pediu por e-mail' });
  });
});
