import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Ban, CheckCircle2, Plus, Trash2, UserX, X } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../api/client';
import { connections as connectionsApi, contacts, users as usersApi } from '../../api/endpoints';
import {
  agenda, APPOINTMENT_STATUSES, type Appointment, type AppointmentInput, type AppointmentPatch, type AppointmentStatus, type ReminderSpec, type ReminderTarget,
} from '../../api/agenda';
import { useConfirm } from '../../components/ConfirmDialog';
import { Alert, Button, Field, Input, Modal, Select, Textarea, useErrorText } from '../../components/ui';
import { formatWhen, fromZoned, hhmm, parseHHMM, zoned } from '../../lib/agenda';
import { translateFieldErrors } from '../../lib/fieldMessages';
import { useDebounced } from '../../lib/useDebounced';
import { useAuth } from '../../store/auth';

/** The reminder presets: a day, two hours, thirty minutes before. */
export const REMINDER_PRESETS = [1440, 120, 30];

/** What a new appointment starts with: a slot's day and time, and from a conversation its contact and connection. */
export interface NewAppointment {
  day: string;
  minutes: number;
  contact?: { id: string; name: string } | null;
  connectionId?: string | null;
}

const KNOWN_FIELDS = ['title', 'description', 'starts_at', 'duration_min', 'assignee_id', 'contact_id', 'connection_id', 'status', 'reminders'];

/**
 * The dialog that books an appointment (from a slot or a conversation) or
 * edits one: title, date and time (the agenda's zone), duration, assignee,
 * contact, connection, reminders and status; an edit also cancels, marks
 * done or no-show, and deletes.
 */
