// The side panel's form for one node of the flow, per node type, with the
// client-side checks of flow.ts shown under each field.
import { Plus, Trash2, X } from 'lucide-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { BotNodeType, Label, Team, User } from '../../api/types';
import { Alert, Button, Field, Input, Select, Textarea } from '../../components/ui';
import {
  CONDITION_OPS, CONDITION_SOURCES, CONTACT_FIELDS, DELAY_UNITS, HTTP_METHODS, MAX_BUTTONS, QUESTION_KINDS,
  newId, validateNode, type Choice, type ConditionRule, type FieldError, type Mapping,
} from './flow';

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

  let body: ReactNode = null;
  switch (node.type) {
    case 'message': {
      const buttons = arr<Choice>(c.buttons);
      const list = c.list as { button?: string; sections?: { title?: string; rows: (Choice & { description?: string })[] }[]; rows?: (Choice & { description?: string })[] } | null | undefined;
      const rows = list ? arr<Choice & { description?: string }>(list.rows ?? list.sections?.[0]?.rows) : [];
      const mode = list ? 'list' : buttons.length ? 'buttons' : 'none';
      const setList = (next: { button?: string; rows: (Choice & { description?: string })[] }) => set('list', { button: next.button ?? '', rows: next.rows });
      body = (
        <>
          <Field label={t('bots.fields.text')} htmlFor={id('text')} error={err('text')} hint={t('bots.fields.text_hint', { a: '{{contact.name}}', b: '{{var.x}}' })}>
            <Textarea id={id('text')} value={str(c.text)} onChange={(e) => set('text', e.target.value)} invalid={!!err('text')} />
          </Field>
          <Field label={t('bots.fields.interactive')} htmlFor={id('interactive')} error={err('list')}>
            <Select id={id('interactive')} value={mode} onChange={(e) => {
              const v = e.target.value;
              const next = { ...c, buttons: v === 'buttons' ? (buttons.length ? buttons : [{ id: newId().slice(0, 8), title: '' }]) : [], list: v === 'list' ? { button: '', rows: [{ id: newId().slice(0, 8), title: '' }] } : null };
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
              {err('buttons') && <p className="text-xs text-red-600" role="alert" data-field-error="buttons">{err('buttons')}</p>}
              {buttons.map((b, i) => (
                <div key={b.id || i}>
                  <div className="flex gap-1">
                    <Input aria-label={t('bots.fields.button_title', { n: i + 1 })} value={b.title} invalid={!!err(`buttons[${i}].title`)}
                      onChange={(e) => set('buttons', buttons.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)))} />
                    <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.button_title', { n: i + 1 })}`} onClick={() => set('buttons', buttons.filter((_, j) => j !== i))} />
                  </div>
                  {err(`buttons[${i}].title`) && <p className="text-xs text-red-600" role="alert">{err(`buttons[${i}].title`)}</p>}
                </div>
              ))}
              <AddButton onClick={() => set('buttons', [...buttons, { id: newId().slice(0, 8), title: '' }])} disabled={buttons.length >= MAX_BUTTONS}>{t('bots.fields.add_button')}</AddButton>
            </fieldset>
          )}
          {list && (
            <fieldset className="space-y-2">
              <Field label={t('bots.fields.list_button')} htmlFor={id('list-button')} error={err('list.button')}>
                <Input id={id('list-button')} value={str(list.button)} onChange={(e) => setList({ button: e.target.value, rows })} invalid={!!err('list.button')} />
              </Field>
              <legend className="text-sm font-medium text-gray-700">{t('bots.fields.rows')}</legend>
              {err('list.rows') && <p className="text-xs text-red-600" role="alert">{err('list.rows')}</p>}
              {rows.map((r, i) => (
                <div key={r.id || i} className="space-y-1">
                  <div className="flex gap-1">
                    <Input aria-label={t('bots.fields.row_title', { n: i + 1 })} value={r.title} invalid={!!err(`list.rows[${i}].title`)}
                      onChange={(e) => setList({ button: list.button, rows: rows.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)) })} />
                    <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.row_title', { n: i + 1 })}`} onClick={() => setList({ button: list.button, rows: rows.filter((_, j) => j !== i) })} />
                  </div>
                  <Input aria-label={t('bots.fields.row_description', { n: i + 1 })} placeholder={t('bots.fields.row_description', { n: i + 1 })} value={r.description ?? ''}
                    onChange={(e) => setList({ button: list.button, rows: rows.map((x, j) => (j === i ? { ...x, description: e.target.value } : x)) })} />
                  {err(`list.rows[${i}].title`) && <p className="text-xs text-red-600" role="alert">{err(`list.rows[${i}].title`)}</p>}
                </div>
              ))}
              <AddButton onClick={() => setList({ button: list.button, rows: [...rows, { id: newId().slice(0, 8), title: '' }] })}>{t('bots.fields.add_row')}</AddButton>
            </fieldset>
          )}
        </>
      );
      break;
    }
    case 'question': {
      const options = arr<Choice & { keywords?: string[] }>(c.options);
      const saveTo = str(c.contact_field) ? 'contact' : 'variable';
      body = (
        <>
          <Field label={t('bots.fields.prompt')} htmlFor={id('prompt')} error={err('prompt')}>
            <Textarea id={id('prompt')} value={str(c.prompt)} onChange={(e) => set('prompt', e.target.value)} invalid={!!err('prompt')} />
          </Field>
          <Field label={t('bots.fields.kind')} htmlFor={id('kind')} error={err('kind')}>
            <Select id={id('kind')} value={str(c.kind)} onChange={(e) => set('kind', e.target.value)}>
              {QUESTION_KINDS.map((k) => <option key={k} value={k}>{t(`bots.kinds.${k}`)}</option>)}
            </Select>
          </Field>
          {c.kind === 'option' && (
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium text-gray-700">{t('bots.fields.options')}</legend>
              {err('options') && <p className="text-xs text-red-600" role="alert">{err('options')}</p>}
              {options.map((o, i) => (
                <div key={o.id || i} className="space-y-1">
                  <div className="flex gap-1">
                    <Input aria-label={t('bots.fields.option_title', { n: i + 1 })} value={o.title} invalid={!!err(`options[${i}].title`)}
                      onChange={(e) => set('options', options.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)))} />
                    <RemoveButton label={`${t('bots.fields.remove')} ${t('bots.fields.option_title', { n: i + 1 })}`} onClick={() => set('options', options.filter((_, j) => j !== i))} />
                  </div>
                  <Input aria-label={t('bots.fields.option_keywords', { n: i + 1 })} placeholder={t('bots.fields.option_keywords', { n: i + 1 })} value={(o.keywords ?? []).join(', ')}
                    onChange={(e) => set('options', options.map((x, j) => (j === i ? { ...x, keywords: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) } : x)))} />
                  {err(`options[${i}].title`) && <p className="text-xs text-red-600" role="alert">{err(`options[${i}].title`)}</p>}
                </div>
              ))}
              <AddButton onClick={() => set('options', [...options, { id: String(options.length + 1), title: '', keywords: [] }])}>{t('bots.fields.add_option')}</AddButton>
            </fieldset>
          )}
          <Field label={t('bots.fields.save_to')} htmlFor={id('save-to')} error={err('variable')}>
            <div className="flex gap-1">
              <Select id={id('save-to')} className="w-40" value={saveTo}
                onChange={(e) => onChange({ config: { ...c, variable: e.target.value === 'variable' ? str(c.variable) : '', contact_field: e.target.value === 'contact' ? CONTACT_FIELDS[0] : '' } }, 'config.save_to')}>
                <option value="variable">{t('bots.fields.variable')}</option>
                <option value="contact">{t('bots.fields.contact_field')}</option>
              </Select>
              {saveTo === 'variable' ? (
                <Input aria-label={t('bots.fields.variable')} value={str(c.variable)} onChange={(e) => set('variable', e.target.value)} invalid={!!err('variable')} placeholder="nome" />
              ) : (
                <Select aria-label={t('bots.fields.contact_field')} value={str(c.contact_field)} onChange={(e) => set('contact_field', e.target.value)}>
                  {CONTACT_FIELDS.map((f) => <option key={f} value={f}>{t(`bots.contact_fields.${f}`)}</option>)}
                </Select>
              )}
            </div>
          </Field>
          <div className="grid grid-cols-2 gap-2">
            <Field label={t('bots.fields.retries')} htmlFor={id('retries')} error={err('retries')}>
              <Input id={id('retries')} type="number" min={0} max={10} value={num(c.retries)} onChange={(e) => set('retries', toInt(e.target.value))} invalid={!!err('retries')} />
            </Field>
            <Field label={t('bots.fields.timeout_s')} htmlFor={id('timeout')} error={err('timeout_s')}>
              <Input id={id('timeout')} type="number" min={0} value={num(c.timeout_s)} onChange={(e) => set('timeout_s', toInt(e.target.value))} invalid={!!err('timeout_s')} />
            </Field>
          </div>
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
            {err('rules') && <p className="text-xs text-red-600" role="alert">{err('rules')}</p>}
            {rules.map((r, i) => (
              <div key={i} className="space-y-1 rounded-lg border border-gray-200 p-2">
                <div className="flex gap-1">
                  <Select aria-label={`${t('bots.fields.source')} ${i + 1}`} value={r.source} onChange={(e) => setRule(i, { source: e.target.value })}>
                    {CONDITION_SOURCES.map((s) => <option key={s} value={s}>{t(`bots.sources.${s}`)}</option>)}
                  </Select>
                  <RemoveButton label={`${t('bots.fields.remove')} ${i + 1}`} onClick={() => set('rules', rules.filter((_, j) => j !== i))} />
                </div>
                {r.source !== 'business_hours' && r.source !== 'channel' && (
                  r.source === 'label' ? (
                    <Select aria-label={`${t('bots.fields.field')} ${i + 1}`} value={r.field} onChange={(e) => setRule(i, { field: e.target.value, value: e.target.value ? 'present' : '' })} invalid={!!err(`rules[${i}].field`)}>
                      <option value="">{t('bots.fields.choose')}</option>
                      {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
                    </Select>
                  ) : (
                    <Input aria-label={`${t('bots.fields.field')} ${i + 1}`} placeholder={t('bots.fields.field')} value={r.field} onChange={(e) => setRule(i, { field: e.target.value })} invalid={!!err(`rules[${i}].field`)} />
                  )
                )}
                {err(`rules[${i}].field`) && <p className="text-xs text-red-600" role="alert">{err(`rules[${i}].field`)}</p>}
                {r.source !== 'business_hours' && (
                  <div className="flex gap-1">
                    <Select aria-label={`${t('bots.fields.op')} ${i + 1}`} value={r.op} onChange={(e) => setRule(i, { op: e.target.value })} className="w-40">
                      {CONDITION_OPS.map((o) => <option key={o} value={o}>{t(`bots.ops.${o}`)}</option>)}
                    </Select>
                    {r.op !== 'exists' && (
                      <Input aria-label={`${t('bots.fields.value')} ${i + 1}`} placeholder={t('bots.fields.value')} value={r.value} onChange={(e) => setRule(i, { value: e.target.value })} invalid={!!err(`rules[${i}].value`)} />
                    )}
                  </div>
                )}
                {err(`rules[${i}].value`) && <p className="text-xs text-red-600" role="alert">{err(`rules[${i}].value`)}</p>}
              </div>
            ))}
            <AddButton onClick={() => set('rules', [...rules, { source: 'variable', field: '', op: 'eq', value: '' }])}>{t('bots.fields.add_rule')}</AddButton>
          </fieldset>
        </>
      );
      break;
    }
    case 'delay':
      body = (
        <div className="grid grid-cols-2 gap-2">
          <Field label={t('bots.fields.amount')} htmlFor={id('amount')} error={err('amount')}>
            <Input id={id('amount')} type="number" min={1} value={num(c.amount)} onChange={(e) => set('amount', toInt(e.target.value))} invalid={!!err('amount')} />
          </Field>
          <Field label={t('bots.fields.unit')} htmlFor={id('unit')} error={err('unit')}>
            <Select id={id('unit')} value={str(c.unit)} onChange={(e) => set('unit', e.target.value)}>
              {DELAY_UNITS.map((u) => <option key={u} value={u}>{t(`bots.units.${u}`)}</option>)}
            </Select>
          </Field>
        </div>
      );
      break;
    case 'webhook': {
      const mappings = arr<Mapping>(c.mappings);
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
          <Field label={t('bots.fields.headers')} htmlFor={id('headers')}>
            <Textarea id={id('headers')} className="font-mono text-xs" defaultValue={headersText(c.headers)} onChange={(e) => set('headers', parseHeaders(e.target.value))} />
          </Field>
          <Field label={t('bots.fields.body')} htmlFor={id('body')}>
            <Textarea id={id('body')} className="font-mono text-xs" value={str(c.body)} onChange={(e) => set('body', e.target.value)} />
          </Field>
          <Field label={t('bots.fields.timeout')} htmlFor={id('timeout')} error={err('timeout_s')}>
            <Input id={id('timeout')} type="number" min={1} max={30} value={num(c.timeout_s)} onChange={(e) => set('timeout_s', toInt(e.target.value))} invalid={!!err('timeout_s')} />
          </Field>
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium text-gray-700">{t('bots.fields.mappings')}</legend>
            {mappings.map((m, i) => (
              <div key={i} className="flex gap-1">
                <Input aria-label={`${t('bots.fields.path')} ${i + 1}`} placeholder={t('bots.fields.path')} value={m.path} invalid={!!err(`mappings[${i}].path`)}
                  onChange={(e) => set('mappings', mappings.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)))} />
                <Input aria-label={`${t('bots.fields.variable')} ${i + 1}`} placeholder={t('bots.fields.variable')} value={m.variable} invalid={!!err(`mappings[${i}].variable`)}
                  onChange={(e) => set('mappings', mappings.map((x, j) => (j === i ? { ...x, variable: e.target.value } : x)))} />
                <RemoveButton label={`${t('bots.fields.remove')} ${i + 1}`} onClick={() => set('mappings', mappings.filter((_, j) => j !== i))} />
              </div>
            ))}
            <AddButton onClick={() => set('mappings', [...mappings, { path: '', variable: '' }])}>{t('bots.fields.add_mapping')}</AddButton>
          </fieldset>
        </>
      );
      break;
    }
    case 'add_label':
      body = (
        <>
          <Field label={t('bots.fields.label')} htmlFor={id('label')} error={err('label_id')}>
            <Select id={id('label')} value={str(c.label_id)} onChange={(e) => set('label_id', e.target.value)} invalid={!!err('label_id')}>
              <option value="">{t('bots.fields.choose')}</option>
              {labels.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
            </Select>
          </Field>
          <Field label={t('bots.fields.action')} htmlFor={id('action')}>
            <Select id={id('action')} value={str(c.action) || 'add'} onChange={(e) => set('action', e.target.value)}>
              <option value="add">{t('bots.fields.action_add')}</option>
              <option value="remove">{t('bots.fields.action_remove')}</option>
            </Select>
          </Field>
        </>
      );
      break;
    case 'handoff':
      body = (
        <>
          <Field label={t('bots.fields.team')} htmlFor={id('team')}>
            <Select id={id('team')} value={str(c.team_id)} onChange={(e) => set('team_id', e.target.value)}>
              <option value="">{t('bots.fields.any_team')}</option>
              {teams.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
            </Select>
          </Field>
          <Field label={t('bots.fields.agent')} htmlFor={id('agent')}>
            <Select id={id('agent')} value={str(c.agent_id)} onChange={(e) => set('agent_id', e.target.value)}>
              <option value="">{t('bots.fields.any_agent')}</option>
              {users.filter((u) => u.active !== false).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
            </Select>
          </Field>
          <Field label={t('bots.fields.handoff_message')} htmlFor={id('message')}>
            <Textarea id={id('message')} value={str(c.message)} onChange={(e) => set('message', e.target.value)} />
          </Field>
        </>
      );
      break;
    case 'end':
      body = (
        <label className="flex items-center gap-2 text-sm text-gray-700">
          <input type="checkbox" checked={c.resolve === true} onChange={(e) => set('resolve', e.target.checked)} /> {t('bots.fields.resolve')}
        </label>
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
