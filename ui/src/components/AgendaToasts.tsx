import { BellRing, X } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { formatTime, useAgendaToasts, zoned } from '../lib/agenda';

/** The signed-in user's appointment reminders (appointment.reminder), until dismissed. */
export function AgendaToasts() {
  const { t } = useTranslation();
  const toasts = useAgendaToasts((s) => s.toasts);
  const dismiss = useAgendaToasts((s) => s.dismiss);
  if (toasts.length === 0) return null;
  return (
    <div className="pointer-events-none fixed bottom-16 right-3 z-50 flex w-80 max-w-[calc(100vw-1.5rem)] flex-col gap-2 md:bottom-4" aria-live="polite">
      {toasts.map((x) => (
        <div key={x.id} role="status" className="pointer-events-auto flex items-start gap-2 rounded-lg border border-brand-100 bg-white p-3 text-sm shadow-lg" data-testid="agenda-toast">
          <BellRing className="mt-0.5 h-4 w-4 shrink-0 text-brand-600" aria-hidden />
          <div className="min-w-0 flex-1">
            <p className="font-medium text-gray-900">{t('agenda.reminder_toast', { title: x.appointment.title, time: formatTime(x.appointment.starts_at) })}</p>
            {x.appointment.contact_name && <p className="truncate text-gray-600">{t('agenda.reminder_with', { name: x.appointment.contact_name })}</p>}
            <Link to={`/agenda?view=day&date=${zoned(x.appointment.starts_at).day}`} className="text-xs text-brand-700 hover:underline" onClick={() => dismiss(x.id)}>{t('agenda.open_agenda')}</Link>
          </div>
          <button type="button" className="rounded p-0.5 text-gray-500 hover:bg-gray-100" aria-label={t('common.close')} onClick={() => dismiss(x.id)}><X className="h-4 w-4" aria-hidden /></button>
        </div>
      ))}
    </div>
  );
}
