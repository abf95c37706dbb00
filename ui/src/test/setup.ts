import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';
import '../i18n';

// findBy*/waitFor give up after 1 s by default: on a loaded 2-core CI machine
// running the Go tests beside these, a render chain of a few queries can take
// longer. A test that waits for something that never comes still fails.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  localStorage.clear();
});
