import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from './en';
import { ptBR } from './pt-BR';

function flatten(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => (typeof v === 'object' && v ? flatten(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(name) && !/\.test\./.test(name) ? [p] : [];
  });
}

describe('translations', () => {
  const pt = new Set(flatten(ptBR));
  const plural = (k: string) => pt.has(k) || pt.has(`${k}_one`) || pt.has(`${k}_other`);

  it('pt-BR and en have the same keys', () => {
    expect(flatten(en).sort()).toEqual([...pt].sort());
  });

  it('every literal key the code asks for exists', () => {
    const missing: string[] = [];
    for (const file of sources(join(__dirname, '..'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-z0-9_.]+)'/g)) {
        if (!plural(m[1])) missing.push(`${file.split('/src/')[1]}: ${m[1]}`);
      }
      // template keys: every prefix before ${…} must be a known section
      for (const m of text.matchAll(/\bt\(\s*`([a-z0-9_.]+)\.\$\{/g)) {
        if (![...pt].some((k) => k.startsWith(`${m[1]}.`))) missing.push(`${file.split('/src/')[1]}: ${m[1]}.*`);
      }
    }
    expect(missing).toEqual([]);
  });
});

// Words that are the same in both languages (brands, loanwords, symbols): anything else
// left equal to the English text is an untranslated string in the pt-BR console.
const SAME_IN_BOTH = new Set([
  'WhatsApp', 'Instagram', 'Messenger', 'E-mail', 'Bot', 'API', 'Status', 'Supervisor', 'Emojis', 'Emoji', 'Latitude', 'Longitude',
  'Webhook', 'Webhooks', 'Token', 'Hostname', 'IP', 'Português (Brasil)', 'English', 'CSV', 'Sandbox', 'Meta', 'Kanban', 'Chatbot',
  'ID', 'URL', 'Total', 'Plano', 'Logo', 'uazapi', 'Evolution API', 'Agenda',
  'Offline', 'Manual',
]);

describe('pt-BR has no English left in it', () => {
  const enFlat = Object.fromEntries(flattenValues(en));
  const ptFlat = Object.fromEntries(flattenValues(ptBR));

  it('every pt-BR text differs from the English one unless it is a word both languages share', () => {
    const untranslated = Object.entries(ptFlat)
      .filter(([k, v]) => v === enFlat[k] && !SAME_IN_BOTH.has(v) && !/^[\s\d{}().,:;/#+%·…-]*$/.test(v.replace(/\{\{\w+\}\}/g, '')))
      .map(([k, v]) => `${k}: ${v}`);
    expect(untranslated).toEqual([]);
  });

  it('the strings the console once showed in English are in the bundle, in Portuguese', () => {
    const expected: Record<string, string> = {
      'nav.inbox': 'Conversas',
      'roles.SUPER_ADMIN': 'Dono da plataforma',
      'fields.ip': 'Informe um endereço IP válido.',
      'fields.import_cells': 'A linha tem {{n}} células, mas o cabeçalho tem {{m}} colunas.',
      'fields.import_phone_required': 'Informe o telefone: é ele que identifica o contato.',
      'errors.invalid_csv': 'O arquivo não é um CSV válido.',
    };
    for (const [k, v] of Object.entries(expected)) expect(ptFlat[k], k).toBe(v);
  });
});

function flattenValues(obj: object, prefix = ''): [string, string][] {
  return Object.entries(obj).flatMap(([k, v]) => (typeof v === 'object' && v ? flattenValues(v, `${prefix}${k}.`) : [[`${prefix}${k}`, String(v)] as [string, string]]));
}
