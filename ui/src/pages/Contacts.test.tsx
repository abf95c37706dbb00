import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router';
import { translateFieldMessage } from '../lib/fieldMessages';
import { useAuth } from '../store/auth';
import ContactsPage, { ContactForm } from './Contacts';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;

beforeEach(() => {
  useAuth.getState().clear();
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const existing = { id: 'c-existing', name: 'Maria Antiga', phone: '+5511987654321', email: null, label_ids: [], custom_fields: {} };

describe('ContactForm', () => {
  it('says a duplicate phone is a duplicate and links to the contact that has it', async () => {
    fetchMock.mockResolvedValueOnce(respond(409, { error: { code: 'conflict', message: 'a contact with this phone number already exists', details: { field: 'phone', contact_id: 'c-existing' } } }));
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter><ContactForm contact={null} labels={[]} onClose={() => undefined} /></MemoryRouter>
      </QueryClientProvider>,
    );
    fireEvent.change(screen.getByLabelText('Telefone'), { target: { value: '11 98765-4321' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Salvar' }));
    });
    const link = await screen.findByTestId('existing-contact');
    expect(link.getAttribute('href')).toBe('/contacts?open=c-existing');
    expect(screen.getByText(/Já existe um contato com este telefone/)).toBeTruthy();
    expect(screen.queryByText('Telefone inválido.')).toBeNull();
  });

  it('translates clash and requirement messages that mention the phone as what they are', () => {
    expect(translateFieldMessage('a contact with this phone number already exists')).toBe('Já está em uso.');
    expect(translateFieldMessage('a name, phone or email is required')).toBe('Informe um nome, telefone ou e-mail.');
    expect(translateFieldMessage('must be a phone number')).toBe('Telefone inválido.');
  });
});

describe('ContactsPage', () => {
  it('opens the contact named by ?open= (the duplicate link)', async () => {
    fetchMock.mockImplementation(async (url: string) => {
      if (url.includes('/api/v1/contacts/c-existing')) return respond(200, existing);
      if (url.includes('/api/v1/contacts')) return respond(200, { items: [], next_cursor: null });
      if (url.includes('/api/v1/labels')) return respond(200, { items: [], next_cursor: null });
      return respond(404, { error: { code: 'not_found', message: 'not found' } });
    });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter initialEntries={['/contacts?open=c-existing']}>
          <Routes><Route path="/contacts" element={<ContactsPage />} /></Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(await screen.findByRole('dialog', { name: 'Editar contato' })).toBeTruthy();
    expect((screen.getByLabelText('Nome') as HTMLInputElement).value).toBe('Maria Antiga');
  });
});
