import clsx from 'clsx';
import { Ban, Contact as ContactIcon, CornerUpLeft, FileText, Image as ImageIcon, MapPin, Mic, MousePointerClick, RotateCcw, Share2, StickyNote, Video } from 'lucide-react';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState, type ReactNode } from 'react';
import { media as mediaApi } from '../../api/endpoints';
import { useTranslation } from 'react-i18next';
import type { Message, Reaction } from '../../api/types';
import { formatBytes, formatTime } from '../../lib/format';
import { Modal } from '../ui';
import { Ticks } from './Ticks';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A URL the console's Content-Security-Policy lets it load: our own origin,
 * data: or blob:. A provider's CDN URL (Messenger, Instagram) is not one; the
 * stored copy is shown instead.
 */
function ownUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (/^(data|blob):/i.test(url)) return url;
  try {
    return new URL(url, window.location.href).origin === window.location.origin ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The media's URL: given in the message, or a fresh signed URL from GET /api/v1/media/{id}. */
export function useMediaUrl(m: Message): string | undefined {
  // media_id is our stored copy (set shortly after an inbound message arrives); id may be the provider's
  const id = [m.media?.media_id, m.media?.id].find((x): x is string => !!x && UUID.test(x));
  const given = ownUrl(m.media?.url);
  const need = !given && !!id;
  const q = useQuery({ queryKey: ['media', id], queryFn: () => mediaApi.get(id!), enabled: need, staleTime: 4 * 60_000, retry: false });
  return given || q.data?.url;
}

export function isNote(m: Message): boolean {
  return m.type === 'note' || !!m.is_note;
}

/** Sources that write outbound messages without a user: their name on the bubble. */
const VIA_LABELS = ['bot', 'campaign', 'schedule', 'api'];

/**
 * Who wrote a message that has no user behind it: "Bot" (or Campanha, API…)
 * for an outbound message by its via, "Chatbot" for a note without an author
 * (the bot's errors, such as a flow cut for looping). Null otherwise.
 */
export function sourceAuthor(m: Message, t: (key: string) => string): string | null {
  if (m.sent_by) return null;
  if (isNote(m)) return t('chat.bot_note_author');
  if (m.direction === 'outbound' && m.via && VIA_LABELS.includes(m.via)) return t(`chat.via.${m.via}`);
  return null;
}

export function errorText(m: Message): string | null {
  if (!m.error) return null;
  if (typeof m.error === 'string') return m.error;
  return m.error.message || m.error.title || (m.error.code !== undefined ? String(m.error.code) : null);
}

/** The text parameters of a sent template (its components' parameters). */
export function templateParams(tpl: Message['template']): string[] {
  const comps = Array.isArray(tpl?.components) ? (tpl.components as { parameters?: { text?: string }[] }[]) : [];
  return comps.flatMap((c) => (c.parameters ?? []).map((p) => p.text ?? '')).filter(Boolean);
}

/** Turns bare URLs in text into links. */
export function Linkify({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s]+)/g);
  return (
    <>
      {parts.map((p, i) =>
        /^https?:\/\//.test(p) ? (
          <a key={i} href={p} target="_blank" rel="noopener noreferrer" className="break-all text-sky-700 underline">{p}</a>
        ) : (
          <Fragment key={i}>{p}</Fragment>
        ),
      )}
    </>
  );
}

/** One line describing a message, for reply quotes and the conversation list. */
export function messagePreview(m: Pick<Message, 'type' | 'text' | 'media' | 'location' | 'contacts'>, t: (k: string, o?: Record<string, unknown>) => string): string {
  const caption = m.text || m.media?.caption || '';
  if (m.type === 'template') return m.text || `📄 ${t('chat.types.template')}`;
  if (m.type === 'interactive') {
    const it = (m as Pick<Message, 'interactive'>).interactive;
    return it?.button_reply?.title || it?.list_reply?.title || it?.body || m.text || t('chat.types.button_reply');
  }
  switch (m.type) {
    case 'text':
    case 'note':
    case 'button_reply':
    case 'list_reply':
    case 'quick_reply':
    case 'postback':
    case 'template_button':
      return m.text || '';
    case 'image': return caption ? `📷 ${caption}` : `📷 ${t('chat.types.image')}`;
    case 'video': return caption ? `🎥 ${caption}` : `🎥 ${t('chat.types.video')}`;
    case 'audio': return m.media?.voice ? `🎤 ${t('chat.types.voice')}` : `🎵 ${t('chat.types.audio')}`;
    case 'document': return `📄 ${m.media?.filename || caption || t('chat.types.document')}`;
    case 'sticker': return `💟 ${t('chat.types.sticker')}`;
    case 'location': return `📍 ${m.location?.name || t('chat.types.location')}`;
    case 'contacts': return `👤 ${m.contacts?.[0]?.name?.formatted_name || t('chat.types.contacts')}`;
    case 'share': return `🔗 ${m.text || t('chat.types.share')}`;
    case 'reaction': return t('chat.types.reaction');
    default: return t('chat.types.unsupported');
  }
}

