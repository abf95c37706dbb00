import { AlertCircle, Check, CheckCheck, Clock } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { DeliveryStatus } from '../../api/types';

/** WhatsApp's delivery ticks: clock, one grey, two grey, two blue; a red mark when it failed. */
export function Ticks({ status }: { status: DeliveryStatus }) {
  const { t } = useTranslation();
  const label = t(`chat.status.${status}`, { defaultValue: status });
  switch (status) {
    case 'pending':
      return <Clock className="h-3.5 w-3.5 text-gray-400" aria-label={label} data-status="pending" />;
    case 'sent':
      return <Check className="h-4 w-4 text-gray-400" aria-label={label} data-status="sent" />;
    case 'delivered':
      return <CheckCheck className="h-4 w-4 text-gray-400" aria-label={label} data-status="delivered" />;
    case 'read':
    case 'played':
      return <CheckCheck className="h-4 w-4 text-chat-tick" aria-label={label} data-status={status} />;
    case 'failed':
      return <AlertCircle className="h-4 w-4 text-red-500" aria-label={label} data-status="failed" />;
    default:
      return null;
  }
}
