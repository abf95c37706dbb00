import { Navigate, Route, Routes } from 'react-router';
import { PageBody } from '../../components/Shell';
import Metrics from './Metrics';
import Plans from './Plans';
import Tenants from './Tenants';

export default function Platform() {
  return (
    <PageBody>
      <div className="mx-auto max-w-6xl">
        <Routes>
          <Route index element={<Metrics />} />
          <Route path="plans" element={<Plans />} />
          <Route path="tenants" element={<Tenants />} />
          <Route path="*" element={<Navigate to="/platform" replace />} />
        </Routes>
      </div>
    </PageBody>
  );
}
