import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from 'react-router';
import ContactsPage from '../pages/Contacts';
import { useAuth } from '../store/auth';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) && !/\.test\./.test(name) ? [p] : [];
  });
}

const respond = (status: number, body?: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('confirmations use the app dialog', () => {
  it('no source calls the browser confirm() or alert()', () => {
    const calls: string[] = [];
    for (const file of sources(join(__dirname, '..'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?<![\w.])(?:window\.)?(confirm|alert)\(/g)) calls.push(`${file.split('/src/')[1]}: ${m[0]}`);
      for (const m of text.matchAll(/window\.(confirm|alert)\(/g)) calls.push(`${file.split('/src/')[1]}: ${m[0]}`);
    }
    expect(calls).toEqual([]);
  });

  describe('deleting a contact', () => {
    let fetchMock: ReturnType<typeof vi.fn>;
    beforeEach(() => {
      useAuth.setState({ user: { id: 'me', tenant_id: 't', name: 'Ana', email: 'a@x', role: 'TENANT_ADMIN' } as never });
      fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
        if (init?.method === 'DELETE') return respond(204);
        if (String(url).includes('/api/v1/contacts')) return respond(200, { items: [{ id: 'c1', name: 'Maria', phone: '+5511987654321', email: null, label_ids: [], custom_fields: {} }], next_cursor: null });
        return respond(200, { items: [], next_cursor: null });
      });
      vi.stubGlobal('fetch', fetchMock);
      vi.stubGlobal('confirm', () => { throw new Error('the browser confirm() was used'); });
    });
    afterEach(() => vi.unstubAllGlobals());

    it('asks in the app dialog and deletes only after "Excluir"', async () => {
      render(<QueryClientProvider client={new QueryClient()}><MemoryRouter><ContactsPage /></MemoryRouter></QueryClientProvider>);
      fireEvent.click(await screen.findByRole('button', { name: 'Excluir Maria' }));
      const dialog = await screen.findByRole('dialog', { name: 'Confirmar' });
      expect(screen.getByTestId('confirm-message').textContent).toBe('Excluir o contato Maria?');
      fireEvent.click(screen.getByRole('button', { name: 'Cancelar' }));
      await waitFor(() => expect(dialog.isConnected).toBe(false));
      expect(fetchMock.mock.calls.some(([, init]) => init?.method === 'DELETE')).toBe(false);

      fireEvent.click(screen.getByRole('button', { name: 'Excluir Maria' }));
      await screen.findByRole('dialog', { name: 'Confirmar' });
      await act(async () => { fireEvent.click(screen.getByRole('button', { name: 'Excluir' })); });
      await waitFor(() => expect(fetchMock.mock.calls.some(([url, init]) => init?.method === 'DELETE' && String(url).endsWith('/api/v1/contacts/c1'))).toBe(true));
    });
  });
});
