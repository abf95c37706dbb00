import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter, Route, Routes } from 'react-router';
import { translateFieldMessage } from '../lib/fieldMessages';
import { useAuth } from '../store/auth';
import i18n from '../i18n';
import ContactsPage, { ContactForm, importRowError } from './Contacts';

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

describe('import and license errors in Portuguese', () => {
  const t = i18n.t.bind(i18n) as unknown as (key: string, opts?: Record<string, unknown>) => string;
  it('says what is wrong with an import row without English', () => {
    expect(importRowError({ row: 3, field: 'row', message: 'has 2 cells but the header names 4 columns' }, t))
      .toBe('Linha 3: A linha tem 2 células, mas o cabeçalho tem 4 colunas.');
    expect(importRowError({ row: 4, field: 'phone', message: 'is required: the phone identifies the contact' }, t))
      .toBe('Linha 4, telefone: Informe o telefone: é ele que identifica o contato.');
    expect(importRowError({ row: 5, field: 'row', message: "not imported: the plan's contact limit is reached" }, t))
      .toBe('Linha 5: Não importado: o limite de contatos do plano foi atingido.');
    expect(importRowError({ row: 6, field: 'labels', message: 'at most 20 labels per row' }, t))
      .toBe('Linha 6, etiquetas: No máximo 20 etiquetas.');
    expect(importRowError({ row: 7, field: 'row', message: 'the row is not valid CSV: bare " in non-quoted field' }, t))
      .toBe('Linha 7: A linha não é um CSV válido.');
  });
  it('says the license IP is invalid in Portuguese', () => {
    expect(translateFieldMessage("must be the server's IPv4 or IPv6 address")).toBe('Informe um endereço IP válido.');
    expect(translateFieldMessage('must be in the future')).toBe('Informe uma data futura.');
  });
});

describe('phones in the contact list', () => {
  it('are written the Brazilian way', async () => {
    fetchMock.mockImplementation(async (url: string) => {
      if (url.includes('/api/v1/contacts')) return respond(200, { items: [existing, { ...existing, id: 'c2', name: 'Joe', phone: '+14155550100' }], next_cursor: null });
      return respond(200, { items: [], next_cursor: null });
    });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter><ContactsPage /></MemoryRouter>
      </QueryClientProvider>,
    );
    const cells = await screen.findAllByTestId('contact-phone', {}, { timeout: 3000 });
    expect(cells.map((c) => c.textContent)).toEqual(['(11) 98765-4321', '+1 415 555 0100']);
  });
});

describe('CSV export', () => {
  it('asks for the Excel pt-BR file (semicolon, BOM) by default and for commas when chosen', async () => {
    fetchMock.mockImplementation(async (url: string) => {
      if (url.includes('/export')) return new Response('\uFEFFname;phone\n', { status: 200, headers: { 'Content-Type': 'text/csv' } });
      return respond(200, { items: [], next_cursor: null });
    });
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => 'blob:x', revokeObjectURL: () => undefined }));
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter><ContactsPage /></MemoryRouter>
      </QueryClientProvider>,
    );
    const exports = () => fetchMock.mock.calls.map(([u]) => String(u)).filter((u) => u.includes('/export'));
    await act(async () => { fireEvent.click(screen.getByRole('button', { name: /Exportar CSV/ })); });
    await waitFor(() => expect(exports()).toEqual(['/api/v1/contacts/export?delimiter=semicolon']));
    fireEvent.change(screen.getByLabelText('Formato da exportação'), { target: { value: 'comma' } });
    await act(async () => { fireEvent.click(screen.getByRole('button', { name: /Exportar CSV/ })); });
    await waitFor(() => expect(exports()[1]).toBe('/api/v1/contacts/export?delimiter=comma'));
  });
});
