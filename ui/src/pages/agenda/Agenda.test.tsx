import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Appointment } from '../../api/agenda';
import { AgendaToasts } from '../../components/AgendaToasts';
import { applyAgendaFrame, useAgendaToasts } from '../../lib/agenda';
import { useAuth } from '../../store/auth';
import AgendaPage from './Agenda';

const respond = (status: number, body?: unknown) =>
  body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const appt = (id: string, starts_at: string, over: Partial<Appointment> = {}): Appointment => ({
  id, title: `Consulta ${id}`, description: '', contact_id: null, contact_name: null, assignee_id: 'u1', connection_id: null,
  starts_at, duration_min: 60, status: 'scheduled', reminder_template: null, reminders: [], overlaps: [], ...over,
});

let items: Appointment[];
let fetchMock: ReturnType<typeof vi.fn>;
let feature: boolean;
let postAnswer: (body: Record<string, unknown>) => Response;

beforeEach(() => {
  useAuth.setState({ user: { id: 'u1', tenant_id: 't', name: 'Ana', email: 'ana@x', role: 'AGENT' } as never, accessToken: 'tok' } as never);
  useAgendaToasts.setState({ toasts: [] });
  feature = true;
  // 10:00 in São Paulo (UTC−3) on Tuesday 8 December 2026
  items = [appt('a1', '2026-12-08T13:00:00Z', { contact_id: 'c1', contact_name: 'Maria Souza' })];
  postAnswer = (body) => respond(201, appt('new', String(body.starts_at), { ...body, overlaps: [] } as unknown as Partial<Appointment>));
  let feeds = 0;
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url);
    if (!feature && path.startsWith('/api/v1/appointments')) return respond(402, { error: { code: 'feature_disabled', message: 'your plan does not include agenda' } });
    if (path === '/api/v1/appointments' && init?.method === 'POST') return postAnswer(JSON.parse(String(init.body)));
    if (path.startsWith('/api/v1/appointments/') && init?.method === 'PATCH') {
      const id = path.split('/').pop()!;
      return respond(200, { ...items.find((a) => a.id === id)!, ...JSON.parse(String(init.body)) });
    }
    if (path.startsWith('/api/v1/appointments/') && init?.method === 'DELETE') return respond(204);
    if (path.startsWith('/api/v1/appointments')) return respond(200, { items, next_cursor: null });
    if (path === '/api/v1/auth/me/calendar-feed') {
      feeds++;
      return respond(200, { url: `https://crm.example/ics/t/u1/secret${feeds}.ics` });
    }
    if (path.startsWith('/api/v1/users')) {
      return respond(200, { items: [{ id: 'u1', name: 'Ana', email: 'ana@x', role: 'AGENT', active: true }, { id: 'u2', name: 'Bruno', email: 'b@x', role: 'AGENT', active: true }], next_cursor: null });
    }
    if (path.startsWith('/api/v1/connections')) return respond(200, { items: [{ id: 'conn1', name: 'Loja', channel: 'whatsapp', provider: 'meta', status: 'connected' }], next_cursor: null });
    return respond(404, { error: { code: 'not_found', message: 'not found' } });
  });
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => vi.unstubAllGlobals());

function renderPage(entry = '/agenda?date=2026-12-08', qc = new QueryClient()) {
  render(<QueryClientProvider client={qc}><MemoryRouter initialEntries={[entry]}><AgendaPage /><AgendaToasts /></MemoryRouter></QueryClientProvider>);
  return qc;
}
const calls = (method: string) => fetchMock.mock.calls.filter(([, init]) => (init?.method ?? 'GET') === method);
const lastBody = (method: string) => JSON.parse(String(calls(method).at(-1)?.[1]?.body));

