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