export function AppointmentDialog({ appointment, initial, onClose, onSaved }: {
  appointment?: Appointment | null;
  initial?: NewAppointment;
  onClose: () => void;
  onSaved?: (a: Appointment) => void;
}) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const errText = useErrorText();
  const [ask, askDialog] = useConfirm();
  const meId = useAuth((s) => s.user?.id) ?? '';
  const editing = !!appointment;
  const start = appointment ? zoned(appointment.starts_at) : { day: initial?.day ?? '', minutes: initial?.minutes ?? 9 * 60 };
  const pending: ReminderSpec[] = (appointment?.reminders ?? []).filter((r) => r.status === 'pending').map((r) => ({ minutes_before: r.minutes_before, to: r.to }));
  const [title, setTitle] = useState(appointment?.title ?? '');
  const [description, setDescription] = useState(appointment?.description ?? '');
  const [date, setDate] = useState(start.day);
  const [time, setTime] = useState(hhmm(start.minutes));
  const [duration, setDuration] = useState(String(appointment?.duration_min ?? 30));
  const [assignee, setAssignee] = useState(appointment ? (appointment.assignee_id ?? '') : meId);
  const [contact, setContact] = useState<{ id: string; name: string } | null>(
    appointment ? (appointment.contact_id ? { id: appointment.contact_id, name: appointment.contact_name ?? '' } : null) : (initial?.contact ?? null),
  );
  const [connection, setConnection] = useState(appointment ? (appointment.connection_id ?? '') : (initial?.connectionId ?? ''));
  const [status, setStatus] = useState<AppointmentStatus>(appointment?.status ?? 'scheduled');
  const [reminders, setReminders] = useState<ReminderSpec[]>(pending);
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 300);
  const found = useQuery({ queryKey: ['contacts', 'agenda-search', q], queryFn: () => contacts.page({ q, limit: 8 }), enabled: q.length > 1, retry: false });
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => usersApi.list(), retry: false, staleTime: 60_000 });
  const connQ = useQuery({ queryKey: ['connections'], queryFn: () => connectionsApi.list(), retry: false, staleTime: 60_000 });
  const users = usersQ.data ?? [];
  const conns = connQ.data ?? [];

  const minutes = parseHHMM(time);
  const startsAt = date && minutes !== null ? fromZoned(date, minutes).toISOString() : '';
  const durationMin = Number(duration);

  const done = (a: Appointment) => {
    void qc.invalidateQueries({ queryKey: ['agenda'] });
    onSaved?.(a);
    onClose();
  };
  const save = useMutation({
    mutationFn: () => {
      if (!appointment) {
        const body: AppointmentInput = {
          title: title.trim(), description, starts_at: startsAt, duration_min: durationMin, status,
          assignee_id: assignee || null, contact_id: contact?.id ?? null, connection_id: connection || null, reminders,
        };
        return agenda.create(body);
      }
      const patch: AppointmentPatch = {};
      if (title.trim() !== appointment.title) patch.title = title.trim();
      if (description !== appointment.description) patch.description = description;
      if (startsAt && new Date(startsAt).getTime() !== new Date(appointment.starts_at).getTime()) patch.starts_at = startsAt;
      if (durationMin !== appointment.duration_min) patch.duration_min = durationMin;
      if (status !== appointment.status) patch.status = status;
      if (assignee !== (appointment.assignee_id ?? '')) patch.assignee_id = assignee || null;
      if ((contact?.id ?? null) !== appointment.contact_id) patch.contact_id = contact?.id ?? null;
      if (connection !== (appointment.connection_id ?? '')) patch.connection_id = connection || null;
      if (JSON.stringify(reminders) !== JSON.stringify(pending)) patch.reminders = reminders;
      return Object.keys(patch).length ? agenda.update(appointment.id, patch) : Promise.resolve(appointment);
    },
    onSuccess: done,
  });
  const setState = useMutation({
    mutationFn: (s: AppointmentStatus) => agenda.update(appointment!.id, { status: s }),
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: () => agenda.remove(appointment!.id),
    onSuccess: () => { void qc.invalidateQueries({ queryKey: ['agenda'] }); onClose(); },
  });

  const fe = save.error instanceof ApiError ? translateFieldErrors(save.error.fieldErrors) : {};
  const unknownFields = Object.keys(fe).filter((k) => !KNOWN_FIELDS.includes(k.split(/[.[]/)[0]));
  const reminderErr = (i: number) => fe[`reminders[${i}].to`] || fe[`reminders[${i}].minutes_before`];
  const localErr = {
    starts_at: !date || minutes === null ? t('agenda.field_when') : undefined,
    duration_min: !Number.isInteger(durationMin) || durationMin < 5 || durationMin > 1440 ? t('agenda.field_duration') : undefined,
  };
  const invalid = !!(localErr.starts_at || localErr.duration_min);
  const label = (m: number) => (REMINDER_PRESETS.includes(m) ? t(`agenda.before_${m}`) : t('agenda.before_n', { n: m }));
  const addReminder = () => setReminders((rs) => [...rs, { minutes_before: REMINDER_PRESETS.find((p) => !rs.some((r) => r.minutes_before === p)) ?? 30, to: contact && connection ? 'contact' : 'assignee' }]);
  const setReminder = (i: number, r: Partial<ReminderSpec>) => setReminders((rs) => rs.map((x, j) => (j === i ? { ...x, ...r } : x)));
  const past = (appointment?.reminders ?? []).filter((r) => r.status !== 'pending');

  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={editing ? t('agenda.edit') : t('agenda.new')} wide>
      <form className="space-y-3" data-testid="appointment-form" onSubmit={(e) => { e.preventDefault(); if (!invalid) save.mutate(); }}>
        <Field label={t('agenda.field_title')} htmlFor="appt-title" error={fe.title}>
          <Input id="appt-title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} autoFocus invalid={!!fe.title} />
        </Field>
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3">
          <Field label={t('agenda.date')} htmlFor="appt-date" error={localErr.starts_at ?? fe.starts_at}>
            <Input id="appt-date" type="date" value={date} onChange={(e) => setDate(e.target.value)} required invalid={!!(localErr.starts_at ?? fe.starts_at)} />
          </Field>
          <Field label={t('agenda.time')} htmlFor="appt-time" hint={t('agenda.time_zone')}>
            <Input id="appt-time" type="time" step={300} value={time} onChange={(e) => setTime(e.target.value)} required />
          </Field>
          <Field label={t('agenda.duration')} htmlFor="appt-duration" error={localErr.duration_min ?? fe.duration_min}>
            <Input id="appt-duration" type="number" min={5} max={1440} step={5} value={duration} onChange={(e) => setDuration(e.target.value)} invalid={!!(localErr.duration_min ?? fe.duration_min)} />
          </Field>
        </div>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label={t('agenda.assignee')} htmlFor="appt-assignee" error={fe.assignee_id}>
            <Select id="appt-assignee" value={assignee} onChange={(e) => setAssignee(e.target.value)} invalid={!!fe.assignee_id}>
              <option value="">{t('agenda.nobody')}</option>
              {assignee && !users.some((u) => u.id === assignee) && <option value={assignee}>{assignee === meId ? t('agenda.me') : assignee}</option>}
              {users.filter((u) => u.active !== false || u.id === assignee).map((u) => <option key={u.id} value={u.id}>{u.id === meId ? `${u.name} (${t('agenda.me')})` : u.name}</option>)}
            </Select>
          </Field>
          <Field label={t('agenda.status_label')} htmlFor="appt-status" error={fe.status}>
            <Select id="appt-status" value={status} onChange={(e) => setStatus(e.target.value as AppointmentStatus)}>
              {APPOINTMENT_STATUSES.map((s) => <option key={s} value={s}>{t(`agenda.status.${s}`)}</option>)}
            </Select>
          </Field>
        </div>
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-gray-700">{t('agenda.contact')}</legend>
          {contact ? (
            <div className="flex items-center gap-2 text-sm">
              <span className="min-w-0 flex-1 truncate" data-testid="appt-contact">{contact.name || contact.id}</span>
              <Button type="button" size="sm" variant="ghost" onClick={() => setContact(null)}>{t('agenda.remove_contact')}</Button>
            </div>
          ) : (
            <>
              <Input aria-label={t('agenda.search_contact')} placeholder={t('agenda.search_contact')} value={search} onChange={(e) => setSearch(e.target.value)} />
              {(found.data?.items ?? []).length > 0 && (
                <ul className="mt-1 max-h-40 overflow-y-auto rounded-md border border-gray-200">
                  {(found.data?.items ?? []).map((c) => (
                    <li key={c.id}>
                      <button type="button" className="w-full px-3 py-1.5 text-left text-sm hover:bg-gray-100" onClick={() => { setContact({ id: c.id, name: c.name || c.phone || '' }); setSearch(''); }}>
                        {c.name || c.phone}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
          {fe.contact_id && <p className="mt-1 text-xs text-red-600">{fe.contact_id}</p>}
        </fieldset>
        <Field label={t('agenda.connection')} htmlFor="appt-connection" error={fe.connection_id} hint={t('agenda.connection_hint')}>
          <Select id="appt-connection" value={connection} onChange={(e) => setConnection(e.target.value)} invalid={!!fe.connection_id}>
            <option value="">{t('agenda.no_connection')}</option>
            {connection && !conns.some((c) => c.id === connection) && <option value={connection}>{connection}</option>}
            {conns.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </Select>
        </Field>
        <fieldset data-testid="appt-reminders">
          <legend className="mb-1 text-sm font-medium text-gray-700">{t('agenda.reminders')}</legend>
          {reminders.length === 0 && <p className="text-sm text-gray-400">{t('agenda.no_reminders')}</p>}
          <ul className="space-y-2">
            {reminders.map((r, i) => (
              <li key={i}>
                <div className="flex items-center gap-2">
                  <Select aria-label={t('agenda.reminder_when', { n: i + 1 })} value={String(r.minutes_before)} onChange={(e) => setReminder(i, { minutes_before: Number(e.target.value) })}>
                    {[...new Set([...REMINDER_PRESETS, r.minutes_before])].map((m) => <option key={m} value={m}>{label(m)}</option>)}
                  </Select>
                  <Select aria-label={t('agenda.reminder_to', { n: i + 1 })} value={r.to} onChange={(e) => setReminder(i, { to: e.target.value as ReminderTarget })}>
                    <option value="contact">{t('agenda.to_contact')}</option>
                    <option value="assignee">{t('agenda.to_assignee')}</option>
                  </Select>
                  <Button type="button" size="sm" variant="ghost" aria-label={t('agenda.remove_reminder')} onClick={() => setReminders((rs) => rs.filter((_, j) => j !== i))}>
                    <X className="h-4 w-4" aria-hidden />
                  </Button>
                </div>
                {reminderErr(i) && <p className="mt-1 text-xs text-red-600">{reminderErr(i)}</p>}
                {r.to === 'contact' && (!contact || !connection) && !reminderErr(i) && <p className="mt-1 text-xs text-amber-700">{t('agenda.contact_reminder_needs')}</p>}
              </li>
            ))}
          </ul>
          {fe.reminders && <p className="mt-1 text-xs text-red-600">{fe.reminders}</p>}
          {reminders.length < 10 && (
            <Button type="button" size="sm" variant="outline" className="mt-2" onClick={addReminder} data-testid="add-reminder">
              <Plus className="h-4 w-4" aria-hidden /> {t('agenda.add_reminder')}
            </Button>
          )}
          {past.length > 0 && (
            <ul className="mt-2 space-y-0.5 text-xs text-gray-500" data-testid="past-reminders">
              {past.map((r) => (
                <li key={r.id}>{label(r.minutes_before)} · {r.to === 'contact' ? t('agenda.to_contact') : t('agenda.to_assignee')} · {t(`agenda.reminder_status.${r.status === 'sent' ? 'sent' : 'failed'}`)}{r.sent_at ? ` ${formatWhen(r.sent_at, i18n.language)}` : ''}</li>
              ))}
            </ul>
          )}
        </fieldset>
        <Field label={t('agenda.description')} htmlFor="appt-description" error={fe.description}>
          <Textarea id="appt-description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        {save.isError && unknownFields.length > 0 && <Alert>{unknownFields.map((k) => `${k}: ${fe[k]}`).join('; ')}</Alert>}
        {save.isError && !Object.keys(fe).length && <Alert>{errText(save.error)}</Alert>}
        {setState.isError && <Alert>{errText(setState.error)}</Alert>}
        {remove.isError && <Alert>{errText(remove.error)}</Alert>}
        {appointment && (
          <div className="flex flex-wrap gap-2 border-t border-gray-100 pt-3">
            {appointment.status !== 'cancelled' && (
              <Button type="button" size="sm" variant="outline" loading={setState.isPending && setState.variables === 'cancelled'} onClick={() => setState.mutate('cancelled')} data-testid="appt-cancel">
                <Ban className="h-4 w-4" aria-hidden /> {t('agenda.cancel_appointment')}
              </Button>
            )}
            {appointment.status !== 'done' && (
              <Button type="button" size="sm" variant="outline" loading={setState.isPending && setState.variables === 'done'} onClick={() => setState.mutate('done')} data-testid="appt-done">
                <CheckCircle2 className="h-4 w-4" aria-hidden /> {t('agenda.mark_done')}
              </Button>
            )}
            {appointment.status !== 'no_show' && (
              <Button type="button" size="sm" variant="outline" loading={setState.isPending && setState.variables === 'no_show'} onClick={() => setState.mutate('no_show')} data-testid="appt-no-show">
                <UserX className="h-4 w-4" aria-hidden /> {t('agenda.mark_no_show')}
              </Button>
            )}
            <Button type="button" size="sm" variant="ghost" className="text-red-700" loading={remove.isPending} data-testid="appt-delete"
              onClick={async () => { if (await ask({ message: t('agenda.confirm_delete', { title: appointment.title }), confirmLabel: t('agenda.delete') })) remove.mutate(); }}>
              <Trash2 className="h-4 w-4" aria-hidden /> {t('agenda.delete')}
            </Button>
          </div>
        )}
        <div className="flex justify-end gap-2">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" loading={save.isPending} disabled={invalid} data-testid="appt-save">{editing ? t('common.save') : t('common.create')}</Button>
        </div>
      </form>
      {askDialog}
    </Modal>
  );
}