describe('Agenda', () => {
  it('shows my week with an appointment at its São Paulo time', async () => {
    renderPage();
    const chip = await screen.findByTestId('appt-a1');
    const tuesday = screen.getByTestId('column-2026-12-08');
    expect(within(tuesday).getByTestId('appt-a1')).toBe(chip);
    expect(within(chip).getByTestId('appt-time').textContent).toBe('10:00');
    expect(within(chip).getByText('Maria Souza')).toBeTruthy();
    // 10:00 is six half-hour rows below 07:00, and an hour is two rows high
    const placed = screen.getByTestId('placed-a1');
    expect(placed.style.top).toBe('240px');
    expect(placed.style.height).toBe('80px');
    // the week from Sunday's midnight to the next Sunday's, in São Paulo, of my agenda
    const list = String(calls('GET').find(([u]) => String(u).startsWith('/api/v1/appointments'))?.[0]);
    const query = new URL(list, 'http://x').searchParams;
    expect(query.get('from')).toBe('2026-12-06T03:00:00.000Z');
    expect(query.get('to')).toBe('2026-12-13T03:00:00.000Z');
    expect(query.get('assignee_id')).toBe('me');
  });

  it("asks for everyone's agenda or another user's", async () => {
    renderPage();
    await screen.findByTestId('appt-a1');
    fireEvent.change(screen.getByTestId('agenda-filter'), { target: { value: 'all' } });
    await waitFor(() => expect(calls('GET').some(([u]) => String(u).startsWith('/api/v1/appointments') && !String(u).includes('assignee_id'))).toBe(true));
    await screen.findByRole('option', { name: 'Bruno' });
    fireEvent.change(screen.getByTestId('agenda-filter'), { target: { value: 'u2' } });
    await waitFor(() => expect(calls('GET').some(([u]) => String(u).includes('assignee_id=u2'))).toBe(true));
  });

  it('books from a slot: the POST has the slot time in São Paulo, me as assignee and the reminder chosen', async () => {
    renderPage();
    await screen.findByTestId('appt-a1');
    fireEvent.click(screen.getByTestId('slot-2026-12-09-14:30'));
    const form = await screen.findByTestId('appointment-form');
    expect((within(form).getByLabelText('Data') as HTMLInputElement).value).toBe('2026-12-09');
    expect((within(form).getByLabelText('Horário') as HTMLInputElement).value).toBe('14:30');
    fireEvent.change(within(form).getByLabelText('Título'), { target: { value: 'Avaliação' } });
    fireEvent.click(within(form).getByTestId('add-reminder'));
    expect((within(form).getByLabelText('Quando (lembrete 1)') as HTMLSelectElement).value).toBe('1440');
    fireEvent.change(within(form).getByLabelText('Quando (lembrete 1)'), { target: { value: '120' } });
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-save'));
    });
    await waitFor(() => expect(calls('POST').length).toBe(1));
    expect(String(calls('POST')[0][0])).toBe('/api/v1/appointments');
    expect(lastBody('POST')).toEqual({
      title: 'Avaliação', description: '', starts_at: '2026-12-09T17:30:00.000Z', duration_min: 30, status: 'scheduled',
      assignee_id: 'u1', contact_id: null, connection_id: null, reminders: [{ minutes_before: 120, to: 'assignee' }],
    });
    await waitFor(() => expect(screen.queryByTestId('appointment-form')).toBeNull());
    expect(screen.queryByTestId('overlap-warning')).toBeNull();
  });

  it('shows the server\'s field errors beside the fields', async () => {
    postAnswer = () => respond(400, { error: { code: 'validation_failed', message: 'invalid', details: { fields: {
      'reminders[0].to': 'a reminder to the contact needs contact_id and connection_id', duration_min: 'must be between 5 and 1440 minutes',
    } } } });
    renderPage();
    await screen.findByTestId('appt-a1');
    fireEvent.click(screen.getByTestId('slot-2026-12-08-09:00'));
    const form = await screen.findByTestId('appointment-form');
    fireEvent.change(within(form).getByLabelText('Título'), { target: { value: 'Retorno' } });
    fireEvent.click(within(form).getByTestId('add-reminder'));
    fireEvent.change(within(form).getByLabelText('Para quem (lembrete 1)'), { target: { value: 'contact' } });
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-save'));
    });
    expect(await within(form).findByText('O lembrete ao contato precisa de um contato e de uma conexão.')).toBeTruthy();
    expect(within(form).getByText('A duração vai de 5 a 1440 minutos.')).toBeTruthy();
    expect(screen.getByTestId('appointment-form')).toBeTruthy();
  });

  it('warns after saving when the assignee has another appointment at that time, and keeps the booking', async () => {
    postAnswer = (body) => respond(201, appt('new', String(body.starts_at), { title: String(body.title), overlaps: ['a1'] }));
    renderPage();
    await screen.findByTestId('appt-a1');
    fireEvent.click(screen.getByTestId('slot-2026-12-08-10:00'));
    const form = await screen.findByTestId('appointment-form');
    fireEvent.change(within(form).getByLabelText('Título'), { target: { value: 'Encaixe' } });
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-save'));
    });
    const warning = await screen.findByTestId('overlap-warning');
    expect(warning.textContent).toContain('"Encaixe" coincide com outro agendamento do responsável');
    fireEvent.click(within(warning).getByRole('button', { name: 'Fechar aviso' }));
    expect(screen.queryByTestId('overlap-warning')).toBeNull();
  });

  it('moves an appointment by changing its time (PATCH starts_at only) and marks one done', async () => {
    renderPage();
    fireEvent.click(await screen.findByTestId('appt-a1'));
    let form = await screen.findByTestId('appointment-form');
    expect((within(form).getByLabelText('Horário') as HTMLInputElement).value).toBe('10:00');
    fireEvent.change(within(form).getByLabelText('Horário'), { target: { value: '11:30' } });
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-save'));
    });
    await waitFor(() => expect(calls('PATCH').length).toBe(1));
    expect(String(calls('PATCH')[0][0])).toBe('/api/v1/appointments/a1');
    expect(lastBody('PATCH')).toEqual({ starts_at: '2026-12-08T14:30:00.000Z' });
    await waitFor(() => expect(screen.queryByTestId('appointment-form')).toBeNull());

    fireEvent.click(screen.getByTestId('appt-a1'));
    form = await screen.findByTestId('appointment-form');
    await act(async () => {
      fireEvent.click(within(form).getByTestId('appt-done'));
    });
    await waitFor(() => expect(calls('PATCH').length).toBe(2));
    expect(lastBody('PATCH')).toEqual({ status: 'done' });
  });

  it("deletes after the app's own confirmation", async () => {
    renderPage();
    fireEvent.click(await screen.findByTestId('appt-a1'));
    const form = await screen.findByTestId('appointment-form');
    fireEvent.click(within(form).getByTestId('appt-delete'));
    expect((await screen.findByTestId('confirm-message')).textContent).toContain('Consulta a1');
    expect(calls('DELETE').length).toBe(0);
    await act(async () => {
      fireEvent.click(within(screen.getByTestId('confirm-message').closest('[role="dialog"]') as HTMLElement).getByRole('button', { name: 'Excluir' }));
    });
    await waitFor(() => expect(calls('DELETE').length).toBe(1));
    expect(String(calls('DELETE')[0][0])).toBe('/api/v1/appointments/a1');
  });

  it('applies live events: a booking by someone else appears, a deleted one goes', async () => {
    const qc = renderPage();
    await screen.findByTestId('appt-a1');
    act(() => {
      applyAgendaFrame(qc, 'appointment.created', appt('a2', '2026-12-10T18:00:00Z', { title: 'Ao vivo' }));
      // another user's appointment is not in my agenda
      applyAgendaFrame(qc, 'appointment.created', appt('a3', '2026-12-10T18:00:00Z', { title: 'De outro', assignee_id: 'u2' }));
      // nor one outside the week
      applyAgendaFrame(qc, 'appointment.created', appt('a4', '2026-12-20T18:00:00Z', { title: 'Longe' }));
    });
    const live = await screen.findByTestId('appt-a2');
    expect(within(screen.getByTestId('column-2026-12-10')).getByTestId('appt-a2')).toBe(live);
    expect(within(live).getByTestId('appt-time').textContent).toBe('15:00');
    expect(screen.queryByTestId('appt-a3')).toBeNull();
    expect(screen.queryByTestId('appt-a4')).toBeNull();
    act(() => {
      applyAgendaFrame(qc, 'appointment.updated', appt('a2', '2026-12-11T12:00:00Z', { title: 'Ao vivo' }));
    });
    await waitFor(() => expect(within(screen.getByTestId('column-2026-12-11')).queryByTestId('appt-a2')).toBeTruthy());
    act(() => {
      applyAgendaFrame(qc, 'appointment.deleted', { id: 'a1' });
    });
    await waitFor(() => expect(screen.queryByTestId('appt-a1')).toBeNull());
  });

  it("shows the assignee's reminder as a toast, not another user's", async () => {
    const qc = renderPage();
    await screen.findByTestId('appt-a1');
    act(() => {
      applyAgendaFrame(qc, 'appointment.reminder', { appointment: appt('a9', '2026-12-08T13:00:00Z', { title: 'Outro', assignee_id: 'u2' }), reminder_id: 'r0', minutes_before: 30 });
      applyAgendaFrame(qc, 'appointment.reminder', { appointment: items[0], reminder_id: 'r1', minutes_before: 30 });
    });
    const toast = await screen.findByTestId('agenda-toast');
    expect(toast.textContent).toContain('Lembrete: Consulta a1 às 10:00');
    expect(toast.textContent).toContain('Com Maria Souza');
    expect(screen.getAllByTestId('agenda-toast').length).toBe(1);
  });

  it('shows a new ICS link once, with a copy button', async () => {
    renderPage();
    await screen.findByTestId('appt-a1');
    fireEvent.click(screen.getByTestId('ics-open'));
    await act(async () => {
      fireEvent.click(await screen.findByTestId('ics-generate'));
    });
    expect(((await screen.findByTestId('ics-url')) as HTMLInputElement).value).toBe('https://crm.example/ics/t/u1/secret1.ics');
    expect(screen.getByRole('button', { name: /Copiar/ })).toBeTruthy();
    expect(calls('POST').map(([u]) => String(u))).toEqual(['/api/v1/auth/me/calendar-feed']);
    fireEvent.click(screen.getAllByRole('button', { name: 'Fechar' })[0]);
    await waitFor(() => expect(screen.queryByTestId('ics-url')).toBeNull());
    // opened again: the link is gone; only a new one can be made
    fireEvent.click(screen.getByTestId('ics-open'));
    expect(await screen.findByTestId('ics-generate')).toBeTruthy();
    expect(screen.queryByTestId('ics-url')).toBeNull();
    expect(calls('POST').length).toBe(1);
  });

  it('shows the month with the appointment on its day and opens the day from it', async () => {
    renderPage('/agenda?date=2026-12-08&view=month');
    const cell = await screen.findByTestId('month-2026-12-08');
    expect(await within(cell).findByTestId('appt-a1')).toBeTruthy();
    const list = String(calls('GET').find(([u]) => String(u).startsWith('/api/v1/appointments'))?.[0]);
    const query = new URL(list, 'http://x').searchParams;
    expect(query.get('from')).toBe('2026-11-29T03:00:00.000Z');
    expect(query.get('to')).toBe('2027-01-10T03:00:00.000Z');
  });

  it('explains when the plan has no agenda', async () => {
    feature = false;
    renderPage();
    expect(await screen.findByTestId('agenda-upsell')).toBeTruthy();
    expect(screen.getByText('A agenda não está no plano da sua empresa.')).toBeTruthy();
  });
});
