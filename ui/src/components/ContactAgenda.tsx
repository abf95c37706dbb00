import { useQuery } from '@tanstack/react-query';
import { CalendarDays, Plus } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { agenda } from '../api/agenda';
import type { Conversation } from '../api/types';
import { agendaDisabled, contactKey, formatWhen, zoned } from '../lib/agenda';
import { AppointmentDialog } from '../pages/agenda/AppointmentDialog';
import { Alert, Button } from './ui';

/**
 * The contact's upcoming appointments (the next 93 days), and "Agendar" with
 * the contact and the open conversation's connection filled in. Hidden
 * without the plan's agenda.
 */
export function ContactAgenda({ conversation }: { conversation: Conversation }) {
  const { t, i18n } = useTranslation();
  const contactId = conversation.contact_id;
  const q = useQuery({
    queryKey: contactKey(contactId),
    queryFn: () => {
      const now = new Date();
      return agenda.list({ contact_id: contactId, from: now.toISOString(), to: new Date(now.getTime() + 93 * 86_400_000).toISOString() });
    },
    enabled: !!contactId,
    retry: false,
  });
  const [booking, setBooking] = useState(false);
  const [overlaps, setOverlaps] = useState(0);
  // nothing until the server says whether the plan has the agenda
  if (!contactId || q.isPending || agendaDisabled(q.error)) return null;
  const items = q.data ?? [];
  const start = zoned(new Date(Date.now() + 86_400_000));
  return (
    <section className="border-b border-gray-100 px-4 py-3" data-testid="contact-agenda">
      <div className="mb-2 flex items-center justify-between gap-2">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-gray-500">{t('agenda.contact_section')}</h3>
        <Button size="sm" variant="outline" onClick={() => setBooking(true)} data-testid="contact-book">
          <Plus className="h-4 w-4" aria-hidden /> {t('agenda.schedule')}
        </Button>
      </div>
      {overlaps > 0 && <Alert kind="warning" className="mb-2"><span data-testid="overlap-warning">{t('agenda.overlap_short', { count: overlaps })}</span></Alert>}
      {items.length === 0 ? (
        <p className="text-sm text-gray-400">{t('agenda.contact_none')}</p>
      ) : (
        <ul className="space-y-1">
          {items.map((a) => (
            <li key={a.id}>
              <Link to={`/agenda?view=day&who=all&date=${zoned(a.starts_at).day}`} className="flex items-center gap-2 rounded-md px-2 py-1 text-sm hover:bg-gray-50" data-testid={`contact-appt-${a.id}`}>
                <CalendarDays className="h-4 w-4 shrink-0 text-gray-400" aria-hidden />
                <span className="min-w-0 flex-1 truncate">{a.title}</span>
                <span className={a.status === 'cancelled' ? 'shrink-0 text-xs text-gray-400 line-through' : 'shrink-0 text-xs tabular-nums text-gray-600'}>{formatWhen(a.starts_at, i18n.language)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {booking && (
        <AppointmentDialog
          initial={{
            day: start.day, minutes: 9 * 60,
            contact: { id: contactId, name: conversation.contact?.name || conversation.contact?.phone || '' },
            connectionId: conversation.connection_id || null,
          }}
          onClose={() => setBooking(false)}
          onSaved={(a) => setOverlaps((a.overlaps ?? []).length)}
        />
      )}
    </section>
  );
}
