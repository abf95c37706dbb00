// A conversation with every message type and delivery status: used by the
// component tests and by the preview at /inbox/preview.
import type { Conversation, Message } from '../../api/types';

const base = { conversation_id: 'demo-conversation', external_id: null, error: null, sent_by: null, delivered_at: null, read_at: null };

function at(daysAgo: number, hh: number, mm: number, now = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, hh, mm);
  return d.toISOString();
}

const PIXEL_GREEN =
  'data:image/svg+xml;utf8,' +
  encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#a7d7c5"/><circle cx="250" cy="55" r="28" fill="#ffd166"/><path d="M0 200 L110 90 L200 170 L260 120 L320 180 L320 200 Z" fill="#2d6a4f"/></svg>');
const STICKER =
  'data:image/svg+xml;utf8,' +
  encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128"><circle cx="64" cy="64" r="60" fill="#ffd166"/><circle cx="44" cy="52" r="8" fill="#333"/><circle cx="84" cy="52" r="8" fill="#333"/><path d="M36 80 Q64 110 92 80" stroke="#333" stroke-width="6" fill="none"/></svg>');

export function fixtureMessages(now = new Date()): Message[] {
  let seq = 0;
  const m = (x: Partial<Message> & Pick<Message, 'type' | 'direction'>, daysAgo: number, hh: number, mm: number): Message => ({
    ...base,
    id: `m${++seq}`,
    seq,
    status: x.direction === 'inbound' ? 'received' : 'read',
    created_at: at(daysAgo, hh, mm, now),
    ...x,
  });
  return [
    m({ type: 'text', direction: 'inbound', text: 'Oi! Vocês entregam em Campinas?', external_id: 'wamid.1' }, 1, 9, 12),
    m({ type: 'text', direction: 'outbound', text: 'Olá, Maria! Entregamos sim, em até 2 dias úteis. 🚚', sent_by_name: 'Agente Demo' }, 1, 9, 14),
    m({ type: 'image', direction: 'inbound', media: { url: PIXEL_GREEN, mime_type: 'image/svg+xml', caption: 'Esse modelo tem na cor verde?' } }, 1, 9, 20),
    m({ type: 'audio', direction: 'inbound', media: { mime_type: 'audio/ogg', voice: true } }, 1, 9, 21),
    m({ type: 'note', direction: 'outbound', text: 'Cliente recorrente, oferecer frete grátis.', sent_by_name: 'Admin Demo', status: 'sent' }, 1, 9, 23),
    m({ type: 'document', direction: 'outbound', media: { filename: 'catalogo-verao-2026.pdf', mime_type: 'application/pdf', size: 2_457_600 } }, 0, 10, 2),
    m({ type: 'location', direction: 'inbound', location: { latitude: -22.9056, longitude: -47.0608, name: 'Loja Centro', address: 'R. Barão de Jaguara, 1000 - Campinas, SP' } }, 0, 10, 5),
    m({ type: 'contacts', direction: 'inbound', contacts: [{ name: { formatted_name: 'João Souza' }, phones: [{ phone: '+55 19 99876-5432' }] }] }, 0, 10, 6),
    m({ type: 'video', direction: 'inbound', media: { mime_type: 'video/mp4', caption: 'Vídeo do defeito' } }, 0, 10, 7),
    m({ type: 'sticker', direction: 'inbound', media: { url: STICKER, mime_type: 'image/webp' } }, 0, 10, 8),
    m({ type: 'text', direction: 'outbound', text: 'Perfeito, já separei o seu pedido!', reply_to_id: 'm3', status: 'delivered' }, 0, 10, 9),
    m({ type: 'reaction', direction: 'inbound', reaction: { target_id: 'm11', emoji: '❤️' } }, 0, 10, 10),
    m({ type: 'button_reply', direction: 'inbound', text: 'Confirmar pedido' }, 0, 10, 11),
    m({ type: 'unsupported', direction: 'inbound' }, 0, 10, 12),
    m({ type: 'text', direction: 'outbound', text: 'Pedido confirmado ✅', status: 'sent' }, 0, 10, 13),
    m({ type: 'text', direction: 'outbound', text: 'Segue o código de rastreio', status: 'pending' }, 0, 10, 14),
    m({ type: 'text', direction: 'outbound', text: 'Link de pagamento', status: 'failed', error: { code: '131047', message: 'Janela de 24 horas encerrada' } }, 0, 10, 15),
  ];
}

export function fixtureConversation(now = new Date()): Conversation {
  return {
    id: 'demo-conversation',
    connection_id: 'sandbox',
    channel: 'whatsapp',
    contact_id: 'c1',
    contact: { id: 'c1', name: 'Maria Oliveira', phone: '+55 19 98765-4321' },
    status: 'in_progress',
    assignee_id: null,
    assignee_name: 'Agente Demo',
    team_id: null,
    label_ids: [],
    unread_count: 2,
    last_message: { type: 'text', text: 'Pedido confirmado ✅', direction: 'outbound', created_at: at(0, 10, 15, now), status: 'sent' },
    last_message_at: at(0, 10, 15, now),
    window_expires_at: new Date(now.getTime() + 5 * 3600_000).toISOString(),
  };
}