function MediaMissing({ icon, label }: { icon: ReactNode; label: string }) {
  return (
    <div className="flex h-32 w-64 max-w-full flex-col items-center justify-center gap-1 rounded-md bg-black/5 text-xs text-gray-500">
      {icon}
      <span>{label}</span>
    </div>
  );
}

function ImageBody({ m, url }: { m: Message; url?: string }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  if (!url) return <MediaMissing icon={<ImageIcon className="h-6 w-6" aria-hidden />} label={t('chat.media_unavailable')} />;
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} className="block overflow-hidden rounded-md focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500" aria-label={t('chat.open_image')}>
        <img src={url} alt={m.media?.caption || t('chat.types.image')} className="max-h-72 w-auto max-w-full object-cover" loading="lazy" />
      </button>
      <Modal open={open} onOpenChange={setOpen} title={m.media?.caption || t('chat.types.image')} wide>
        <img src={url} alt={m.media?.caption || t('chat.types.image')} className="mx-auto max-h-[75vh] w-auto" />
        <div className="mt-3 text-right"><a href={url} download target="_blank" rel="noopener noreferrer" className="text-sm font-medium text-brand-600 hover:underline">{t('chat.download')}</a></div>
      </Modal>
    </>
  );
}

function Caption({ m }: { m: Message }) {
  const text = m.media?.caption || (m.type !== 'text' ? m.text : null);
  if (!text) return null;
  return <p className="mt-1 whitespace-pre-wrap break-words"><Linkify text={text} /></p>;
}

