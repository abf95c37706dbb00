// The agenda routes (issue 19): appointments with their reminders, and each
// user's secret ICS feed.
import { api } from './index';
import type { Page } from './types';

export type AppointmentStatus = 'scheduled' | 'confirmed' | 'cancelled' | 'done' | 'no_show';
export const APPOINTMENT_STATUSES: AppointmentStatus[] = ['scheduled', 'confirmed', 'cancelled', 'done', 'no_show'];

export type ReminderTarget = 'contact' | 'assignee';

export interface Reminder {
  id: string;
  minutes_before: number;
  to: ReminderTarget;
  remind_at: string;
  status: 'pending' | 'sent' | 'failed' | 'cancelled' | string;
  sent_at: string | null;
  error: unknown;
}

export interface ReminderSpec { minutes_before: number; to: ReminderTarget }

export interface ReminderTemplate { name: string; language: { code: string }; components?: unknown[] }

export interface Appointment {
  id: string;
  title: string;
  description: string;
  contact_id: string | null;
  contact_name: string | null;
  assignee_id: string | null;
  connection_id: string | null;
  starts_at: string;
  duration_min: number;
  status: AppointmentStatus;
  reminder_template: ReminderTemplate | null;
  reminders: Reminder[] | null;
  /** The assignee's other appointments at the same time: a warning, the booking is kept. */
  overlaps: string[] | null;
  created_at?: string;
  updated_at?: string;
}

export interface AppointmentInput {
  title: string;
  description?: string;
  contact_id?: string | null;
  assignee_id?: string | null;
  connection_id?: string | null;
  starts_at: string;
  duration_min?: number;
  status?: AppointmentStatus;
  reminders?: ReminderSpec[];
  reminder_template?: ReminderTemplate | null;
}
/** Only the fields present change; null clears contact_id, assignee_id, connection_id and reminder_template. */
export type AppointmentPatch = Partial<AppointmentInput>;

export interface AppointmentFilter {
  from: string; // RFC 3339
  to: string; // at most 93 days after from
  assignee_id?: string; // a user id or "me"
  contact_id?: string;
}

const clean = (f: AppointmentFilter) => Object.fromEntries(Object.entries(f).filter(([, v]) => v)) as Record<string, string>;

export const agenda = {
  list: (f: AppointmentFilter) => api.get<Page<Appointment>>('/api/v1/appointments', { query: clean(f) }).then((p) => p?.items ?? []),
  get: (id: string) => api.get<Appointment>(`/api/v1/appointments/${id}`),
  create: (body: AppointmentInput) => api.post<Appointment>('/api/v1/appointments', body),
  update: (id: string, body: AppointmentPatch) => api.patch<Appointment>(`/api/v1/appointments/${id}`, body),
  remove: (id: string) => api.delete<void>(`/api/v1/appointments/${id}`),
  /** A new secret feed URL; the previous one stops working. Shown once. */
  calendarFeed: () => api.post<{ url: string }>('/api/v1/auth/me/calendar-feed', {}),
};
