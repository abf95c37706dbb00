import { useMutation, useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { ArrowLeft, Send, Smartphone } from 'lucide-react';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { connections, sandbox, type SandboxInbound } from '../../api/endpoints';
import type { OutboxEntry } from '../../api/types';
import { FormError } from '../../components/FormError';
import { Button, Card, EmptyState, ErrorState, Field, Input, Select, SkeletonRows } from '../../components/ui';
import { formatTime } from '../../lib/format';

export const PHONE_TYPES = ['text', 'image', 'audio', 'voice', 'video', 'document', 'sticker', 'location', 'contacts', 'reaction', 'button_reply'] as const;
type PhoneType = (typeof PHONE_TYPES)[number];
const FILE_TYPES: PhoneType[] = ['image', 'audio', 'voice', 'video', 'document', 'sticker'];
const EMOJIS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

interface Sent { at: string; summary: string; type: string; from: string }

/** How many of the customer's own messages the phone remembers per connection. */
const KEEP_SENT = 200;

const sentKey = (connectionId: string) => `crm.sandbox.sent.${connectionId}`;

/**
 * The customer's own messages, kept in this browser per connection: the
 * sandbox's outbox (what the business sent) is the server's, but what the
 * customer wrote is only the phone's, and a reload used to lose it.
 */
export function loadSent(connectionId: string): Sent[] {
  try {
    const raw = JSON.parse(localStorage.getItem(sentKey(connectionId)) ?? '[]');
    return Array.isArray(raw) ? raw.filter((x) => x && typeof x.at === 'string' && typeof x.summary === 'string') : [];
  } catch {
    return [];
  }
}

interface Customer { from: string; name: string }

function loadCustomer(connectionId: string): Customer {
  const fallback = { from: '5511987654321', name: 'Cliente Sandbox' };
  try {
    const raw = JSON.parse(localStorage.getItem(`crm.sandbox.customer.${connectionId}`) ?? 'null');
    return raw && typeof raw.from === 'string' && typeof raw.name === 'string' ? raw : fallback;
  } catch {
    return fallback;
  }
}

function saveCustomer(connectionId: string, c: Customer): Customer {
  try {
    localStorage.setItem(`crm.sandbox.customer.${connectionId}`, JSON.stringify(c));
  } catch {
    /* full or disabled */
  }
  return c;
}

function saveSent(connectionId: string, sent: Sent[]) {
  try {
    localStorage.setItem(sentKey(connectionId), JSON.stringify(sent.slice(-KEEP_SENT)));
  } catch {
    /* full or disabled: the thread lives as long as the page */
  }
}
interface PhoneButton { id: string; title: string; kind: 'interactive' | 'template' }

/** One line of what the business sent, read from Meta's request JSON. */
export function outboxSummary(e: OutboxEntry): string {
  const r = e.request as Record<string, any>;
  switch (e.type) {
    case 'text': return r.text?.body ?? '';
    case 'template': {
      const params = (r.template?.components ?? []).flatMap((c: any) => (c.parameters ?? []).map((p: any) => p.text)).filter(Boolean);
      return `${r.template?.name ?? ''}${params.length ? ` (${params.join(', ')})` : ''}`;
    }
    case 'location': return `📍 ${r.location?.name ?? `${r.location?.latitude}, ${r.location?.longitude}`}`;
    case 'contacts': return `👤 ${r.contacts?.[0]?.name?.formatted_name ?? ''}`;
    case 'reaction': return r.reaction?.emoji ?? '';
    case 'interactive': return r.interactive?.body?.text ?? '';
    default: return [r[e.type]?.filename, r[e.type]?.caption].filter(Boolean).join(' · ') || e.type;
  }
}

/** The buttons the customer can tap on a business message (interactive buttons, template quick replies). */
export function outboxButtons(e: OutboxEntry): PhoneButton[] {
  const r = e.request as Record<string, any>;
  if (e.type === 'interactive' && r.interactive?.type === 'button') {
    return (r.interactive.action?.buttons ?? []).map((b: any) => ({ id: b.reply?.id ?? '', title: b.reply?.title ?? '', kind: 'interactive' as const }));
  }
  if (e.type === 'interactive' && r.interactive?.type === 'list') {
    return (r.interactive.action?.sections ?? []).flatMap((s: any) => (s.rows ?? []).map((row: any) => ({ id: row.id, title: row.title, kind: 'interactive' as const })));
  }
  return [];
}

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1] ?? '');
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function Ticks({ statuses }: { statuses: string[] | null }) {
  const { t } = useTranslation();
  const last = statuses?.at(-1);
  if (!last) return null;
  return <span className={clsx('text-[11px]', last === 'read' ? 'text-sky-600' : 'text-gray-500')} data-testid="phone-status" data-status={last}>{(statuses ?? []).map((s) => t(`chat.status.${s}`, { defaultValue: s })).join(' → ')}</span>;
}