function Body({ m }: { m: Message }) {
  const { t } = useTranslation();
  const url = useMediaUrl(m);
  switch (m.type) {
    case 'text':
    case 'note':
      return <p className="whitespace-pre-wrap break-words"><Linkify text={m.text ?? ''} /></p>;
    case 'image':
      return <><ImageBody m={m} url={url} /><Caption m={m} /></>;
    case 'sticker':
      return url
        ? <img src={url} alt={t('chat.types.sticker')} className="h-32 w-32 object-contain" loading="lazy" />
        : <MediaMissing icon={<ImageIcon className="h-6 w-6" aria-hidden />} label={t('chat.types.sticker')} />;
    case 'video':
      return (
        <>
          {url ? <video src={url} controls preload="metadata" className="max-h-72 max-w-full rounded-md" /> : <MediaMissing icon={<Video className="h-6 w-6" aria-hidden />} label={t('chat.media_unavailable')} />}
          <Caption m={m} />
        </>
      );
    case 'audio':
      return (
        <div className="flex min-w-[240px] items-center gap-2" data-voice={m.media?.voice ? 'true' : 'false'}>
          <span className={clsx('flex h-9 w-9 shrink-0 items-center justify-center rounded-full text-white', m.media?.voice ? 'bg-brand-500' : 'bg-orange-400')}>
            <Mic className="h-4 w-4" aria-hidden />
          </span>
          <div className="min-w-0 flex-1">
            <p className="text-xs text-gray-500">{m.media?.voice ? t('chat.types.voice') : t('chat.types.audio')}</p>
            {url ? <audio src={url} controls preload="none" className="h-8 w-full" /> : <p className="text-xs italic text-gray-500">{t('chat.media_unavailable')}</p>}
          </div>
        </div>
      );
    case 'document': {
      const name = m.media?.filename || t('chat.types.document');
      const ext = (name.split('.').pop() ?? '').toUpperCase().slice(0, 4);
      const size = formatBytes(m.media?.size ?? m.media?.file_size);
      const inner = (
        <div className="flex min-w-[220px] items-center gap-3 rounded-md bg-black/5 p-2">
          <FileText className="h-8 w-8 shrink-0 text-red-500" aria-hidden />
          <div className="min-w-0">
            <p className="truncate text-sm font-medium" data-testid="document-name">{name}</p>
            <p className="text-xs text-gray-500">{[ext, size].filter(Boolean).join(' · ')}</p>
          </div>
        </div>
      );
      return (
        <>
          {url ? <a href={url} target="_blank" rel="noopener noreferrer" download={name} aria-label={t('chat.download_item', { name })}>{inner}</a> : inner}
          {m.media?.caption && <Caption m={m} />}
        </>
      );
    }
    case 'location': {
      const l = m.location;
      if (!l) return <p className="italic text-gray-500">{t('chat.types.location')}</p>;
      const href = l.url || `https://www.google.com/maps/search/?api=1&query=${l.latitude},${l.longitude}`;
      return (
        <a href={href} target="_blank" rel="noopener noreferrer" className="block min-w-[220px] overflow-hidden rounded-md bg-black/5 hover:bg-black/10">
          <div className="flex h-24 items-center justify-center bg-[linear-gradient(135deg,#d4e8d4,#c7dcef)]"><MapPin className="h-8 w-8 text-red-500" aria-hidden /></div>
          <div className="p-2">
            <p className="text-sm font-medium">{l.name || t('chat.types.location')}</p>
            {l.address && <p className="text-xs text-gray-600">{l.address}</p>}
            <p className="mt-1 text-xs font-medium text-sky-700">{t('chat.open_map')}</p>
          </div>
        </a>
      );
    }
    case 'contacts':
      return (
        <div className="min-w-[220px] space-y-2">
          {(m.contacts ?? []).map((c, i) => (
            <div key={i} className="flex items-center gap-3 rounded-md bg-black/5 p-2">
              <span className="flex h-9 w-9 items-center justify-center rounded-full bg-gray-300 text-white"><ContactIcon className="h-5 w-5" aria-hidden /></span>
              <div className="min-w-0">
                <p className="truncate text-sm font-medium">{c.name?.formatted_name || [c.name?.first_name, c.name?.last_name].filter(Boolean).join(' ') || t('chat.types.contacts')}</p>
                {(c.phones ?? []).map((p, j) => <p key={j} className="font-mono text-xs text-gray-600">{p.phone || p.wa_id}</p>)}
                {c.orgs?.[0]?.company && <p className="text-xs text-gray-500">{c.orgs[0].company}</p>}
              </div>
            </div>
          ))}
        </div>
      );
    case 'interactive': {
      const it = m.interactive;
      const tapped = it?.button_reply ?? it?.list_reply;
      if (tapped || m.direction === 'inbound') {
        return (
          <div data-testid="button-reply">
            <p className="mb-0.5 flex items-center gap-1 text-xs text-gray-500"><MousePointerClick className="h-3 w-3" aria-hidden /> {t('chat.types.button_reply')}</p>
            <p className="whitespace-pre-wrap break-words">{tapped?.title || m.text}</p>
          </div>
        );
      }
      const options = [...(it?.buttons ?? []), ...(it?.sections ?? []).flatMap((sec) => sec.rows ?? [])];
      return (
        <div className="min-w-[200px]">
          {it?.header && <p className="font-semibold">{it.header}</p>}
          <p className="whitespace-pre-wrap break-words"><Linkify text={it?.body || m.text || ''} /></p>
          {it?.footer && <p className="text-xs text-gray-500">{it.footer}</p>}
          <div className="mt-1 space-y-1">
            {options.map((b) => <p key={b.id} className="rounded-md bg-white/70 px-2 py-1 text-center text-sm text-sky-700">{b.title}</p>)}
          </div>
        </div>
      );
    }
    case 'button_reply':
    case 'list_reply':
    case 'quick_reply':
    case 'template_button':
    case 'postback':
      return (
        <div>
          <p className="mb-0.5 flex items-center gap-1 text-xs text-gray-500"><MousePointerClick className="h-3 w-3" aria-hidden /> {t('chat.types.button_reply')}</p>
          <p className="whitespace-pre-wrap break-words">{m.text}</p>
        </div>
      );
    case 'template':
      return (
        <div>
          <p className="mb-0.5 text-xs text-gray-500">{t('chat.types.template')}{m.template?.name ? ` · ${m.template.name}` : ''}</p>
          <p className="whitespace-pre-wrap break-words"><Linkify text={m.text || templateParams(m.template).join(' · ')} /></p>
        </div>
      );
    case 'share':
      return <p className="flex items-center gap-1 break-words"><Share2 className="h-4 w-4 shrink-0" aria-hidden /> <Linkify text={m.text || url || t('chat.types.share')} /></p>;
    default:
      return (
        <p className="flex items-center gap-1.5 italic text-gray-500" data-testid="unsupported">
          <Ban className="h-4 w-4 shrink-0" aria-hidden /> {m.type === 'unsupported' ? t('chat.unsupported_plain') : t('chat.unsupported', { type: m.type })}
        </p>
      );
  }
}

export interface BubbleProps {
  message: Message;
  /** The message this one replies to, when loaded. */
  replyTo?: Message | null;
  reactions?: Reaction[];
  /** Who wrote an outbound message or note (agent name). */
  author?: string | null;
  /** First of a run from the same side: draw the bubble's tail. */
  tail?: boolean;
  onReply?: (m: Message) => void;
  /** Send a failed optimistic message again (same idempotency key). */
  onRetry?: (m: Message) => void;
}

