import { Compass } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { EmptyState } from '../components/ui';

export default function NotFound() {
  const { t } = useTranslation();
  return (
    <EmptyState
      icon={<Compass className="h-6 w-6" aria-hidden />}
      title={t('not_found.title')}
      description={t('not_found.description')}
      action={<Link to="/" className="text-sm font-medium text-brand-600 hover:underline">{t('not_found.home')}</Link>}
    />
  );
}