/**
 * The simulated customer's phone for a sandbox connection: write as the
 * customer (every WhatsApp type) and see what the business sent, with the
 * delivery statuses the sandbox reported.
 */
export default function SandboxPhone({ connectionId, embedded = false, customer }: {
  connectionId?: string;
  embedded?: boolean;
  /** The simulated customer's number (digits) and name; the builder's test panel picks one per flow. */
  customer?: { from: string; name?: string };
} = {}) {
  const { t } = useTranslation();
  const params = useParams();
  const id = connectionId ?? params.id ?? '';
  const connQ = useQuery({ queryKey: ['connections', id], queryFn: () => connections.get(id) });
  const outboxQ = useQuery({ queryKey: ['sandbox-outbox', id], queryFn: () => sandbox.outbox(id), refetchInterval: 2000 });
  // the customer the phone plays: the test panel's, or the one kept with its messages across reloads
  const [played, setPlayed] = useState(() =>
    customer ? { from: customer.from, name: customer.name ?? 'Cliente Sandbox' } : loadCustomer(id));
  const { from, name } = played;
  const keep = (c: Customer) => (customer ? c : saveCustomer(id, c));
  const setFrom = (from: string) => setPlayed((c) => keep({ ...c, from }));
  const setName = (name: string) => setPlayed((c) => keep({ ...c, name }));
  const [type, setType] = useState<PhoneType>('text');
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [lat, setLat] = useState('-23.5613');
  const [lng, setLng] = useState('-46.6565');
  const [place, setPlace] = useState('Av. Paulista, 1000');
  const [cardName, setCardName] = useState('');
  const [cardPhone, setCardPhone] = useState('');
  const [target, setTarget] = useState('');
  const [emoji, setEmoji] = useState(EMOJIS[0]);
  const [button, setButton] = useState('');
  const [sent, setSent] = useState<Sent[]>(() => loadSent(id));
  const scroller = useRef<HTMLDivElement>(null);
  const digits = from.replace(/\D/g, '');
  const mine = useMemo(() => (outboxQ.data ?? []).filter((e) => e.to.replace(/\D/g, '') === digits), [outboxQ.data, digits]);
  const mySent = useMemo(() => sent.filter((x) => x.from === digits), [sent, digits]); // what this number wrote
  const buttons = useMemo(() => mine.flatMap((e) => outboxButtons(e).map((b) => ({ ...b, message: e.message_id ?? '' }))), [mine]);
  const targetId = target || mine.at(-1)?.message_id || '';
  const chosenButton = buttons.find((b) => `${b.message}|${b.id}` === button) ?? buttons.at(-1);

  async function build(kind: PhoneType, extra?: Partial<SandboxInbound>): Promise<[SandboxInbound, string]> {
    const base = { from: digits, name: name.trim() || undefined };
    switch (kind) {
      case 'text': return [{ ...base, type: 'text', text }, text];
      case 'location': return [{ ...base, type: 'location', location: { latitude: Number(lat), longitude: Number(lng), name: place || undefined } }, `📍 ${place || `${lat}, ${lng}`}`];
      case 'contacts': return [{ ...base, type: 'contacts', contacts: [{ name: { formatted_name: cardName, first_name: cardName }, phones: [{ phone: cardPhone, type: 'CELL' }] }] }, `👤 ${cardName}`];
      case 'reaction': return [{ ...base, type: 'reaction', reaction: { message_id: targetId, emoji } }, emoji];
      case 'button_reply': {
        const b = extra?.interactive ?? (chosenButton ? { type: 'button_reply' as const, id: chosenButton.id, title: chosenButton.title } : undefined);
        return [{ ...base, type: 'interactive', interactive: b }, b?.title ?? ''];
      }
      default: {
        if (!file) throw new Error(t('phone.file_required'));
        const voice = kind === 'voice';
        const mime = file.type || (voice ? 'audio/ogg' : 'application/octet-stream');
        return [{ ...base, type: voice ? 'audio' : kind, media: { mime_type: mime, filename: kind === 'document' ? file.name : undefined, caption: text || undefined, voice: voice || undefined, data_base64: await readBase64(file) } },
          `${t(`phone.types.${kind}`)}: ${file.name}`];
      }
    }
  }
  const send = useMutation({
    mutationFn: async (extra?: Partial<SandboxInbound> & { kind?: PhoneType }) => {
      const [body, summary] = await build(extra?.kind ?? type, extra);
      await sandbox.inbound(id, body);
      return { summary, type: body.type };
    },
    onSuccess: ({ summary, type: sentType }) => {
      setSent((s) => {
        const next = [...s, { at: new Date().toISOString(), summary, type: sentType, from: digits }];
        saveSent(id, next);
        return next;
      });
      setText('');
      setFile(null);
    },
  });

  const thread: { at: string; node: ReactNode; key: string }[] = [
    ...mySent.map((s, i) => ({ at: s.at, key: `c${i}`, node: (
      <div className="flex justify-end"><div className="max-w-[80%] rounded-lg rounded-tr-none bg-chat-out px-2 py-1 text-sm shadow-sm" data-testid="phone-sent">
        <p className="whitespace-pre-wrap break-words">{s.summary}</p><p className="text-right text-[11px] text-gray-500">{formatTime(s.at)}</p>
      </div></div>
    ) })),
    ...mine.map((e, i) => ({ at: e.received_at ?? '', key: `b${i}`, node: (
      <div className="flex justify-start"><div className={clsx('max-w-[80%] rounded-lg rounded-tl-none bg-white px-2 py-1 text-sm shadow-sm', e.error && 'ring-1 ring-red-300')} data-testid="phone-received" data-type={e.type} data-message-id={e.message_id}>
        {e.type !== 'text' && <p className="text-[11px] uppercase text-gray-400">{t(`phone.outbox_types.${e.type}`, { defaultValue: e.type })}</p>}
        <p className="whitespace-pre-wrap break-words">{outboxSummary(e)}</p>
        {outboxButtons(e).map((b) => (
          <button key={b.id} type="button" className="mt-1 block w-full rounded border border-gray-200 px-2 py-1 text-center text-xs text-sky-700 hover:bg-gray-50"
            onClick={() => send.mutate({ kind: 'button_reply', interactive: { type: 'button_reply', id: b.id, title: b.title } })}>{b.title}</button>
        ))}
        {e.error && <p className="text-xs text-red-600">{e.error.message}</p>}
        <p className="flex justify-between gap-2 text-[11px] text-gray-500"><Ticks statuses={e.statuses} /><span>{formatTime(e.received_at)}</span></p>
      </div></div>
    ) })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const lastKey = `${thread.length}:${mine.map((e) => e.statuses?.length ?? 0).join()}`;
  useEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lastKey]);

  if (connQ.isError) return <Card><ErrorState error={connQ.error} onRetry={() => connQ.refetch()} /></Card>;
  const isFile = FILE_TYPES.includes(type);
  return (
    <div className={embedded ? '' : 'grid gap-4 lg:grid-cols-[380px_1fr]'}>
      <div className="mx-auto w-full max-w-[380px] rounded-[2rem] border-[10px] border-gray-800 bg-gray-800 shadow-xl" data-testid="sandbox-phone">
        <div className="flex items-center gap-2 rounded-t-[1.4rem] bg-brand-700 px-3 py-2 text-white">
          {!embedded && <Link to="/settings/connections" aria-label={t('common.back')}><ArrowLeft className="h-5 w-5" aria-hidden /></Link>}
          <div className="min-w-0">
            <p className="truncate text-sm font-medium">{connQ.data?.name ?? '…'}</p>
            <p className="truncate text-[11px] opacity-80">{t('phone.as', { name: name || digits })}</p>
          </div>
        </div>
        <div ref={scroller} className="chat-wallpaper h-[420px] space-y-1.5 overflow-y-auto p-2 scroll-thin" data-testid="phone-thread" aria-live="polite">
          {outboxQ.isPending ? <SkeletonRows rows={3} /> : thread.length === 0 ? <EmptyState title={t('phone.empty')} description={t('phone.empty_hint')} /> : thread.map((x) => <div key={x.key}>{x.node}</div>)}
        </div>
        <form className="space-y-2 rounded-b-[1.4rem] bg-chat-panel p-2" onSubmit={(e) => { e.preventDefault(); send.mutate(undefined); }}>
          <FormError error={send.error} />
          <Select aria-label={t('phone.type')} value={type} onChange={(e) => setType(e.target.value as PhoneType)} data-testid="phone-type">
            {PHONE_TYPES.map((x) => <option key={x} value={x}>{t(`phone.types.${x}`)}</option>)}
          </Select>
          {isFile && <Input type="file" aria-label={t('phone.file')} data-testid="phone-file" onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            accept={type === 'image' || type === 'sticker' ? 'image/*' : type === 'audio' || type === 'voice' ? 'audio/*' : type === 'video' ? 'video/*' : undefined} />}
          {type === 'location' && (
            <div className="grid grid-cols-2 gap-1">
              <Input aria-label={t('phone.latitude')} value={lat} onChange={(e) => setLat(e.target.value)} />
              <Input aria-label={t('phone.longitude')} value={lng} onChange={(e) => setLng(e.target.value)} />
              <Input className="col-span-2" aria-label={t('phone.place')} placeholder={t('phone.place')} value={place} onChange={(e) => setPlace(e.target.value)} />
            </div>
          )}
          {type === 'contacts' && (
            <div className="grid grid-cols-2 gap-1">
              <Input aria-label={t('phone.card_name')} placeholder={t('phone.card_name')} value={cardName} onChange={(e) => setCardName(e.target.value)} required />
              <Input aria-label={t('phone.card_phone')} placeholder={t('phone.card_phone')} value={cardPhone} onChange={(e) => setCardPhone(e.target.value)} required />
            </div>
          )}
          {type === 'reaction' && (
            <div className="flex gap-1">
              <Select aria-label={t('phone.react_to')} value={targetId} onChange={(e) => setTarget(e.target.value)} className="min-w-0 flex-1">
                {mine.length === 0 && <option value="">{t('phone.nothing_to_react')}</option>}
                {mine.map((e) => <option key={e.message_id} value={e.message_id}>{outboxSummary(e).slice(0, 40) || e.type}</option>)}
              </Select>
              <Select aria-label={t('phone.emoji')} value={emoji} onChange={(e) => setEmoji(e.target.value)} className="w-20">{EMOJIS.map((x) => <option key={x}>{x}</option>)}</Select>
            </div>
          )}
          {type === 'button_reply' && (
            <Select aria-label={t('phone.button')} value={chosenButton ? `${chosenButton.message}|${chosenButton.id}` : ''} onChange={(e) => setButton(e.target.value)}>
              {buttons.length === 0 && <option value="">{t('phone.no_buttons')}</option>}
              {buttons.map((b) => <option key={`${b.message}|${b.id}`} value={`${b.message}|${b.id}`}>{b.title}</option>)}
            </Select>
          )}
          <div className="flex items-end gap-1">
            {(type === 'text' || isFile) && (
              <Input className="min-w-0 flex-1" aria-label={type === 'text' ? t('phone.message') : t('phone.caption')} placeholder={type === 'text' ? t('phone.message') : t('phone.caption')}
                value={text} onChange={(e) => setText(e.target.value)} data-testid="phone-text" />
            )}
            <Button type="submit" className="ml-auto" loading={send.isPending} aria-label={t('phone.send')} data-testid="phone-send"
              disabled={(type === 'text' && !text.trim()) || (isFile && !file) || (type === 'reaction' && !targetId) || (type === 'button_reply' && !chosenButton)}>
              <Send className="h-4 w-4" aria-hidden />
            </Button>
          </div>
        </form>
      </div>
      {embedded ? null : <Card className="h-fit space-y-3 p-4">
        <h2 className="flex items-center gap-2 font-semibold text-gray-900"><Smartphone className="h-5 w-5 text-brand-600" aria-hidden /> {t('phone.title')}</h2>
        <p className="text-sm text-gray-600">{t('phone.description')}</p>
        <Field label={t('phone.number')} htmlFor="phone-from"><Input id="phone-from" value={from} onChange={(e) => setFrom(e.target.value)} inputMode="tel" /></Field>
        <Field label={t('phone.name')} htmlFor="phone-name"><Input id="phone-name" value={name} onChange={(e) => setName(e.target.value)} /></Field>
        {outboxQ.isError && <FormError error={outboxQ.error} />}
        <p className="text-xs text-gray-500">{t('phone.poll_hint')}</p>
      </Card>}
    </div>
  );
}