export function MessageBubble({ message: m, replyTo, reactions = [], author: given, tail = true, onReply, onRetry }: BubbleProps) {
  const { t } = useTranslation();
  const author = given || sourceAuthor(m, t);
  if (isNote(m)) {
    return (
      <div className="my-1 flex justify-center px-2" data-testid="note" data-message-id={m.id}>
        <div className="w-full max-w-xl rounded-lg border border-amber-200 bg-chat-note px-3 py-2 text-sm text-gray-800 shadow-sm">
          <p className="mb-1 flex items-center gap-1 text-xs font-medium text-amber-800">
            <StickyNote className="h-3.5 w-3.5" aria-hidden /> {t('chat.note')}{author ? ` · ${author}` : ''}
          </p>
          <p className="whitespace-pre-wrap break-words"><Linkify text={m.text ?? ''} /></p>
          <p className="mt-1 text-right text-[11px] text-gray-500">{formatTime(m.created_at)}</p>
        </div>
      </div>
    );
  }
  const out = m.direction === 'outbound';
  const sticker = m.type === 'sticker';
  const err = m.status === 'failed' ? errorText(m) : null;
  const shown = reactions.filter((r) => r.emoji && !r.removed);
  return (
    <div className={clsx('group flex px-3 sm:px-[6%]', out ? 'justify-end' : 'justify-start', shown.length ? 'mb-5' : 'mb-0.5', tail && 'mt-2')}
      data-testid="bubble" data-message-id={m.id} data-type={m.type} data-direction={m.direction} data-status={m.status} data-local={m.local ? 'true' : undefined} data-idempotency-key={m.idempotency_key ?? undefined}>
      <div className={clsx('relative max-w-[85%] sm:max-w-[65%]')}>
        <div
          className={clsx(
            'relative text-[14.2px] leading-[19px] text-gray-900',
            !sticker && 'rounded-lg px-2 pb-1 pt-1.5 shadow-[0_1px_0.5px_rgba(11,20,26,0.13)]',
            !sticker && (out ? 'bg-chat-out' : 'bg-chat-in'),
            !sticker && tail && (out ? 'rounded-tr-none' : 'rounded-tl-none'),
            m.status === 'failed' && 'ring-1 ring-red-300',
          )}
        >
          {out && author && tail && <p className="mb-0.5 text-xs font-medium text-brand-700">{author}</p>}
          {m.reply_to_id && (
            <div className={clsx('mb-1 rounded-md border-l-4 px-2 py-1 text-xs', out ? 'border-brand-600 bg-black/5' : 'border-sky-500 bg-black/5')} data-testid="reply-quote">
              <p className={clsx('font-medium', replyTo?.direction === 'outbound' ? 'text-brand-700' : 'text-sky-700')}>
                {replyTo ? (replyTo.direction === 'outbound' ? t('chat.you') : t('chat.customer')) : t('chat.reply')}
              </p>
              <p className="line-clamp-2 text-gray-600">{replyTo ? messagePreview(replyTo, t) : t('chat.reply_not_loaded')}</p>
            </div>
          )}
          <Body m={m} />
          <div className={clsx('float-right ml-2 mt-1 flex items-center gap-1 text-[11px] text-gray-500', sticker && 'rounded bg-white/80 px-1')}>
            <span>{formatTime(m.created_at)}</span>
            {out && <Ticks status={m.status} />}
          </div>
          <div className="clear-both" />
          {onReply && (
            <button type="button" onClick={() => onReply(m)} aria-label={t('chat.reply')}
              className={clsx('absolute top-1 hidden rounded-full bg-white p-1 text-gray-500 shadow group-hover:block focus:block', out ? '-left-8' : '-right-8')}>
              <CornerUpLeft className="h-3.5 w-3.5" aria-hidden />
            </button>
          )}
        </div>
        {shown.length > 0 && (
          <div className="absolute -bottom-4 left-2 flex gap-0.5 rounded-full border border-gray-100 bg-white px-1.5 py-0.5 text-sm shadow" data-testid="reactions">
            {shown.map((r, i) => <span key={i} title={r.from}>{r.emoji}</span>)}
          </div>
        )}
        {err !== null && (
          <p className="mt-1 text-right text-xs text-red-600" role="alert" data-testid="send-error">{t('chat.failed', { reason: err || t('chat.failed_unknown') })}</p>
        )}
        {m.status === 'failed' && !err && <p className="mt-1 text-right text-xs text-red-600" role="alert">{t('chat.failed', { reason: t('chat.failed_unknown') })}</p>}
        {m.local && m.status === 'failed' && onRetry && !(typeof m.error === 'object' && m.error?.code === 'window_closed') && (
          <div className="mt-0.5 text-right">
            <button type="button" onClick={() => onRetry(m)} data-testid="retry-send" className="inline-flex items-center gap-1 rounded px-1 text-xs font-medium text-brand-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500">
              <RotateCcw className="h-3 w-3" aria-hidden /> {t('chat.retry')}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
