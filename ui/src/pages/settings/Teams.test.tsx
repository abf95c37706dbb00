import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import TeamsSettings from './Teams';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const team = {
  id: 'tm1', name: 'Vendas', description: '', member_ids: ['u1'],
  auto_assign: 'off', max_open_per_agent: 0, sla_first_response_minutes: 0, business_hours: null,
};

let fetchMock: ReturnType<typeof vi.fn>;
let patchAnswer: (body: Record<string, unknown>) => Response;
beforeEach(() => {
  patchAnswer = (body) => respond(200, { ...team, ...body });
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/teams' && (!init?.method || init.method === 'GET')) return respond(200, { items: [{ ...team, auto_assign: 'least_busy', max_open_per_agent: 5, sla_first_response_minutes: 15 }, { ...team, id: 'tm2', name: 'Suporte' }], next_cursor: null });
    if (url.pathname === '/api/v1/users') return respond(200, { items: [{ id: 'u1', name: 'Ana', email: 'a@x', role: 'AGENT', active: true, team_ids: ['tm1'] }], next_cursor: null });
    if (url.pathname === '/api/v1/teams/tm2' && init?.method === 'PATCH') return patchAnswer(JSON.parse(String(init.body)));
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function show() {
  render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}><TeamsSettings canWrite /></QueryClientProvider>);
}

const patchBody = () => {
  const call = fetchMock.mock.calls.find(([u, i]) => String(u).includes('/api/v1/teams/tm2') && i?.method === 'PATCH');
  return call ? JSON.parse(String(call[1]!.body)) : undefined;
};

describe('team distribution settings', () => {
  it('lists each team\'s distribution', async () => {
    show();
    const rows = await screen.findAllByTestId('team-routing');
    expect(rows[0].textContent).toContain('Menos ocupado');
    expect(rows[0].textContent).toContain('até 5 por agente');
    expect(rows[0].textContent).toContain('SLA 15 min');
    expect(rows[1].textContent).toBe('Manual');
  });

  it('sets round robin, a cap, an SLA and the team\'s own hours', async () => {
    show();
    fireEvent.click(await screen.findByLabelText('Editar Suporte'));
    const form = within(screen.getByTestId('team-distribution'));
    fireEvent.change(form.getByLabelText(/Distribuição automática/), { target: { value: 'round_robin' } });
    fireEvent.change(form.getByLabelText(/Limite de conversas abertas/), { target: { value: '3' } });
    fireEvent.change(form.getByLabelText(/Tempo para a primeira resposta/), { target: { value: '30' } });
    fireEvent.click(form.getByLabelText('Horário próprio'));
    fireEvent.click(form.getByLabelText('Aberto (Sábado)'));
    fireEvent.click(screen.getByText('Salvar'));
    await waitFor(() => expect(patchBody()).toBeTruthy());
    const body = patchBody();
    expect(body).toMatchObject({ auto_assign: 'round_robin', max_open_per_agent: 3, sla_first_response_minutes: 30 });
    expect(body.business_hours.timezone).toBe('America/Sao_Paulo');
    expect(body.business_hours.days.sat).toEqual([['08:00', '18:00']]);
    expect(body.business_hours.days.mon).toEqual([['08:00', '18:00']]);
  });

  it('"Usar o horário da empresa" sends null, and field errors show beside the fields', async () => {
    patchAnswer = () => respond(400, { error: { code: 'validation_failed', message: 'invalid', details: { fields: { sla_first_response_minutes: 'must be between 0 (none) and 43200 (30 days)' } } } });
    show();
    fireEvent.click(await screen.findByLabelText('Editar Suporte'));
    fireEvent.change(screen.getByLabelText(/Tempo para a primeira resposta/), { target: { value: '600' } });
    fireEvent.click(screen.getByText('Salvar'));
    expect(await screen.findByText('Use de 0 (sem SLA) a 43200 minutos (30 dias).')).toBeTruthy();
    expect(patchBody().business_hours).toBeNull();
  });
});
