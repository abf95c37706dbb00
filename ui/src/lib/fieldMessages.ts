import i18n from '../i18n';

// The API's field messages are English sentences; the console shows the ones
// it knows in the user's language and the rest as they came.
const patterns: [RegExp, string][] = [
  // agenda (issue 19): appointments and their reminders
  [/between 5 and 1440 minutes/i, 'agenda.field_duration'],
  [/between 0 and 43200 \(30 days\)/i, 'agenda.field_minutes_before'],
  [/reminder to the contact needs/i, 'agenda.field_contact_reminder'],
  [/reminder to the assignee needs/i, 'agenda.field_assignee_reminder'],
  [/at most 10 reminders/i, 'agenda.field_max_reminders'],
  [/^does not exist$/i, 'agenda.field_missing'],
  // routing (issue 18): business hours, auto-close, team distribution
  [/HH:MM.*start before the end/i, 'fields.hours_interval'],
  [/IANA time zone/i, 'fields.timezone'],
  [/YYYY-MM-DD, or MM-DD/i, 'fields.holiday_date'],
  [/needs business hours/i, 'fields.needs_hours'],
  [/between 0 \(never\) and 2160/i, 'fields.idle_hours'],
  [/between 0 \(no cap\) and 1000/i, 'fields.max_open'],
  [/between 0 \(none\) and 43200/i, 'fields.sla_minutes'],
  // CSV import rows and other sentences that mention a word a general pattern below also matches
  [/has (\d+) cells but the header names (\d+) columns/i, 'fields.import_cells'],
  [/is required: the phone identifies the contact/i, 'fields.import_phone_required'],
  [/not valid CSV/i, 'fields.import_bad_row'],
  [/plan's contact limit/i, 'fields.import_plan_limit'],
  [/could not be saved/i, 'fields.import_not_saved'],
  [/label (".*") must be text of at most (\d+) characters/i, 'fields.label_too_long'],
  [/at most (\d+) labels/i, 'fields.max_labels'],
  [/at most (\d+) custom fields/i, 'fields.max_custom_fields'],
  [/is not a label id/i, 'fields.label_id'],
  [/without control characters|must be valid text/i, 'fields.plain_text'],
  [/string, number, boolean or null/i, 'fields.custom_value'],
  [/must be in the future/i, 'fields.future'],
  [/must not be in the past/i, 'fields.not_past'],
  [/IP address|IPv4|IPv6/i, 'fields.ip'],
  [/^is required/i, 'fields.required'],
  [/valid email/i, 'fields.email'],
  [/at least (\d+) characters/i, 'fields.min_length'],
  [/at most (\d+) characters/i, 'fields.max_length'],
  [/hex colou?r/i, 'fields.color'],
  [/1 to 40 of a-z/i, 'fields.shortcut'],
  // The specific sentences first: "a contact with this phone number already
  // exists" is a clash, not an invalid phone.
  [/a name, phone or email is required/i, 'fields.name_phone_email'],
  [/already|taken|in use|exists/i, 'fields.taken'],
  [/phone/i, 'fields.phone'],
  [/TENANT_ADMIN, SUPERVISOR or AGENT/i, 'fields.role'],
  [/amount of at most 12 digits/i, 'fields.money'],
  [/keys start with a letter/i, 'fields.custom_key'],
  [/RFC 3339|valid time|date/i, 'fields.date'],
];

export function translateFieldMessage(message: string): string {
  for (const [re, key] of patterns) {
    const m = re.exec(message);
    if (m) return i18n.t(key, { n: m[1], m: m[2] });
  }
  return message ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

export function translateFieldErrors(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, translateFieldMessage(String(v))]));
}
