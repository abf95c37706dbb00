import clsx from 'clsx';
import { Camera, MessageCircle, MessageSquare } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { Channel } from '../../api/types';

export function ChannelIcon({ channel, className }: { channel?: Channel; className?: string }) {
  const { t } = useTranslation();
  const label = t(`inbox.channels.${channel ?? 'whatsapp'}`);
  if (channel === 'instagram') return <Camera className={clsx('h-3.5 w-3.5 text-pink-600', className)} aria-label={label} />;
  if (channel === 'messenger') return <MessageSquare className={clsx('h-3.5 w-3.5 text-blue-600', className)} aria-label={label} />;
  return <MessageCircle className={clsx('h-3.5 w-3.5 text-brand-600', className)} aria-label={label} />;
}
