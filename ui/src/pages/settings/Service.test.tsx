import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ServiceSettingsPage from './Service';

function respond(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const stored = () => ({
  business_hours: { timezone: 'America/Sao_Paulo', days: { mon: [['08:00', '18:00']], tue: [['08:00', '18:00']] }, holidays: [{ date: '12-25', name: 'Natal' }] },
  outside_hours_reply: { enabled: false, text: '' },
  auto_close: { idle_hours: 0, message: '' },
});

let fetchMock: ReturnType<typeof vi.fn>;
let putAnswer: (body: unknown) => Response;
beforeEach(() => {
  putAnswer = (body) => respond(200, body);
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x');
    if (url.pathname === '/api/v1/tenant/service-settings' && (!init?.method || init.method === 'GET')) return respond(200, stored());
    if (url.pathname === '/api/v1/tenant/service-settings' && init?.method === 'PUT') return putAnswer(JSON.parse(String(init.body)));
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function show(canWrite = true) {
  render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}><ServiceSettingsPage canWrite={canWrite} /></QueryClientProvider>);
}

const putBody = () => {
  const call = fetchMock.mock.calls.find(([u, i]) => String(u).includes('/api/v1/tenant/service-settings') && i?.method === 'PUT');
  return call ? JSON.parse(String(call[1]!.body)) : undefined;
};

describe('service settings', () => {
  it('edits the week, adds a Saturday interval, turns the outside-hours reply on and saves the right body', async () => {
    show();
    const sat = await screen.findByLabelText('Aberto (Sábado)');
    expect((screen.getByLabelText('Aberto (Segunda)') as HTMLInputElement).checked).toBe(true);
    fireEvent.click(sat);
    const day = screen.getByTestId('company-hours-day-sat');
    fireEvent.change(within(day).getByLabelText('Sábado: fim do intervalo 1'), { target: { value: '12:00' } });
    fireEvent.click(within(screen.getByTestId('company-hours-day-mon')).getByLabelText('Adicionar intervalo (Segunda)'));
    fireEvent.change(screen.getByLabelText('Segunda: fim do intervalo 1'), { target: { value: '12:00' } });
    fireEvent.click(screen.getByLabelText('Aberto (Terça)')); // closes Tuesday
    fireEvent.click(screen.getByLabelText(/Responder automaticamente fora do horário/));
    const text = screen.getByLabelText('Mensagem') as HTMLTextAreaElement;
    expect(text.placeholder).toBe('Olá! Nosso atendimento está fechado agora. Recebemos sua mensagem e responderemos assim que voltarmos.');
    fireEvent.change(screen.getByLabelText(/Encerrar conversas paradas/), { target: { value: '24' } });
    fireEvent.change(screen.getByLabelText(/Mensagem de encerramento/), { target: { value: 'Até logo!' } });
    fireEvent.click(screen.getByTestId('service-save'));
    await screen.findByText('Configurações salvas.');
    expect(putBody()).toEqual({
      business_hours: {
        timezone: 'America/Sao_Paulo',
        days: { mon: [['08:00', '12:00'], ['13:00', '18:00']], sat: [['08:00', '12:00']] },
        holidays: [{ date: '12-25', name: 'Natal' }],
      },
      outside_hours_reply: { enabled: true, text: '' },
      auto_close: { idle_hours: 24, message: 'Até logo!' },
    });
  });

  it('"Sempre aberto" sends business_hours null, and a holiday added once keeps its year', async () => {
    show();
    fireEvent.click(await screen.findByText('Adicionar feriado'));
    fireEvent.change(screen.getByLabelText('Data do feriado 2'), { target: { value: '2026-11-20' } });
    fireEvent.change(screen.getByLabelText('Nome do feriado 2'), { target: { value: 'Consciência Negra' } });
    fireEvent.click(screen.getByTestId('service-save'));
    await screen.findByText('Configurações salvas.');
    expect(putBody().business_hours.holidays).toEqual([{ date: '12-25', name: 'Natal' }, { date: '2026-11-20', name: 'Consciência Negra' }]);
    fetchMock.mockClear();
    fireEvent.click(screen.getByLabelText(/Sempre aberto/));
    expect(screen.queryByTestId('company-hours-editor')).toBeNull();
    fireEvent.click(screen.getByTestId('service-save'));
    await waitFor(() => expect(putBody()?.business_hours).toBeNull());
  });

  it('shows the server field errors beside their fields', async () => {
    putAnswer = () => respond(400, { error: { code: 'validation_failed', message: 'invalid', details: { fields: {
      'business_hours.days.mon[0]': 'must be ["HH:MM", "HH:MM"] with the start before the end',
      'auto_close.idle_hours': 'must be between 0 (never) and 2160 (90 days)',
      'outside_hours_reply.enabled': 'needs business hours: without them the company is always open',
    } } } });
    show();
    fireEvent.click(await screen.findByTestId('service-save'));
    const mon = await screen.findByText('Use início e fim no formato HH:MM, com o início antes do fim.');
    expect(mon.getAttribute('data-field-error')).toBe('business_hours.days.mon[0]');
    expect(screen.getByText('Use de 0 (nunca) a 2160 horas (90 dias).').getAttribute('data-field-error')).toBe('service-idle-hours');
    expect(screen.getByText(/A resposta fora do horário precisa de um horário/).getAttribute('data-field-error')).toBe('outside_hours_reply.enabled');
    expect(screen.getByLabelText('Segunda: início do intervalo 1').getAttribute('aria-invalid')).toBe('true');
  });

  it('is read-only for non-admins', async () => {
    show(false);
    expect(await screen.findByText('Só administradores mudam estas configurações.')).toBeTruthy();
    expect((screen.getByLabelText('Aberto (Segunda)') as HTMLInputElement).disabled).toBe(true);
    expect(screen.queryByTestId('service-save')).toBeNull();
  });
});
