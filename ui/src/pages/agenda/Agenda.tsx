import { useMutation, useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { CalendarDays, ChevronLeft, ChevronRight, Link2, Plus, TriangleAlert, X } from 'lucide-react';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { agenda, type Appointment, type AppointmentStatus } from '../../api/agenda';
import { users as usersApi } from '../../api/endpoints';
import { CopyButton } from '../../components/CopyButton';
import { PageBody } from '../../components/Shell';
import { Alert, Button, Card, EmptyState, ErrorState, Input, Modal, Select, SkeletonRows, useErrorText } from '../../components/ui';
import {
  agendaDisabled, DAY_END_MIN, DAY_START_MIN, formatDay, formatTime, hhmm, listKey, placeDay, shiftDay, SLOT_MIN, today, viewDays, viewRange, zoned,
  type AgendaView,
} from '../../lib/agenda';
import { useAuth } from '../../store/auth';
import { AppointmentDialog, type NewAppointment } from './AppointmentDialog';

const SLOT_PX = 40;
const VIEWS: AgendaView[] = ['day', 'week', 'month'];

const statusStyle: Record<AppointmentStatus, string> = {
  scheduled: 'border-brand-500 bg-brand-50 text-brand-900',
  confirmed: 'border-emerald-600 bg-emerald-50 text-emerald-900',
  cancelled: 'border-gray-300 bg-gray-50 text-gray-500 line-through',
  done: 'border-sky-600 bg-sky-50 text-sky-900',
  no_show: 'border-amber-600 bg-amber-50 text-amber-900',
};

/**
 * The agenda console: day, week and month views of the appointments (times
 * in America/Sao_Paulo), booking by clicking a slot, editing by clicking an
 * appointment, a filter by assignee and the secret ICS link.
 */
export default function AgendaPage() {
  const { t, i18n } = useTranslation();
  const meId = useAuth((s) => s.user?.id) ?? '';
  const [params, setParams] = useSearchParams();
  const view: AgendaView = VIEWS.includes(params.get('view') as AgendaView) ? (params.get('view') as AgendaView) : 'week';
  const day = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') ?? '') ? params.get('date')! : today();
  const who = params.get('who') ?? 'me'; // me, all or a user id
  const assignee = who === 'all' ? '' : who;
  const range = viewRange(view, day);
  const q = useQuery({
    queryKey: listKey(range.from, range.to, assignee),
    queryFn: () => agenda.list({ ...range, assignee_id: assignee || undefined }),
    retry: false,
  });
  const usersQ = useQuery({ queryKey: ['users'], queryFn: () => usersApi.list(), retry: false, staleTime: 60_000 });
  const [creating, setCreating] = useState<NewAppointment | null>(null);
  const [editing, setEditing] = useState<Appointment | null>(null);
  const [overlap, setOverlap] = useState<Appointment | null>(null);
  const [ics, setIcs] = useState(false);
  const set = (changes: Record<string, string>) => setParams((p) => { for (const [k, v] of Object.entries(changes)) p.set(k, v); return p; }, { replace: true });
  const items = q.data ?? [];
  const days = viewDays(view, day);
  const userName = useMemo(() => new Map((usersQ.data ?? []).map((u) => [u.id, u.name])), [usersQ.data]);
  const saved = (a: Appointment) => setOverlap((a.overlaps ?? []).length > 0 ? a : null);

  if (q.isError && agendaDisabled(q.error)) {
    return (
      <PageBody>
        <div className="mx-auto max-w-3xl" data-testid="agenda-upsell">
          <Card><EmptyState icon={<CalendarDays className="h-6 w-6" aria-hidden />} title={t('agenda.not_in_plan')} description={t('agenda.upsell')} /></Card>
        </div>
      </PageBody>
    );
  }
  const heading = view === 'month'
    ? formatDay(day, i18n.language, { month: 'long', year: 'numeric' })
    : view === 'week'
      ? `${formatDay(days[0], i18n.language, { day: 'numeric', month: 'short' })} – ${formatDay(days[6], i18n.language, { day: 'numeric', month: 'short', year: 'numeric' })}`
      : formatDay(day, i18n.language, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  return (
    <div className="flex h-full flex-col">
      <header className="flex flex-wrap items-center gap-2 border-b border-gray-200 bg-white px-3 py-2 sm:px-4">
        <h1 className="mr-2 text-lg font-semibold text-gray-900">{t('agenda.title')}</h1>
        <div className="flex items-center gap-1">
          <Button size="sm" variant="outline" onClick={() => set({ date: today() })}>{t('agenda.today')}</Button>
          <Button size="sm" variant="ghost" aria-label={t('agenda.previous')} onClick={() => set({ date: shiftDay(view, day, -1) })}><ChevronLeft className="h-4 w-4" aria-hidden /></Button>
          <Button size="sm" variant="ghost" aria-label={t('agenda.next')} onClick={() => set({ date: shiftDay(view, day, 1) })}><ChevronRight className="h-4 w-4" aria-hidden /></Button>
        </div>
        <p className="text-sm font-medium text-gray-700" data-testid="agenda-heading">{heading}</p>
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <div className="inline-flex rounded-lg border border-gray-200 p-0.5" role="group" aria-label={t('agenda.views')}>
            {VIEWS.map((v) => (
              <button key={v} type="button" aria-pressed={v === view} onClick={() => set({ view: v })} data-testid={`view-${v}`}
                className={clsx('rounded-md px-2.5 py-1 text-sm', v === view ? 'bg-brand-500 text-white' : 'text-gray-700 hover:bg-gray-100')}>
                {t(`agenda.view.${v}`)}
              </button>
            ))}
          </div>
          <Select aria-label={t('agenda.filter')} className="!w-auto" value={who} onChange={(e) => set({ who: e.target.value })} data-testid="agenda-filter">
            <option value="me">{t('agenda.mine')}</option>
            <option value="all">{t('agenda.everyone')}</option>
            {(usersQ.data ?? []).filter((u) => u.id !== meId && u.active !== false).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
          </Select>
          <Button size="sm" variant="outline" onClick={() => setIcs(true)} data-testid="ics-open"><Link2 className="h-4 w-4" aria-hidden /> {t('agenda.ics')}</Button>
          <Button size="sm" onClick={() => setCreating({ day, minutes: 9 * 60 })} data-testid="agenda-new"><Plus className="h-4 w-4" aria-hidden /> {t('agenda.new')}</Button>
        </div>
      </header>
      {overlap && (
        <div className="border-b border-amber-200 bg-amber-50 px-3 py-2 sm:px-4" role="alert" data-testid="overlap-warning">
          <div className="flex items-start gap-2 text-sm text-amber-900">
            <TriangleAlert className="mt-0.5 h-4 w-4 shrink-0" aria-hidden />
            <p className="flex-1">{t('agenda.overlap_warning', { count: (overlap.overlaps ?? []).length, title: overlap.title })}</p>
            <button type="button" className="rounded p-0.5 hover:bg-amber-100" aria-label={t('agenda.dismiss')} onClick={() => setOverlap(null)}><X className="h-4 w-4" aria-hidden /></button>
          </div>
        </div>
      )}
      {q.isPending ? (
        <SkeletonRows />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : view === 'month' ? (
        <MonthGrid day={day} days={days} items={items} onDay={(d) => set({ view: 'day', date: d })} onSlot={(d) => setCreating({ day: d, minutes: 9 * 60 })} onOpen={setEditing} />
      ) : (
        <TimeGrid days={days} items={items} userName={who === 'all' ? userName : undefined} onSlot={(d, m) => setCreating({ day: d, minutes: m })} onOpen={setEditing} />
      )}
      {creating && <AppointmentDialog initial={creating} onClose={() => setCreating(null)} onSaved={saved} />}
      {editing && <AppointmentDialog key={editing.id} appointment={editing} onClose={() => setEditing(null)} onSaved={saved} />}
      {ics && <CalendarFeedDialog onClose={() => setIcs(false)} />}
    </div>
  );
}

function AppointmentChip({ a, userName, compact, onOpen }: { a: Appointment; userName?: Map<string, string>; compact?: boolean; onOpen: (a: Appointment) => void }) {
  const { t } = useTranslation();
  const who = userName && a.assignee_id ? userName.get(a.assignee_id) : undefined;
  return (
    <button type="button" onClick={(e) => { e.stopPropagation(); onOpen(a); }} data-testid={`appt-${a.id}`}
      title={`${formatTime(a.starts_at)} ${a.title}${a.contact_name ? ` — ${a.contact_name}` : ''} (${t(`agenda.status.${a.status}`)})`}
      className={clsx('h-full w-full overflow-hidden rounded-md border-l-4 px-1.5 py-0.5 text-left text-xs shadow-sm hover:brightness-95 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500', statusStyle[a.status] ?? statusStyle.scheduled)}>
      <span className="font-semibold tabular-nums" data-testid="appt-time">{formatTime(a.starts_at)}</span> <span className="font-medium">{a.title}</span>
      {!compact && a.contact_name && <span className="block truncate">{a.contact_name}</span>}
      {!compact && who && <span className="block truncate opacity-75">{who}</span>}
    </button>
  );
}

/** The day and week views: a column per day, a row per half hour from 07:00 to 21:00, appointments placed by time. */
function TimeGrid({ days, items, userName, onSlot, onOpen }: {
  days: string[]; items: Appointment[]; userName?: Map<string, string>; onSlot: (day: string, minutes: number) => void; onOpen: (a: Appointment) => void;
}) {
  const { t, i18n } = useTranslation();
  const slots: number[] = [];
  for (let m = DAY_START_MIN; m < DAY_END_MIN; m += SLOT_MIN) slots.push(m);
  const now = zoned(new Date());
  const cols = { gridTemplateColumns: `3.5rem repeat(${days.length}, minmax(0, 1fr))` };
  return (
    <div className="min-h-0 flex-1 overflow-auto bg-white" data-testid="agenda-grid">
      <div className="sticky top-0 z-20 grid border-b border-gray-200 bg-white" style={cols}>
        <div />
        {days.map((d) => (
          <div key={d} className={clsx('px-1 py-1.5 text-center text-xs font-medium', d === now.day ? 'text-brand-700' : 'text-gray-600')} data-testid={`day-${d}`}>
            {formatDay(d, i18n.language, { weekday: 'short', day: 'numeric', month: days.length === 1 ? 'long' : undefined })}
          </div>
        ))}
      </div>
      <div className="grid" style={cols}>
        <div>
          {slots.map((m) => (
            <div key={m} className="pr-1 text-right text-[11px] tabular-nums text-gray-400" style={{ height: SLOT_PX }}>{m % 60 === 0 ? hhmm(m) : ''}</div>
          ))}
        </div>
        {days.map((d) => (
          <div key={d} className="relative border-l border-gray-100" data-testid={`column-${d}`}>
            {slots.map((m) => (
              <button key={m} type="button" onClick={() => onSlot(d, m)} data-testid={`slot-${d}-${hhmm(m)}`}
                aria-label={t('agenda.slot', { when: `${formatDay(d, i18n.language, { weekday: 'short', day: 'numeric', month: 'short' })} ${hhmm(m)}` })}
                className={clsx('block w-full border-gray-100 hover:bg-brand-50 focus:outline-none focus-visible:bg-brand-50', m % 60 === 0 ? 'border-t' : 'border-t border-dashed')}
                style={{ height: SLOT_PX }} />
            ))}
            {placeDay(items, d).map((p) => (
              <div key={p.appt.id} className="absolute z-10 p-px" data-testid={`placed-${p.appt.id}`}
                style={{ top: p.top * SLOT_PX, height: p.height * SLOT_PX, left: `${(p.lane / p.lanes) * 100}%`, width: `${100 / p.lanes}%` }}>
                <AppointmentChip a={p.appt} userName={userName} compact={p.height < 1.5} onOpen={onOpen} />
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}

/** The month view: six weeks of days, each with its first appointments. */
function MonthGrid({ day, days, items, onDay, onSlot, onOpen }: {
  day: string; days: string[]; items: Appointment[]; onDay: (d: string) => void; onSlot: (d: string) => void; onOpen: (a: Appointment) => void;
}) {
  const { t, i18n } = useTranslation();
  const byDay = new Map<string, Appointment[]>();
  for (const a of items) {
    const d = zoned(a.starts_at).day;
    byDay.set(d, [...(byDay.get(d) ?? []), a]);
  }
  const month = day.slice(0, 7);
  const now = today();
  return (
    <div className="min-h-0 flex-1 overflow-auto bg-white" data-testid="agenda-month">
      <div className="grid grid-cols-7 border-b border-gray-200 text-center text-xs font-medium text-gray-600">
        {days.slice(0, 7).map((d) => <div key={d} className="py-1.5">{formatDay(d, i18n.language, { weekday: 'short' })}</div>)}
      </div>
      <div className="grid grid-cols-7 grid-rows-6">
        {days.map((d) => {
          const list = byDay.get(d) ?? [];
          return (
            <div key={d} className={clsx('relative min-h-24 border-b border-l border-gray-100 p-1', d.slice(0, 7) !== month && 'bg-gray-50')} data-testid={`month-${d}`}>
              <button type="button" className="absolute inset-0 hover:bg-brand-50/50 focus:outline-none focus-visible:bg-brand-50" onClick={() => onSlot(d)}
                aria-label={t('agenda.slot', { when: formatDay(d, i18n.language, { weekday: 'short', day: 'numeric', month: 'short' }) })} />
              <div className="relative z-10 flex justify-end">
                <button type="button" onClick={() => onDay(d)} className={clsx('rounded-full px-1.5 text-xs tabular-nums hover:bg-gray-200', d === now ? 'bg-brand-500 font-semibold text-white' : 'text-gray-700')}
                  aria-label={formatDay(d, i18n.language, { weekday: 'long', day: 'numeric', month: 'long' })}>
                  {Number(d.slice(8))}
                </button>
              </div>
              <ul className="relative z-10 mt-0.5 space-y-0.5">
                {list.slice(0, 3).map((a) => <li key={a.id}><AppointmentChip a={a} compact onOpen={onOpen} /></li>)}
              </ul>
              {list.length > 3 && (
                <button type="button" className="relative z-10 mt-0.5 text-xs text-brand-700 hover:underline" onClick={() => onDay(d)}>{t('agenda.more', { count: list.length - 3 })}</button>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** The secret ICS feed: a new link on request, shown once with a copy button (the previous link stops working). */
function CalendarFeedDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const errText = useErrorText();
  const feed = useMutation({ mutationFn: agenda.calendarFeed });
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={t('agenda.ics_title')} description={t('agenda.ics_description')}>
      <div className="space-y-3">
        {feed.data ? (
          <>
            <Alert kind="warning">{t('agenda.ics_once')}</Alert>
            <div className="flex items-center gap-2">
              <Input readOnly value={feed.data.url} aria-label={t('agenda.ics')} data-testid="ics-url" onFocus={(e) => e.currentTarget.select()} />
              <CopyButton text={feed.data.url} />
            </div>
          </>
        ) : (
          <Button onClick={() => feed.mutate()} loading={feed.isPending} data-testid="ics-generate"><Link2 className="h-4 w-4" aria-hidden /> {t('agenda.ics_generate')}</Button>
        )}
        {feed.isError && <Alert>{errText(feed.error)}</Alert>}
        <div className="flex justify-end">
          <Button type="button" variant="outline" onClick={onClose}>{t('common.close')}</Button>
        </div>
      </div>
    </Modal>
  );
}
