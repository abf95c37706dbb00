import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { campaign } from '../../test/campaigns';
import { applyCampaignFrame } from '../../lib/campaigns';
import CampaignDetail from './CampaignDetail';
import Campaigns from './Campaigns';
import { CampaignWizard } from './CampaignWizard';

const respond = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

let fetchMock: ReturnType<typeof vi.fn>;
let routes: (url: string, init?: RequestInit) => Response | undefined;

beforeEach(() => {
  routes = () => undefined;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const r = routes(String(url), init);
    if (r) return r;
    if (String(url).startsWith('/api/v1/')) return respond(200, { items: [], next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function wrap(children: ReactNode, path = '/campaigns', qc = new QueryClient({ defaultOptions: { queries: { retry: false } } })) {
  return (
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/campaigns" element={children} />
          <Route path="/campaigns/:id" element={children} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>
  );
}

const calls = (pred: (url: string, init?: RequestInit) => boolean) =>
  fetchMock.mock.calls.filter(([u, i]) => pred(String(u), i as RequestInit | undefined));

describe('Campaigns list', () => {
  it('shows each campaign with its status, progress and the actions its status allows', async () => {
    routes = (url) => (url.startsWith('/api/v1/campaigns?') ? respond(200, {
      items: [campaign(), campaign({ id: 'c2', name: 'Natal', status: 'draft', progress: 0, stats: { total: 0, pending: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0 } })],
      next_cursor: null,
    }) : undefined);
    render(wrap(<Campaigns />));
    const rows = await screen.findAllByTestId('campaign-row');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('Enviando');
    expect(rows[0].textContent).toContain('40% · 40 de 100');
    expect(rows[0].querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')).toBe('40');
    expect(screen.getByRole('button', { name: 'Pausar Black Friday' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Iniciar Black Friday' })).toBeNull();
    expect(rows[1].textContent).toContain('Rascunho');
    expect(screen.getByRole('button', { name: 'Iniciar Natal' })).toBeTruthy();
  });

  it('filters by status through the API', async () => {
    render(wrap(<Campaigns />));
    fireEvent.change(await screen.findByLabelText('Status'), { target: { value: 'paused' } });
    await waitFor(() => expect(calls((u) => u.includes('/api/v1/campaigns?') && u.includes('status=paused'))).toHaveLength(1));
  });
});

describe('Campaign wizard', () => {
  it('counts the audience, previews the text with a contact, estimates the duration, and shows why a start is refused', async () => {
    let created: Record<string, unknown> | undefined;
    routes = (url, init) => {
      if (url.startsWith('/api/v1/connections?') || url === '/api/v1/connections') return respond(200, { items: [{ id: 'conn', name: 'Loja', channel: 'whatsapp', provider: 'sandbox', status: 'connected' }], next_cursor: null });
      if (url.startsWith('/api/v1/labels')) return respond(200, { items: [{ id: 'vip', name: 'VIP', color: '#112233' }], next_cursor: null });
      if (url === '/api/v1/campaigns/audience-preview') {
        const body = JSON.parse(String(init?.body));
        const n = body.audience.label_ids?.includes('vip') ? 120 : 500;
        return respond(200, { count: n, opted_out: 3, blocked: 0, no_identity: 2, duplicate: 0, outside_window: n, sample: [{ id: 'k', name: 'Joana', phone: '+5511988887777', email: null, custom_fields: {} }] });
      }
      if (url === '/api/v1/campaigns' && init?.method === 'POST') { created = JSON.parse(String(init.body)); return respond(201, campaign({ id: 'new', status: 'draft' })); }
      if (url === '/api/v1/campaigns/new/start') return respond(422, { error: { code: 'template_required', message: '120 of the 120 contacts are outside the 24-hour window' } });
      return undefined;
    };
    const onSaved = vi.fn();
    render(wrap(<CampaignWizard onClose={() => {}} onSaved={onSaved} />));
    fireEvent.click(await screen.findByTestId('wizard-next'));
    expect(await screen.findByText('Dê um nome à campanha.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Nome'), { target: { value: 'Promo VIP' } });
    fireEvent.change(screen.getByLabelText('Tipo de mensagem'), { target: { value: 'text' } });
    fireEvent.change(await screen.findByLabelText('Texto'), { target: { value: 'Oi {{contact.name}}, temos uma oferta!' } });
    await waitFor(() => expect(screen.getByTestId('campaign-preview').textContent).toBe('Oi Joana, temos uma oferta!'));
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.click(within(await screen.findByTestId('audience-labels')).getByRole('button', { name: 'VIP' }));
    await waitFor(() => expect(screen.getByTestId('audience-count').getAttribute('data-count')).toBe('120'), { timeout: 3000 });
    expect(screen.getByText(/3 descadastrados, 2 sem WhatsApp/)).toBeTruthy();
    expect(screen.getByText(/120 contatos estão fora da janela/)).toBeTruthy();
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.click(await screen.findByRole('button', { name: 'Seguro (20/min)' }));
    expect(screen.getByTestId('campaign-estimate').textContent).toMatch(/Duração estimada: 5 min 57 s para 120 contatos/);
    fireEvent.click(screen.getByTestId('wizard-next'));
    fireEvent.click(await screen.findByTestId('start-campaign'));
    expect(await screen.findByText('Parte do público está fora da janela de 24 h do WhatsApp: use um modelo aprovado.')).toBeTruthy();
    expect(created).toMatchObject({ name: 'Promo VIP', connection_id: 'conn', message: { type: 'text', text: 'Oi {{contact.name}}, temos uma oferta!' },
      audience: { label_ids: ['vip'] }, rate_per_minute: 20, scheduled_at: null, quiet_hours: null });
    expect(onSaved).not.toHaveBeenCalled();
  });
});

describe('Campaign detail', () => {
  it('moves the progress bar on a campaign.updated frame and filters recipients through the API', async () => {
    routes = (url) => {
      if (url === '/api/v1/campaigns/c1') return respond(200, campaign());
      if (url.startsWith('/api/v1/campaigns/c1/activity')) return respond(200, { bucket: 'minute', points: [{ at: '2026-12-06T10:00:00Z', sent: 30, delivered: 5, read: 3, failed: 2 }] });
      if (url.startsWith('/api/v1/campaigns/c1/recipients')) return respond(200, { items: [{ contact_id: 'k1', contact_name: 'Ana', phone: '+5511999990000', position: 1, status: 'skipped', error: { reason: 'opted_out' }, message_id: null, conversation_id: null, sent_at: null, delivered_at: null, read_at: null, updated_at: '2026-12-06T10:00:00Z' }], next_cursor: null });
      return undefined;
    };
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(wrap(<CampaignDetail />, '/campaigns/c1', qc));
    const bar = await screen.findByTestId('campaign-progress');
    expect(bar.getAttribute('aria-valuenow')).toBe('40');
    expect((await screen.findByTestId('campaign-recipients')).textContent).toContain('Descadastrado');
    expect(screen.getByTestId('campaign-chart')).toBeTruthy();
    act(() => { applyCampaignFrame(qc, campaign({ progress: 1, status: 'completed' }) as unknown as Record<string, unknown>); });
    await waitFor(() => expect(screen.getByTestId('campaign-progress').getAttribute('aria-valuenow')).toBe('100'));
    expect(screen.getByTestId('campaign-status').textContent).toBe('Concluída');
    fireEvent.change(screen.getByTestId('recipient-filter'), { target: { value: 'failed' } });
    await waitFor(() => expect(calls((u) => u.includes('/api/v1/campaigns/c1/recipients') && u.includes('status=failed'))).toHaveLength(1));
  });
});

