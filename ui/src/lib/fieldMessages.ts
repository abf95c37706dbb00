import i18n from '../i18n';

// The API's field messages are English sentences; the console shows the ones
// it knows in the user's language and the rest as they came.
const patterns: [RegExp, string][] = [
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
  [/IP address/i, 'fields.ip'],
];

export function translateFieldMessage(message: string): string {
  for (const [re, key] of patterns) {
    const m = re.exec(message);
    if (m) return i18n.t(key, { n: m[1] });
  }
  return message ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

export function translateFieldErrors(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, translateFieldMessage(String(v))]));
}
