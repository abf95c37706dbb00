// The side panel's form for one node of the flow, per node type, with the
// client-side checks of flow.ts shown under each field.
import { Plus, Trash2, X } from 'lucide-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { BotNodeType, Label, Team, User } from '../../api/types';
import { Alert, Button, Field, Input, Select, Textarea } from '../../components/ui';
import {
  ANSWER_TYPES, CHANNELS, CONDITION_SOURCES, CONTACT_FIELDS, DELAY_UNITS, HTTP_METHODS, MAX_BUTTONS, MAX_BUTTON_TITLE, MAX_LIST_ROWS,
  MAX_RETRIES, MAX_WEBHOOK_S, MEDIA_TYPES, OPS_BY_SOURCE, UNIT_SECONDS, VALUELESS_OPS, delayParts, promptOptions, validateNode,
  type Choice, type ConditionRule, type ConditionSource, type Extract, type FieldError, type ListConfig, type ListRow, type ListSection, type MediaConfig,
} from './flow';

/** An option id not yet used by the prompt's buttons and rows (opt1, opt2, …): it names the `option:<id>` output. */
function freshOptionId(config: Record<string, unknown>): string {
  const used = new Set(promptOptions(config).map((o) => o.id));
  let n = used.size + 1;
  while (used.has(`opt${n}`)) n++;
  return `opt${n}`;
}

export interface EditableNode { id: string; type: BotNodeType; name: string; config: Record<string, unknown> }

export interface NodeFormProps {
  node: EditableNode;
  /** `key` names the edited field, so that typing in one field is one undo step. */
  onChange: (patch: { name?: string; config?: Record<string, unknown> }, key: string) => void;
  onDelete?: () => void;
  labels?: Label[];
  teams?: Team[];
  users?: User[];
  /** What the server said about this node on publish. */
  serverErrors?: string[];
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : '');
const arr = <T,>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const toInt = (s: string) => (s.trim() === '' ? null : Number(s));

function headersText(h: unknown): string {
  if (!h || typeof h !== 'object') return '';
  return Object.entries(h as Record<string, string>).map(([k, v]) => `${k}: ${v}`).join('\n');
}
function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function RemoveButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <Button type="button" variant="ghost" size="sm" onClick={onClick} aria-label={label} className="shrink-0 px-2">
      <X className="h-4 w-4" aria-hidden />
    </Button>
  );
}

function AddButton({ children, onClick, disabled }: { children: ReactNode; onClick: () => void; disabled?: boolean }) {
  return (
    <Button type="button" variant="outline" size="sm" onClick={onClick} disabled={disabled}>
      <Plus className="h-4 w-4" aria-hidden /> {children}
    </Button>
  );
}

