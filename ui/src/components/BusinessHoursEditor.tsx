import { Plus, Trash2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { WEEKDAYS, type BusinessHours, type Holiday, type Weekday } from '../api/types';
import { Button, Field, Input } from './ui';

/** Time zones offered first (any IANA name may be typed). */
export const BRAZIL_TIMEZONES = [
  'America/Sao_Paulo', 'America/Bahia', 'America/Fortaleza', 'America/Recife', 'America/Belem', 'America/Maceio',
  'America/Araguaina', 'America/Cuiaba', 'America/Campo_Grande', 'America/Manaus', 'America/Porto_Velho',
  'America/Boa_Vista', 'America/Rio_Branco', 'America/Noronha',
];

export const DEFAULT_TIMEZONE = 'America/Sao_Paulo';

/** A usual week: Monday to Friday, 08:00 to 18:00, São Paulo time. */
export function defaultBusinessHours(): BusinessHours {
  const day: [string, string][] = [['08:00', '18:00']];
  return { timezone: DEFAULT_TIMEZONE, days: { mon: day, tue: day, wed: day, thu: day, fri: day }, holidays: [] };
}

/** A holiday every year is stored as MM-DD; the date input needs a year. */
const everyYear = (h: Holiday) => /^\d{2}-\d{2}$/.test(h.date);
const dateInputValue = (h: Holiday) => (everyYear(h) ? `${new Date().getFullYear()}-${h.date}` : h.date);

/**
 * The weekly calendar editor: each weekday closed or open in one or more
 * intervals, the time zone and the holidays. errors are the server's field
 * errors, keyed as it names them under prefix (e.g. "business_hours.days.mon[0]").
 */
export function BusinessHoursEditor({ value, onChange, errors = {}, prefix = 'business_hours.', disabled, idPrefix = 'hours' }: {
  value: BusinessHours;
  onChange: (v: BusinessHours) => void;
  errors?: Record<string, string>;
  prefix?: string;
  disabled?: boolean;
  idPrefix?: string;
}) {
  const { t } = useTranslation();
  const days = value.days ?? {};
  const holidays = value.holidays ?? [];
  const setDay = (day: Weekday, spans: [string, string][] | null) => {
    const next = { ...days };
    if (spans && spans.length) next[day] = spans;
    else delete next[day];
    onChange({ ...value, days: next });
  };
  const setHolidays = (list: Holiday[]) => onChange({ ...value, holidays: list });
  const err = (key: string) => errors[prefix + key];
  return (
    <div className="space-y-4" data-testid={`${idPrefix}-editor`}>
      <Field label={t('hours.timezone')} htmlFor={`${idPrefix}-tz`} error={err('timezone')} hint={t('hours.timezone_hint')}>
        <Input id={`${idPrefix}-tz`} className="max-w-xs" list={`${idPrefix}-tz-list`} value={value.timezone} disabled={disabled} invalid={!!err('timezone')}
          onChange={(e) => onChange({ ...value, timezone: e.target.value.trim() })} placeholder={DEFAULT_TIMEZONE} />
        <datalist id={`${idPrefix}-tz-list`}>{BRAZIL_TIMEZONES.map((z) => <option key={z} value={z} />)}</datalist>
      </Field>
      <fieldset>
        <legend className="mb-1 text-sm font-medium text-gray-700">{t('hours.week')}</legend>
        {err('days') && <p className="text-xs text-red-600" role="alert">{err('days')}</p>}
        <ul className="divide-y divide-gray-100 rounded-lg border border-gray-200">
          {WEEKDAYS.map((day) => {
            const spans = days[day] ?? [];
            const open = spans.length > 0;
            return (
              <li key={day} className="flex flex-wrap items-start gap-3 px-3 py-2" data-testid={`${idPrefix}-day-${day}`}>
                <label className="flex w-32 items-center gap-2 pt-1.5 text-sm">
                  <input type="checkbox" className="h-4 w-4 accent-brand-600" checked={open} disabled={disabled}
                    onChange={(e) => setDay(day, e.target.checked ? [['08:00', '18:00']] : null)} aria-label={t('hours.open_on', { day: t(`hours.days.${day}`) })} />
                  <span className="font-medium text-gray-800">{t(`hours.days.${day}`)}</span>
                </label>
                <div className="min-w-0 flex-1 space-y-1.5">
                  {!open && <p className="pt-1.5 text-sm text-gray-500">{t('hours.closed')}</p>}
                  {spans.map((span, i) => {
                    const e = err(`days.${day}[${i}]`);
                    const label = t(`hours.days.${day}`);
                    return (
                      <div key={i}>
                        <div className="flex items-center gap-2">
                          <div className="w-32"><Input type="time" value={span[0]} disabled={disabled} invalid={!!e} aria-label={t('hours.from', { day: label, n: i + 1 })}
                            onChange={(ev) => setDay(day, spans.map((s, j) => (j === i ? [ev.target.value, s[1]] : s)))} /></div>
                          <span className="text-sm text-gray-500">{t('hours.to')}</span>
                          <div className="w-32"><Input type="time" value={span[1]} disabled={disabled} invalid={!!e} aria-label={t('hours.until', { day: label, n: i + 1 })}
                            onChange={(ev) => setDay(day, spans.map((s, j) => (j === i ? [s[0], ev.target.value] : s)))} /></div>
                          {!disabled && (
                            <Button type="button" variant="ghost" size="sm" onClick={() => setDay(day, spans.filter((_, j) => j !== i))} aria-label={t('hours.remove_interval', { day: label, n: i + 1 })}>
                              <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                            </Button>
                          )}
                        </div>
                        {e && <p className="text-xs text-red-600" role="alert" data-field-error={`${prefix}days.${day}[${i}]`}>{e}</p>}
                      </div>
                    );
                  })}
                  {open && !disabled && (
                    <Button type="button" variant="ghost" size="sm" onClick={() => setDay(day, [...spans, ['13:00', '18:00']])} aria-label={t('hours.add_interval_on', { day: t(`hours.days.${day}`) })}>
                      <Plus className="h-4 w-4" aria-hidden /> {t('hours.add_interval')}
                    </Button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      </fieldset>
      <fieldset>
        <legend className="mb-1 text-sm font-medium text-gray-700">{t('hours.holidays')}</legend>
        <p className="mb-2 text-xs text-gray-500">{t('hours.holidays_hint')}</p>
        {err('holidays') && <p className="text-xs text-red-600" role="alert">{err('holidays')}</p>}
        {holidays.length === 0 && <p className="text-sm text-gray-500">{t('hours.no_holidays')}</p>}
        <ul className="space-y-2">
          {holidays.map((h, i) => {
            const dateErr = err(`holidays[${i}].date`);
            const nameErr = err(`holidays[${i}].name`);
            const update = (patch: Partial<Holiday>) => setHolidays(holidays.map((x, j) => (j === i ? { ...x, ...patch } : x)));
            return (
              <li key={i} data-testid={`${idPrefix}-holiday`}>
                <div className="flex flex-wrap items-center gap-2">
                  <div className="w-44"><Input type="date" value={dateInputValue(h)} disabled={disabled} invalid={!!dateErr} aria-label={t('hours.holiday_date', { n: i + 1 })}
                    onChange={(e) => update({ date: everyYear(h) ? e.target.value.slice(5) : e.target.value })} /></div>
                  <div className="min-w-[10rem] flex-1"><Input value={h.name} disabled={disabled} invalid={!!nameErr} placeholder={t('hours.holiday_name_placeholder')} aria-label={t('hours.holiday_name', { n: i + 1 })}
                    onChange={(e) => update({ name: e.target.value })} /></div>
                  <label className="flex items-center gap-1.5 text-sm text-gray-700">
                    <input type="checkbox" className="h-4 w-4 accent-brand-600" checked={everyYear(h)} disabled={disabled || !h.date}
                      onChange={(e) => update({ date: e.target.checked ? dateInputValue(h).slice(5) : dateInputValue(h) })} />
                    {t('hours.every_year')}
                  </label>
                  {!disabled && (
                    <Button type="button" variant="ghost" size="sm" onClick={() => setHolidays(holidays.filter((_, j) => j !== i))} aria-label={t('hours.remove_holiday', { n: i + 1 })}>
                      <Trash2 className="h-4 w-4 text-red-600" aria-hidden />
                    </Button>
                  )}
                </div>
                {(dateErr || nameErr) && <p className="text-xs text-red-600" role="alert">{dateErr || nameErr}</p>}
              </li>
            );
          })}
        </ul>
        {!disabled && (
          <Button type="button" variant="outline" size="sm" className="mt-2" onClick={() => setHolidays([...holidays, { date: '', name: '' }])}>
            <Plus className="h-4 w-4" aria-hidden /> {t('hours.add_holiday')}
          </Button>
        )}
      </fieldset>
    </div>
  );
}