export function NodeForm({ node, onChange, onDelete, labels = [], teams = [], users = [], serverErrors }: NodeFormProps) {
  const { t } = useTranslation();
  const c = node.config ?? {};
  const errors = validateNode(node.type, c);
  const err = (path: string) => {
    const e: FieldError | undefined = errors[path];
    return e ? t(e.key, e.values) : undefined;
  };
  const set = (key: string, value: unknown) => onChange({ config: { ...c, [key]: value } }, `config.${key}`);
  const id = (field: string) => `node-${node.id}-${field}`;

  const errLine = (path: string) => err(path) && <p className="text-xs text-red-600" role="alert" data-field-error={path}>{err(path)}</p>;

  // the text, media, reply buttons or list of a message, and of a question's prompt
  const prompt = () => {
    const buttons = arr<Choice>(c.buttons);
    const list = (c.list ?? null) as ListConfig | null;
    const media = (c.media ?? null) as MediaConfig | null;
    const sections = list ? arr<ListSection>(list.sections) : [];
    const rowCount = sections.reduce((n, x) => n + arr(x.rows).length, 0);
    const mode = list ? 'list' : buttons.length ? 'buttons' : 'none';
    const setList = (next: ListConfig) => set('list', next);
    const setSection = (i: number, patch: Partial<ListSection>) => list && setList({ ...list, sections: sections.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
    const mediaSource = media?.media_id ? 'media_id' : 'url';
    return (
      <>
        <Field label={node.type === 'question' ? t('bots.fields.prompt') : t('bots.fields.text')} htmlFor={id('text')} error={err('text')} hint={t('bots.fields.text_hint', { a: '{{contact.name}}', b: '{{var.x}}' })}>
          <Textarea id={id('text')} value={str(c.text)} onChange={(e) => set('text', e.target.value)} invalid={!!err('text')} />
        </Field>
        <Field label={t('bots.fields.media')} htmlFor={id('media-type')} error={err('media.type')}>
          <Select id={id('media-type')} value={media ? str(media.type) : ''} onChange={(e) => set('media', e.target.value ? { ...(media ?? { url: '' }), type: e.target.value } : null)}>
            <option value="">{t('bots.fields.media_none')}</option>
            {MEDIA_TYPES.map((m) => <option key={m} value={m}>{t(`bots.media_types.${m}`)}</option>)}
          </Select>
        </Field>
        {media && (
          <>
            <Field label={mediaSource === 'media_id' ? t('bots.fields.media_id') : t('bots.fields.media_url')} htmlFor={id('media-url')} error={err('media.url')}>
              <Input id={id('media-url')} value={mediaSource === 'media_id' ? str(media.media_id) : str(media.url)} placeholder="https://" invalid={!!err('media.url')}
                onChange={(e) => set('media', mediaSource === 'media_id' ? { ...media, media_id: e.target.value } : { ...media, url: e.target.value })} />
            </Field>
            <Field label={t('bots.fields.caption')} htmlFor={id('media-caption')} error={err('media.caption')}>
              <Input id={id('media-caption')} value={str(media.caption)} onChange={(e) => set('media', { ...media, caption: e.target.value })} />
            </Field>
          </>
        )}
        <Field label={t('bots.fields.interactive')} htmlFor={id('interactive')} error={err('list')}>
          <Select id={id('interactive')} value={mode} onChange={(e) => {
            const v = e.target.value;
            const next: Record<string, unknown> = { ...c, buttons: v === 'buttons' ? (buttons.length ? buttons : [{ id: 'opt1', title: '' }]) : [], list: v === 'list' ? { button: '', sections: [{ title: '', rows: [{ id: 'opt1', title: '' }] }] } : null };
            if (node.type === 'question' && v !== 'none') next.answer_type = 'option';
            onChange({ config: next }, 'config.interactive');
          }}>
            <option value="none">{t('bots.fields.interactive_none')}</option>
            <option value="buttons">{t('bots.fields.interactive_buttons')}</option>
            <option value="list">{t('bots.fields.interactive_list')}</option>
          </Select>
        </Field>
        {buttons.length > 0 && (
          <fieldset className="space-y-2" data-testid="message-buttons">
            <legend className="text-sm font-medium text-gray-700">{t('bots.fields.buttons')}</legend>
            {errLine('buttons')}
            {buttons.map((b, i) => (
              <div key={i}>
                <div className="flex gap-1">
                  <Input aria-label={t('bots.fields.button_title', { n: i + 1 })} value={b.title} invalid={!!err(`buttons[${i}].title`)} maxLength={MAX_BUTTON_TITLE + 10}
                    onChange={(e) => set('buttons', buttons.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)))} />
                  <Input aria-label={t('bots.fields.option_id', { n: i + 1 })} className="w-24 font-mono text-xs" value={b.id} invalid={!!err(`buttons[${i}].id`)}
                    onChange={(e) => set('buttons', buttons.map((x, j) => (j === i ? { ...x, id: e.target.value } : x)))} />
                  <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.button_title', { n: i + 1 })}`} onClick={() => set('buttons', buttons.filter((_, j) => j !== i))} />
                </div>
                {errLine(`buttons[${i}].title`)}
                {errLine(`buttons[${i}].id`)}
              </div>
            ))}
            <AddButton onClick={() => set('buttons', [...buttons, { id: freshOptionId(c), title: '' }])} disabled={buttons.length >= MAX_BUTTONS}>{t('bots.fields.add_button')}</AddButton>
          </fieldset>
        )}
        {list && (
          <fieldset className="space-y-2">
            <Field label={t('bots.fields.list_button')} htmlFor={id('list-button')} error={err('list.button')}>
              <Input id={id('list-button')} value={str(list.button)} onChange={(e) => setList({ ...list, button: e.target.value })} invalid={!!err('list.button')} />
            </Field>
            {errLine('list.sections')}
            {sections.map((sec, i) => (
              <div key={i} className="space-y-1 rounded-lg border border-gray-200 p-2">
                <div className="flex gap-1">
                  <Input aria-label={t('bots.fields.section_title', { n: i + 1 })} placeholder={t('bots.fields.section_title', { n: i + 1 })} value={str(sec.title)} onChange={(e) => setSection(i, { title: e.target.value })} />
                  {sections.length > 1 && <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.section_title', { n: i + 1 })}`} onClick={() => setList({ ...list, sections: sections.filter((_, j) => j !== i) })} />}
                </div>
                {errLine(`list.sections[${i}].rows`)}
                {arr<ListRow>(sec.rows).map((r, j) => {
                  const rp = `list.sections[${i}].rows[${j}]`;
                  const rows = arr<ListRow>(sec.rows);
                  const setRow = (patch: Partial<ListRow>) => setSection(i, { rows: rows.map((x, k) => (k === j ? { ...x, ...patch } : x)) });
                  return (
                    <div key={j} className="space-y-1">
                      <div className="flex gap-1">
                        <Input aria-label={t('bots.fields.row_title', { n: j + 1 })} value={r.title} invalid={!!err(`${rp}.title`)} onChange={(e) => setRow({ title: e.target.value })} />
                        <Input aria-label={t('bots.fields.option_id', { n: j + 1 })} className="w-24 font-mono text-xs" value={r.id} invalid={!!err(`${rp}.id`)} onChange={(e) => setRow({ id: e.target.value })} />
                        <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.row_title', { n: j + 1 })}`} onClick={() => setSection(i, { rows: rows.filter((_, k) => k !== j) })} />
                      </div>
                      <Input aria-label={t('bots.fields.row_description', { n: j + 1 })} placeholder={t('bots.fields.row_description', { n: j + 1 })} value={r.description ?? ''} onChange={(e) => setRow({ description: e.target.value })} />
                      {errLine(`${rp}.title`)}
                      {errLine(`${rp}.id`)}
                      {errLine(`${rp}.description`)}
                    </div>
                  );
                })}
                <AddButton onClick={() => setSection(i, { rows: [...arr<ListRow>(sec.rows), { id: freshOptionId(c), title: '' }] })} disabled={rowCount >= MAX_LIST_ROWS}>{t('bots.fields.add_row')}</AddButton>
              </div>
            ))}
            <AddButton onClick={() => setList({ ...list, sections: [...sections, { title: '', rows: [{ id: freshOptionId(c), title: '' }] }] })} disabled={rowCount >= MAX_LIST_ROWS}>{t('bots.fields.add_section')}</AddButton>
          </fieldset>
        )}
      </>
    );
  };

  let body: ReactNode = null;
  switch (node.type) {
    case 'message':
      body = prompt();
      break;
    case 'question': {
      const answer = str(c.answer_type) || 'text';
      const options = promptOptions(c);
      const keywords = (c.keywords ?? {}) as Record<string, string[]>;
      const field = str(c.contact_field);
      const saveTo = field ? (field.startsWith('custom.') ? 'custom' : 'contact') : c.variable !== undefined && c.variable !== null ? 'variable' : 'none';
      body = (
        <>
          {prompt()}
          <Field label={t('bots.fields.answer_type')} htmlFor={id('answer-type')} error={err('answer_type')}>
            <Select id={id('answer-type')} value={answer} onChange={(e) => set('answer_type', e.target.value)}>
              {ANSWER_TYPES.map((k) => <option key={k} value={k}>{t(`bots.kinds.${k}`)}</option>)}
            </Select>
          </Field>
          {answer === 'option' && (
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium text-gray-700">{t('bots.fields.options')}</legend>
              {errLine('keywords')}
              {options.length === 0 && <p className="text-xs text-gray-500">{t('bots.fields.options_hint')}</p>}
              {options.map((o, i) => (
                <Input key={`${o.id}-${i}`} aria-label={t('bots.fields.option_keywords', { n: i + 1 })} placeholder={`${o.title || o.id}: ${t('bots.fields.option_keywords', { n: i + 1 })}`}
                  defaultValue={(keywords[o.id] ?? []).join(', ')}
                  onChange={(e) => set('keywords', { ...keywords, [o.id]: e.target.value.split(',').map((x) => x.trim()).filter(Boolean) })} />
              ))}
            </fieldset>
          )}
          <Field label={t('bots.fields.save_to')} htmlFor={id('save-to')} error={err('variable') ?? err('contact_field')}>
            <div className="flex gap-1">
              <Select id={id('save-to')} className="w-40" value={saveTo}
                onChange={(e) => {
                  const v = e.target.value;
                  const next: Record<string, unknown> = { ...c };
                  delete next.variable;
                  delete next.contact_field;
                  if (v === 'variable') next.variable = '';
                  if (v === 'contact') next.contact_field = answer === 'email' ? 'email' : answer === 'phone' ? 'phone' : 'name';
                  if (v === 'custom') next.contact_field = 'custom.';
                  onChange({ config: next }, 'config.save_to');
                }}>
                <option value="none">{t('bots.fields.save_none')}</option>
                <option value="variable">{t('bots.fields.variable')}</option>
                <option value="contact">{t('bots.fields.contact_field')}</option>
                <option value="custom">{t('bots.fields.custom_field')}</option>
              </Select>
              {saveTo === 'variable' && (
                <Input aria-label={t('bots.fields.variable')} value={str(c.variable)} onChange={(e) => set('variable', e.target.value)} invalid={!!err('variable')} placeholder="nome" />
              )}
              {saveTo === 'contact' && (
                <Select aria-label={t('bots.fields.contact_field')} value={field} onChange={(e) => set('contact_field', e.target.value)} invalid={!!err('contact_field')}>
                  {CONTACT_FIELDS.map((f) => <option key={f} value={f}>{t(`bots.contact_fields.${f}`)}</option>)}
                </Select>
              )}
              {saveTo === 'custom' && (
                <Input aria-label={t('bots.fields.custom_field')} value={field.slice('custom.'.length)} onChange={(e) => set('contact_field', `custom.${e.target.value}`)} invalid={!!err('contact_field')} placeholder="empresa" />
              )}
            </div>
          </Field>
          <div className="grid grid-cols-2 gap-2">
            <Field label={t('bots.fields.retries')} htmlFor={id('retries')} error={err('retries')}>
              <Input id={id('retries')} type="number" min={0} max={MAX_RETRIES} value={num(c.retries)} onChange={(e) => set('retries', toInt(e.target.value))} invalid={!!err('retries')} />
            </Field>
            <Field label={t('bots.fields.timeout_s')} htmlFor={id('timeout')} error={err('timeout_s')}>
              <Input id={id('timeout')} type="number" min={0} value={num(c.timeout_s)} onChange={(e) => set('timeout_s', toInt(e.target.value))} invalid={!!err('timeout_s')} />
            </Field>
          </div>
          <Field label={t('bots.fields.retry_message')} htmlFor={id('retry-message')} error={err('retry_message')}>
            <Textarea id={id('retry-message')} value={str(c.retry_message)} onChange={(e) => set('retry_message', e.target.value)} />
          </Field>
        </>
      );
      break;
    }
    case 'condition': {
      const rules = arr<ConditionRule>(c.rules);
      const setRule = (i: number, patch: Partial<ConditionRule>) => set('rules', rules.map((r, j) => (j === i ? { ...r, ...patch } : r)));
      body = (
        <>
          <Field label={t('bots.fields.match')} htmlFor={id('match')}>
            <Select id={id('match')} value={str(c.match) || 'all'} onChange={(e) => set('match', e.target.value)}>
              <option value="all">{t('bots.fields.match_all')}</option>
              <option value="any">{t('bots.fields.match_any')}</option>
            </Select>
          </Field>
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium text-gray-700">{t('bots.fields.rules')}</legend>
            {errLine('rules')}
            {rules.map((r, i) => {
              const source = (CONDITION_SOURCES as readonly string[]).includes(r.source) ? (r.source as ConditionSource) : 'variable';
              const ops = OPS_BY_SOURCE[source];
              return (
                <div key={i} className="space-y-1 rounded-lg border border-gray-200 p-2" data-testid="condition-rule">
                  <div className="flex gap-1">
                    <Select aria-label={`${t('bots.fields.source')} ${i + 1}`} value={source}
                      onChange={(e) => { const s = e.target.value as ConditionSource; setRule(i, { source: s, key: '', op: OPS_BY_SOURCE[s][0], value: s === 'channel' ? 'whatsapp' : '' }); }}>
                      {CONDITION_SOURCES.map((x) => <option key={x} value={x}>{t(`bots.sources.${x}`)}</option>)}
                    </Select>
                    <RemoveButton label={`${t('bots.fields.remove')} ${i + 1}`} onClick={() => set('rules', rules.filter((_, j) => j !== i))} />
                  </div>
                  {(source === 'variable' || source === 'contact_field') && (
                    <Input aria-label={`${t('bots.fields.key')} ${i + 1}`} placeholder={source === 'variable' ? t('bots.fields.variable') : t('bots.fields.key_hint')} value={str(r.key)} onChange={(e) => setRule(i, { key: e.target.value })} invalid={!!err(`rules[${i}].key`)} />
                  )}
                  {errLine(`rules[${i}].key`)}
                  <div className="flex gap-1">
                    <Select aria-label={`${t('bots.fields.op')} ${i + 1}`} value={r.op} onChange={(e) => setRule(i, { op: e.target.value })} className="w-40" invalid={!!err(`rules[${i}].op`)}>
                      {!ops.includes(r.op) && <option value={r.op}>{t('bots.fields.choose')}</option>}
                      {ops.map((o) => <option key={o} value={o}>{t(`bots.ops.${o}`)}</option>)}
                    </Select>
                    {source === 'label' && (
                      <Select aria-label={`${t('bots.fields.value')} ${i + 1}`} value={str(r.value)} onChange={(e) => setRule(i, { value: e.target.value })} invalid={!!err(`rules[${i}].value`)}>
                        <option value="">{t('bots.fields.choose')}</option>
                        {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
                      </Select>
                    )}
                    {source === 'channel' && (
                      <Select aria-label={`${t('bots.fields.value')} ${i + 1}`} value={str(r.value)} onChange={(e) => setRule(i, { value: e.target.value })} invalid={!!err(`rules[${i}].value`)}>
                        {CHANNELS.map((ch) => <option key={ch} value={ch}>{t(`bots.channels.${ch}`)}</option>)}
                      </Select>
                    )}
                    {(source === 'variable' || source === 'contact_field') && !VALUELESS_OPS.includes(r.op) && (
                      <Input aria-label={`${t('bots.fields.value')} ${i + 1}`} placeholder={t('bots.fields.value')} value={str(r.value)} onChange={(e) => setRule(i, { value: e.target.value })} invalid={!!err(`rules[${i}].value`)} />
                    )}
                  </div>
                  {errLine(`rules[${i}].op`)}
                  {errLine(`rules[${i}].value`)}
                </div>
              );
            })}
            <AddButton onClick={() => set('rules', [...rules, { source: 'variable', key: '', op: 'eq', value: '' }])}>{t('bots.fields.add_rule')}</AddButton>
          </fieldset>
        </>
      );
      break;
    }
    case 'delay': {
      const d = delayParts(c.duration_s);
      const setDelay = (amount: number | null, unit: (typeof DELAY_UNITS)[number]) => set('duration_s', amount == null ? null : amount * UNIT_SECONDS[unit]);
      body = (
        <div className="grid grid-cols-2 gap-2">
          <Field label={t('bots.fields.amount')} htmlFor={id('amount')} error={err('duration_s')}>
            <Input id={id('amount')} type="number" min={1} value={c.duration_s == null ? '' : d.amount} onChange={(e) => setDelay(toInt(e.target.value), d.unit)} invalid={!!err('duration_s')} />
          </Field>
          <Field label={t('bots.fields.unit')} htmlFor={id('unit')}>
            <Select id={id('unit')} value={d.unit} onChange={(e) => setDelay(d.amount, e.target.value as (typeof DELAY_UNITS)[number])}>
              {DELAY_UNITS.map((u) => <option key={u} value={u}>{t(`bots.units.${u}`)}</option>)}
            </Select>
          </Field>
        </div>
      );
      break;
    }
    case 'webhook': {
      const save = arr<Extract>(c.save);
      body = (
        <>
          <div className="flex gap-1">
            <Field label={t('bots.fields.method')} htmlFor={id('method')} className="w-28">
              <Select id={id('method')} value={str(c.method) || 'POST'} onChange={(e) => set('method', e.target.value)}>
                {HTTP_METHODS.map((m) => <option key={m}>{m}</option>)}
              </Select>
            </Field>
            <Field label={t('bots.fields.url')} htmlFor={id('url')} error={err('url')} className="flex-1">
              <Input id={id('url')} value={str(c.url)} onChange={(e) => set('url', e.target.value)} invalid={!!err('url')} placeholder="https://" />
            </Field>
          </div>
          <Field label={t('bots.fields.headers')} htmlFor={id('headers')} error={err('headers')}>
            <Textarea id={id('headers')} className="font-mono text-xs" defaultValue={headersText(c.headers)} onChange={(e) => set('headers', parseHeaders(e.target.value))} />
          </Field>
          <Field label={t('bots.fields.body')} htmlFor={id('body')}>
            <Textarea id={id('body')} className="font-mono text-xs" value={str(c.body)} onChange={(e) => set('body', e.target.value)} />
          </Field>
          <Field label={t('bots.fields.timeout')} htmlFor={id('timeout')} error={err('timeout_s')}>
            <Input id={id('timeout')} type="number" min={1} max={MAX_WEBHOOK_S} value={num(c.timeout_s)} onChange={(e) => set('timeout_s', toInt(e.target.value))} invalid={!!err('timeout_s')} />
          </Field>
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium text-gray-700">{t('bots.fields.mappings')}</legend>
            {save.map((m, i) => (
              <div key={i}>
                <div className="flex gap-1">
                  <Input aria-label={`${t('bots.fields.path')} ${i + 1}`} placeholder={t('bots.fields.path')} value={m.path} invalid={!!err(`save[${i}].path`)}
                    onChange={(e) => set('save', save.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)))} />
                  <Input aria-label={`${t('bots.fields.variable')} ${i + 1}`} placeholder={t('bots.fields.variable')} value={m.variable} invalid={!!err(`save[${i}].variable`)}
                    onChange={(e) => set('save', save.map((x, j) => (j === i ? { ...x, variable: e.target.value } : x)))} />
                  <RemoveButton label={`${t('bots.fields.remove')} ${i + 1}`} onClick={() => set('save', save.filter((_, j) => j !== i))} />
                </div>
                {errLine(`save[${i}].path`)}
                {errLine(`save[${i}].variable`)}
              </div>
            ))}
            <AddButton onClick={() => set('save', [...save, { path: '', variable: '' }])}>{t('bots.fields.add_mapping')}</AddButton>
          </fieldset>
        </>
      );
      break;
    }
    case 'add_label': {
      const ids = arr<string>(c.label_ids);
      body = (
        <>
          <Field label={t('bots.fields.action')} htmlFor={id('action')}>
            <Select id={id('action')} value={str(c.action) || 'add'} onChange={(e) => set('action', e.target.value)}>
              <option value="add">{t('bots.fields.action_add')}</option>
              <option value="remove">{t('bots.fields.action_remove')}</option>
            </Select>
          </Field>
          <fieldset className="space-y-1">
            <legend className="text-sm font-medium text-gray-700">{t('bots.fields.labels')}</legend>
            {labels.map((l) => (
              <label key={l.id} className="flex items-center gap-2 text-sm text-gray-700">
                <input type="checkbox" checked={ids.includes(l.id)} onChange={(e) => set('label_ids', e.target.checked ? [...ids, l.id] : ids.filter((x) => x !== l.id))} /> {l.name}
              </label>
            ))}
            {errLine('label_ids')}
          </fieldset>
        </>
      );
      break;
    }
    case 'handoff': {
      const target = str(c.agent_id) ? 'agent' : str(c.team_id) ? 'team' : 'queue';
      body = (
        <>
          <Field label={t('bots.fields.handoff_to')} htmlFor={id('target')}>
            <Select id={id('target')} value={target} onChange={(e) => {
              const next: Record<string, unknown> = { ...c };
              delete next.team_id;
              delete next.agent_id;
              if (e.target.value === 'team') next.team_id = teams[0]?.id ?? '';
              if (e.target.value === 'agent') next.agent_id = users.find((u) => u.active !== false)?.id ?? '';
              onChange({ config: next }, 'config.target');
            }}>
              <option value="queue">{t('bots.fields.any_team')}</option>
              <option value="team">{t('bots.fields.team')}</option>
              <option value="agent">{t('bots.fields.agent')}</option>
            </Select>
          </Field>
          {target === 'team' && (
            <Field label={t('bots.fields.team')} htmlFor={id('team')}>
              <Select id={id('team')} value={str(c.team_id)} onChange={(e) => set('team_id', e.target.value)}>
                {teams.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
              </Select>
            </Field>
          )}
          {target === 'agent' && (
            <Field label={t('bots.fields.agent')} htmlFor={id('agent')} error={err('agent_id')}>
              <Select id={id('agent')} value={str(c.agent_id)} onChange={(e) => set('agent_id', e.target.value)}>
                {users.filter((u) => u.active !== false).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
              </Select>
            </Field>
          )}
          <Field label={t('bots.fields.handoff_message')} htmlFor={id('message')} error={err('message')}>
            <Textarea id={id('message')} value={str(c.message)} onChange={(e) => set('message', e.target.value)} />
          </Field>
        </>
      );
      break;
    }
    case 'end':
      body = (
        <>
          <label className="flex items-center gap-2 text-sm text-gray-700">
            <input type="checkbox" checked={c.resolve === true} onChange={(e) => set('resolve', e.target.checked)} /> {t('bots.fields.resolve')}
          </label>
          <Field label={t('bots.fields.end_message')} htmlFor={id('message')} error={err('message')}>
            <Textarea id={id('message')} value={str(c.message)} onChange={(e) => set('message', e.target.value)} />
          </Field>
        </>
      );
      break;
    default:
      break;
  }

  return (
    <div className="space-y-4" data-testid="node-form" data-node-id={node.id}>
      <div className="flex items-center justify-between">
        <p className="text-xs font-semibold uppercase tracking-wide text-gray-500">{t(`bots.types.${node.type}`)}</p>
        {onDelete && node.type !== 'start' && (
          <Button type="button" variant="ghost" size="sm" onClick={onDelete} data-testid="delete-node">
            <Trash2 className="h-4 w-4 text-red-600" aria-hidden /> {t('bots.builder.delete_node')}
          </Button>
        )}
      </div>
      {serverErrors && serverErrors.length > 0 && (
        <Alert kind="error"><ul data-testid="node-server-errors">{serverErrors.map((m, i) => <li key={i}>{m}</li>)}</ul></Alert>
      )}
      <Field label={t('bots.builder.node_name')} htmlFor={id('name')}>
        <Input id={id('name')} value={node.name} onChange={(e) => onChange({ name: e.target.value }, 'name')} />
      </Field>
      {body}
    </div>
  );
}
