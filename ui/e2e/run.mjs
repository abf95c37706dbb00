// End-to-end run of the console in real Chromium (playwright-core, Debian's
// chromium). Expects a running `crm serve --demo` at CRM_E2E_URL.
//
//   CRM_E2E_URL=http://127.0.0.1:8080 node e2e/run.mjs
//
// Optional: CRM_E2E_SCREENSHOTS (default <repo>/artifacts/screenshots),
// CHROMIUM_PATH (default /usr/bin/chromium), CRM_E2E_PASSWORD,
// CRM_E2E_DATABASE_URL (the server's database, for psql: the window-closed
// scenario closes a conversation's 24-hour window there).
// Every step runs even when an earlier one failed (unless it depends on it);
// the exit status is 1 when any step failed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { routingSteps } from './routing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.CRM_E2E_URL ?? '').replace(/\/$/, '');
if (!BASE) {
  console.error('CRM_E2E_URL is not set (the URL of a running `crm serve --demo`)');
  process.exit(2);
}
const SHOTS = process.env.CRM_E2E_SCREENSHOTS ?? resolve(here, '../../artifacts/screenshots');
const PASSWORD = process.env.CRM_E2E_PASSWORD ?? 'demo-pass-123';
const ADMIN = 'admin@demo.crm';
const AGENT = 'agent@demo.crm';
const OWNER = 'owner@demo.crm';
const run = Date.now().toString(36);
// unique mobile numbers per run (the server refuses a phone twice)
const phone = (area) => `+55 ${area} 9${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
mkdirSync(SHOTS, { recursive: true });
// screenshots of earlier runs (e.g. of scenarios since renamed) would not be in index.json: start clean
for (const f of readdirSync(SHOTS)) if (/^\d+[a-z]?-[\w-]+\.png$/.test(f)) unlinkSync(join(SHOTS, f));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const results = [];
const pageErrors = [];
const cspViolations = [];
const shots = [];

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - started, error: String(err?.stack ?? err) });
    const lines = String(err?.message ?? err).split('\n').map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
    console.log(`FAIL ${name}\n     ${lines.slice(0, 12).join('\n     ')}`);
    return false;
  }
}

async function newPage(label, viewport = { width: 1366, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'pt-BR', timezoneId: 'America/Sao_Paulo' });
  // Every page of the context reports what its Content-Security-Policy refused (the init script itself is
  // injected by the browser, outside the page's policy).
  await context.exposeBinding('__reportCspViolation', ({ page: from }, v) => cspViolations.push(`[${label}] ${from.url()}: ${v}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCspViolation(`${e.violatedDirective} refused ${e.blockedURI || '(inline)'} at ${e.sourceFile || '?'}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => pageErrors.push(`[${label}] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(msg.text())) pageErrors.push(`[${label}] console: ${msg.text()}`);
  });
  return { context, page };
}

async function shot(page, name, what) {
  const file = join(SHOTS, `${name}.png`);
  await page.waitForTimeout(250); // let skeletons settle
  await page.screenshot({ path: file, fullPage: false });
  shots.push({ file, what });
}

async function login(page, email, password = PASSWORD) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Senha').fill(password);
  await page.getByRole('button', { name: 'Entrar', exact: true }).click();
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible' });
  } catch {
    throw new Error(`not visible: ${what}`);
  }
}

async function expectText(page, text) {
  await expectVisible(page.getByText(text, { exact: false }), `text "${text}"`);
}

// ---------------------------------------------------------------- admin
const admin = await newPage('admin');
let adminIn = false;

await step('login page renders in Portuguese and says when the password is wrong', async () => {
  const { page } = admin;
  await page.goto(`${BASE}/login`);
  await expectText(page, 'Acesse o console de atendimento');
  await shot(page, '01-login', 'Login page (pt-BR)');
  await login(page, `ninguem-${run}@demo.crm`, 'senha-errada-123');
  await expectVisible(page.getByTestId('login-error').filter({ hasText: 'E-mail ou senha incorretos.' }), 'invalid credentials message');
  await shot(page, '02-login-error', 'Login with a wrong password: the error under the title');
});

await step('the console is served with a strict Content-Security-Policy, no framing, no sniffing', async () => {
  const { page } = admin;
  const res = await page.goto(`${BASE}/login`);
  const h = res.headers();
  const csp = Object.fromEntries((h['content-security-policy'] ?? '').split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  if (JSON.stringify(csp['script-src']) !== JSON.stringify(["'self'"])) throw new Error(`script-src must be 'self' only: ${h['content-security-policy']}`);
  if (!csp['frame-ancestors']?.includes("'none'")) throw new Error(`frame-ancestors 'none' missing: ${h['content-security-policy']}`);
  if (!csp['connect-src']?.includes("'self'")) throw new Error(`connect-src 'self' missing: ${h['content-security-policy']}`);
  const want = { 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' };
  for (const [k, v] of Object.entries(want)) if (h[k] !== v) throw new Error(`${k}: want ${v}, got ${h[k]}`);
  await expectText(page, 'Acesse o console de atendimento');
});

adminIn = await step('admin signs in and lands in the inbox', async () => {
  const { page } = admin;
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  const nav = page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true });
  for (const item of ['Conversas', 'Contatos', 'Configurações']) await expectVisible(nav.getByRole('link', { name: item }), `sidebar ${item}`);
  for (const tab of ['Minhas', 'Fila', 'Minhas equipes', 'Todas']) await expectVisible(page.getByRole('tab', { name: tab, exact: true }), `tab ${tab}`);
  await expectVisible(page.getByTestId('inbox-placeholder'), 'inbox placeholder');
  await shot(page, '03-inbox-admin', 'Inbox as the tenant admin: conversation list with the four tabs, empty state, WhatsApp-like placeholder');
});

if (adminIn) {
  const labelName = `VIP ${run}`;
  await step('admin creates a label and sees it listed', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Configurações' }).filter({ visible: true }).click();
    await page.getByRole('link', { name: 'Etiquetas' }).click();
    await page.waitForURL(/\/settings\/labels/);
    await page.getByTestId('new-label').click();
    await page.getByLabel('Nome').fill(labelName);
    await page.getByRole('radio', { name: '#f59e0b' }).click();
    await page.getByTestId('save-label').click();
    await expectVisible(page.getByTestId('labels-list').getByText(labelName), 'the new label in the list');
    await shot(page, '04-settings-labels', 'Settings → Etiquetas with the label created by the test');
  });

  const userEmail = `maria.${run}@demo.crm`;
  const userPassword = 'senha-forte-123';
  const userCreated = await step('admin creates a user and sees it listed', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Usuários' }).click();
    await page.waitForURL(/\/settings\/users/);
    await expectVisible(page.getByTestId('users-list').getByText(AGENT), 'the demo agent in the list');
    await page.getByTestId('new-user').click();
    const form = page.getByTestId('user-form');
    await form.getByLabel('Nome').fill(`Maria Teste ${run}`);
    await form.getByLabel('E-mail').fill(userEmail);
    await form.getByLabel('Senha').fill(userPassword);
    await form.getByLabel('Perfil').selectOption('SUPERVISOR');
    await page.getByTestId('save-user').click();
    await expectVisible(page.getByTestId('users-list').getByText(userEmail), 'the new user in the list');
    await shot(page, '05-settings-users', 'Settings → Usuários with the user created by the test');
  });

  await step('validation errors show next to the fields', async () => {
    const { page } = admin;
    await page.getByTestId('new-user').click();
    const form = page.getByTestId('user-form');
    await form.getByLabel('Nome').fill('Sem Senha');
    await form.getByLabel('E-mail').fill(userEmail); // taken, and the password is too short
    await form.getByLabel('Senha').fill('123');
    await page.getByTestId('save-user').click();
    await expectVisible(form.locator('[data-field-error]'), 'a field error under a field');
    await shot(page, '06-user-form-errors', 'New user form with the server\'s field errors shown in Portuguese next to the fields');
    await page.getByRole('button', { name: 'Cancelar' }).click();
  });

  await step('teams, quick replies and plan pages render', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Equipes' }).click();
    await expectText(page, 'Agrupe agentes');
    await page.getByRole('link', { name: 'Respostas rápidas' }).click();
    await expectText(page, 'Digite / no chat');
    await page.getByRole('link', { name: 'Conexões' }).click();
    await expectVisible(page.getByTestId('connections-list').or(page.getByTestId('empty-state')), 'connections list or empty state');
    await shot(page, '07a-settings-connections', 'Settings → Conexões: the demo sandbox connection and its status');
    await page.getByRole('link', { name: 'Plano e licença' }).click();
    await expectText(page, 'Plano atual');
    await expectVisible(page.getByRole('progressbar', { name: 'Usuários' }), 'users usage bar');
    await shot(page, '07-settings-plan', 'Settings → Plano e licença: usage against limits, license state, plan features');
  });

  await step('Settings → Tokens de API: create a read token (shown once), use it on the API, revoke it with the confirm dialog', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Configurações' }).filter({ visible: true }).click();
    await page.getByRole('link', { name: 'Tokens de API' }).click();
    await page.waitForURL(/\/settings\/api-tokens/);
    await page.getByTestId('new-api-token').click();
    await page.getByLabel('Nome').fill(`ERP ${run}`);
    await page.getByLabel('Permissão').selectOption('read');
    await page.getByTestId('create-api-token').click();
    const secret = (await page.getByTestId('api-token-secret').textContent()).trim();
    if (!/^crm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/.test(secret)) throw new Error(`unexpected token shape: ${secret}`);
    await expectText(page, 'não será mostrado de novo');
    await shot(page, '07b-api-token-created', 'Settings → Tokens de API: the new token shown once, with a copy button and a warning');
    await page.getByTestId('api-token-done').click();
    const row = page.getByTestId('api-tokens-list').locator('tr', { hasText: `ERP ${run}` });
    await expectVisible(row, 'the new token in the list');
    if ((await page.content()).includes(secret)) throw new Error('the secret is still on the page after closing the dialog');

    const asToken = (method, path, body) => fetch(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const read = await asToken('GET', '/api/v1/contacts');
    if (read.status !== 200) throw new Error(`GET /contacts with the read token: ${read.status} ${await read.text()}`);
    const write = await asToken('POST', '/api/v1/labels', { name: `API ${run}` });
    if (write.status !== 403) throw new Error(`POST /labels with the read token: ${write.status} ${await write.text()}`);
    await page.reload();
    await expectVisible(page.getByTestId('api-tokens-list').locator('tr', { hasText: `ERP ${run}` }).filter({ hasNotText: 'Nunca usado' }), 'its last use shown');
    await shot(page, '07c-api-tokens-list', 'Settings → Tokens de API: the token with its scope, creation and last use');

    await page.getByRole('button', { name: `Revogar o token ERP ${run}` }).click();
    await expectVisible(page.getByTestId('confirm-message'), 'the confirm dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Revogar' }).click();
    await until('the token to disappear from the list', async () => (await page.getByTestId('api-tokens-list').locator('tr', { hasText: `ERP ${run}` }).count()) === 0);
    const after = await asToken('GET', '/api/v1/contacts');
    if (after.status !== 401) throw new Error(`GET /contacts with the revoked token: ${after.status}`);
  });

  await step('Settings → Webhooks: subscribe a URL to contact.created, the secret shows once, the new contact\'s delivery is logged and Reenviar sends it again', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await expectText(page, 'Envie os eventos da empresa');
    await page.getByRole('button', { name: 'Novo webhook' }).click();
    // .invalid never resolves: every attempt fails, which is what the log is for.
    await page.getByLabel('URL').fill(`https://hooks-${run}.invalid/crm`);
    await page.getByLabel(/Mensagem criada/).uncheck();
    await page.getByLabel(/Contato criado/).check();
    await page.getByRole('button', { name: 'Salvar' }).click();
    const secret = await page.getByTestId('webhook-secret').textContent();
    if (!/^whsec_/.test(secret ?? '')) throw new Error(`the secret shown once: ${secret}`);
    const token = await apiLogin(ADMIN);
    const subs = await call(token, 'GET', '/api/v1/webhook-subscriptions');
    const sub = subs.items.find((x) => x.url === `https://hooks-${run}.invalid/crm`);
    if (!sub || sub.secret || JSON.stringify(subs).includes(secret)) throw new Error('the list must not carry the secret');
    await call(token, 'POST', '/api/v1/contacts', { name: `Webhook ${run}` });
    await page.getByRole('button', { name: 'Entregas' }).click();
    const rows = page.getByTestId('webhook-deliveries');
    await rows.getByText('Contato criado').first().waitFor({ timeout: 45_000 });
    await shot(page, '07b-settings-webhooks', 'Settings → Webhooks: a subscription and its delivery log (the host does not resolve: the attempt failed and will be retried)');
    await rows.getByRole('button', { name: 'Reenviar o evento Contato criado' }).first().click();
    await expectText(page, 'Evento reenviado');
    await call(token, 'DELETE', `/api/v1/webhook-subscriptions/${sub.id}`);
  });

  await step('contacts: create one and import a CSV with a progress bar', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Contatos' }).filter({ visible: true }).click();
    await page.waitForURL(/\/contacts/);
    await page.getByTestId('new-contact').click();
    await page.getByLabel('Nome').fill(`Cliente ${run}`);
    await page.getByLabel('Telefone').fill(phone(11));
    await page.getByRole('button', { name: 'Salvar' }).click();
    await expectVisible(page.getByTestId('contacts-list').getByText(`Cliente ${run}`), 'the new contact in the list');
    await page.getByRole('button', { name: 'Importar CSV' }).click();
    const csv = `name,phone,email\nAna ${run},${phone(21)},ana.${run}@example.com\nSem telefone ${run},12,nao-e-email\n`;
    await page.locator('#import-file').setInputFiles({ name: 'contatos.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Importar', exact: true }).click();
    await expectVisible(page.getByTestId('import-progress'), 'the import progress');
    await expectVisible(page.getByText(/Importação concluída|A importação falhou/), 'the import finishing');
    await shot(page, '08-contacts-import', 'Contacts → CSV import finished: progress bar, created/updated/failed counts, error report download');
    await page.getByRole('button', { name: 'Fechar' }).first().click();
    await expectVisible(page.getByTestId('contacts-list').getByText(`Ana ${run}`), 'the imported contact in the list');
    await shot(page, '09-contacts', 'Contacts list with search, label filter, import and export');
  });

  await step('conversation preview renders every bubble type', async () => {
    const { page } = admin;
    await page.goto(`${BASE}/inbox/preview`);
    await expectVisible(page.getByTestId('conversation-pane'), 'the conversation pane');
    await expectVisible(page.getByTestId('day-separator').filter({ hasText: 'Hoje' }), 'day separator Hoje');
    const bubbles = await page.getByTestId('bubble').count();
    if (bubbles < 15) throw new Error(`expected 15 bubbles, saw ${bubbles}`);
    await shot(page, '10-conversation-bubbles', 'Conversation pane (sample messages): text, image, voice note, note, document, location, contact card, video, sticker, reply quote, reaction, ticks, failed with reason');
    await page.evaluate(() => document.querySelector('[data-testid="message-list"]')?.parentElement?.scrollTo(0, 0));
    await shot(page, '11-conversation-bubbles-top', 'Same conversation scrolled to the top: Ontem separator, image with caption, voice note, internal note');
    await page.getByTestId('open-contact').click();
    await expectVisible(page.getByTestId('contact-panel').getByText('Campinas'), 'the contact panel with custom fields');
    await shot(page, '11b-contact-panel', 'Conversation with the contact panel open: profile, labels, custom fields');
  });

  await step('no refresh token where a script can read it: an HttpOnly, SameSite=Strict cookie on /api/v1/auth', async () => {
    const { page, context } = admin;
    const stored = await page.evaluate(() => Object.entries(localStorage).concat(Object.entries(sessionStorage)));
    const cookies = await context.cookies(`${BASE}/api/v1/auth/refresh`);
    const refresh = cookies.find((c) => c.name === 'crm_refresh');
    if (!refresh) throw new Error(`no crm_refresh cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
    if (!refresh.httpOnly || refresh.sameSite !== 'Strict' || refresh.path !== '/api/v1/auth') throw new Error(`cookie attributes: ${JSON.stringify({ ...refresh, value: '…' })}`);
    const leaked = stored.filter(([k, v]) => /refresh/i.test(k) || v.includes(refresh.value) || /^[0-9a-f-]{36}\.[\w-]{40,}$/.test(v));
    if (leaked.length) throw new Error(`a refresh token in web storage: ${leaked.map(([k]) => k).join(', ')}`);
    if ((await page.evaluate(() => document.cookie)).includes('crm_refresh')) throw new Error('the refresh cookie is readable by scripts');
  });

  await step('a reload keeps the session (HttpOnly refresh cookie)', async () => {
    const { page } = admin;
    await page.goto(`${BASE}/settings/labels`);
    await expectVisible(page.getByTestId('labels-list').getByText(labelName), 'labels after a reload');
    await page.reload();
    await expectVisible(page.getByTestId('labels-list').getByText(labelName), 'labels after a second reload');
    if (!/\/settings\/labels/.test(page.url())) throw new Error(`expected to stay on /settings/labels, at ${page.url()}`);
  });

  await step('two tabs of one browser reload at the same moment and both stay signed in (refresh coordinated across tabs)', async () => {
    const { page, context } = admin;
    const second = await context.newPage();
    try {
      await second.goto(`${BASE}/settings/labels`);
      await expectVisible(second.getByTestId('labels-list').getByText(labelName), 'labels in the second tab');
      await page.goto(`${BASE}/settings/labels`);
      // each load restores its session from the one rotating refresh cookie, both at once
      for (let i = 1; i <= 3; i++) {
        await Promise.all([page.reload(), second.reload()]);
        await expectVisible(page.getByTestId('labels-list').getByText(labelName), `the first tab signed in after reload ${i}`);
        await expectVisible(second.getByTestId('labels-list').getByText(labelName), `the second tab signed in after reload ${i}`);
      }
    } finally {
      await second.close();
    }
  });

  await step('English can be chosen and pt-BR comes back', async () => {
    const { page } = admin;
    await page.goto(`${BASE}/inbox`);
    await page.getByTestId('language-select').filter({ visible: true }).selectOption('en');
    await expectVisible(page.getByRole('heading', { name: 'Conversations' }), 'English inbox title');
    await expectVisible(page.getByRole('tab', { name: 'Queue', exact: true }), 'English tab');
    await page.getByTestId('language-select').filter({ visible: true }).selectOption('pt-BR');
    await expectVisible(page.getByRole('heading', { name: 'Conversas' }), 'Portuguese inbox title');
  });

  await step('keyboard: ? opens the shortcut list', async () => {
    const { page } = admin;
    await page.goto(`${BASE}/inbox`);
    await expectVisible(page.getByTestId('inbox-placeholder'), 'inbox');
    await page.keyboard.press('Shift+Slash');
    await expectVisible(page.getByRole('dialog', { name: 'Atalhos de teclado' }), 'shortcuts dialog');
    await page.keyboard.press('Escape');
  });

  await step('phone width: inbox and conversation stack, bottom navigation', async () => {
    const mobile = await newPage('admin-mobile', { width: 390, height: 844 });
    await login(mobile.page, ADMIN);
    await mobile.page.waitForURL(/\/inbox/);
    await expectVisible(mobile.page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true }).getByRole('link', { name: 'Contatos' }), 'bottom nav');
    await shot(mobile.page, '12-inbox-phone', 'Inbox at phone width (390 px): list only, bottom navigation');
    await mobile.page.goto(`${BASE}/inbox/preview`);
    await expectVisible(mobile.page.getByTestId('conversation-pane'), 'conversation on phone');
    await shot(mobile.page, '13-conversation-phone', 'Conversation at phone width with the back button');
    await mobile.context.close();
  });

  if (userCreated) {
    await step('the new user can sign in', async () => {
      const fresh = await newPage('new-user');
      await login(fresh.page, userEmail, userPassword);
      await fresh.page.waitForURL(/\/inbox/);
      await expectVisible(fresh.page.getByTestId('current-user').filter({ hasText: `Maria Teste ${run}` }), 'the new user signed in');
      await fresh.context.close();
    });
  }

  // ---------------------------------------------------------------- agent, a second browser context
  await step('agent signs in in a second browser context and sees only its tabs', async () => {
    const agent = await newPage('agent');
    await login(agent.page, AGENT);
    await agent.page.waitForURL(/\/inbox/);
    await expectVisible(agent.page.getByRole('tab', { name: 'Minhas', exact: true }), 'tab Minhas');
    await expectVisible(agent.page.getByRole('tab', { name: 'Fila', exact: true }), 'tab Fila');
    if (await agent.page.getByRole('tab', { name: 'Todas', exact: true }).count()) throw new Error('an agent must not see the "Todas" tab');
    await shot(agent.page, '14-inbox-agent', 'Inbox as an agent (second browser context): only Minhas and Fila');
    await agent.page.goto(`${BASE}/settings/labels`);
    await expectVisible(agent.page.getByText(labelName), 'the admin\'s new label, visible to the agent');
    if (await agent.page.getByTestId('new-label').count()) throw new Error('an agent must not be offered to create labels');
    await agent.page.goto(`${BASE}/platform`);
    await agent.page.waitForURL(/\/inbox/);
    await agent.context.close();
  });
}

// ---------------------------------------------------------------- real conversations (sandbox customer ↔ agents)
// Everything here runs against the real server: the sandbox connection plays
// the customer's WhatsApp (POST /api/v1/sandbox/:id/inbound) and records what we
// send (GET /sandbox/api/:id/outbox); nothing of our API is mocked.
const DATABASE_URL = process.env.CRM_E2E_DATABASE_URL ?? '';
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAOElEQVR42u3OMQ0AAAgDsIlHDDLngnA0qYAmO78ICQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCd0p/e6Ml6QOJwoAAAAASUVORK5CYII=';
// A w×h PNG of one colour: an image whose height is known only once it has loaded.
function tallPNG(w, h) {
  const crc = (buf) => {
    let c = ~0;
    for (const b of buf) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0x5a)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: h }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}
// an Ogg page with an OpusHead: enough for the pipeline (stored, signed URL, <audio src>), not a playable recording
const OGG_BASE64 = Buffer.from('OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead\x01\x01\0\0\x80\xbb\0\0\0\0\0', 'latin1').toString('base64');
const waPhone = () => `55119${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;

async function apiLogin(email, password = PASSWORD) {
  const res = await fetch(`${BASE}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}
async function call(token, method, path, body) {
  const res = await fetch(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function until(what, fn, timeout = 15_000, every = 200) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}
function psql(sql) {
  if (!DATABASE_URL) throw new Error('CRM_E2E_DATABASE_URL is not set (the Go test passes the database of the server it started)');
  return execFileSync(process.env.CRM_E2E_PSQL || 'psql', [DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' }).trim();
}

// Records the page's WebSockets and the frames it sends (instrumentation only: the socket stays the real one).
const recordSockets = () => {
  const Native = window.WebSocket;
  window.__crmSockets = [];
  window.__crmSent = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const index = window.__crmSockets.push(this);
      const send = this.send.bind(this);
      this.send = (data) => { window.__crmSent.push({ socket: index, frame: String(data) }); return send(data); };
    }
  };
};

let api = null; // { admin: token, connectionId, agentId }
const customer = { phone: waPhone(), name: `Cliente Real ${run}` };
const quickShortcut = `ola${run}`;
const quickText = `Olá! Aqui é da Loja Demo, já vou te ajudar (${run}).`;
let agent = null;

if (adminIn) {
  const ready = await step('API setup: sandbox connection with fast statuses, a quick reply, the agent', async () => {
    const admin = await apiLogin(ADMIN);
    const conns = await call(admin, 'GET', '/api/v1/connections');
    const sandbox = conns.items.find((c) => c.provider === 'sandbox');
    if (!sandbox) throw new Error(`no sandbox connection in ${JSON.stringify(conns)}`);
    // statuses sent → delivered → read 0.5 s apart: fast, yet each one is on screen long enough to be seen
    await call(admin, 'PATCH', `/api/v1/connections/${sandbox.id}`, { settings: { sandbox_status_delays_ms: [500, 1000, 1500] } });
    await call(admin, 'POST', '/api/v1/quick-replies', { shortcut: quickShortcut, title: `Saudação ${run}`, text: quickText });
    const users = await call(admin, 'GET', '/api/v1/users');
    const agentUser = users.items.find((u) => u.email === AGENT);
    api = { admin, connectionId: sandbox.id, agentId: agentUser.id };
  });
  const inbound = (body, who = customer) => call(api.admin, 'POST', `/api/v1/sandbox/${api.connectionId}/inbound`, { from: who.phone, name: who.name, ...body });
  const outbox = () => call(api.admin, 'GET', `/sandbox/api/${api.connectionId}/outbox`).then((r) => r.items ?? []);

  let conversationUrl = null;
  const live = ready && await step('a sandbox customer sends a text, an image and a voice note: they appear live in the admin inbox', async () => {
    const { page, context } = admin;
    await context.addInitScript(recordSockets);
    await page.goto(`${BASE}/inbox`);
    await page.getByRole('tab', { name: 'Todas', exact: true }).click();
    await expectVisible(page.getByTestId('conversation-list'), 'the list');
    await inbound({ type: 'text', text: `Oi! Vocês têm o tênis azul no 42? (${run})` });
    const row = page.getByTestId('conversation-row').filter({ hasText: customer.name });
    await expectVisible(row, 'the new conversation arriving in the list without a reload');
    await row.first().click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}/);
    conversationUrl = page.url();
    await expectVisible(page.getByTestId('bubble').filter({ hasText: 'tênis azul no 42' }), 'the text bubble');
    await inbound({ type: 'image', media: { mime_type: 'image/png', caption: `Esse aqui (${run})`, data_base64: PNG_BASE64 } });
    await inbound({ type: 'audio', media: { mime_type: 'audio/ogg; codecs=opus', voice: true, data_base64: OGG_BASE64 } });
    const img = page.locator('[data-testid="bubble"][data-type="image"] img');
    await expectVisible(img, 'the image bubble');
    await until('the image to load from its signed URL', () => img.first().evaluate((el) => el.complete && el.naturalWidth > 0));
    await expectVisible(page.locator('[data-testid="bubble"][data-type="audio"] [data-voice="true"] audio[src]'), 'the voice note with its player');
    if (await page.getByText('Mídia indisponível').count()) throw new Error('a media bubble says "Mídia indisponível"');
    await shot(page, '22-live-inbound', 'Admin inbox, live (real server, sandbox customer): the new conversation in the list, text, image (loaded from its signed URL) and voice note bubbles');
  });

  const replied = live && await step('the agent replies with a quick reply (optimistic bubble) and sees sent → delivered → read', async () => {
    const { page } = admin;
    await page.evaluate(() => {
      window.__sawPending = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="bubble"][data-local="true"][data-status="pending"]')) window.__sawPending = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    const composer = page.locator('#composer');
    await composer.fill(`/${quickShortcut}`);
    await expectVisible(page.getByRole('listbox', { name: 'Respostas rápidas' }).getByText(`Saudação ${run}`), 'the quick reply picker');
    await shot(page, '23-quick-reply-picker', 'Composer: typing / opens the quick replies picker (reply created through the API)');
    await composer.press('Enter');
    if ((await composer.inputValue()) !== quickText) throw new Error(`the quick reply did not fill the composer: ${await composer.inputValue()}`);
    await composer.press('Enter');
    const bubble = page.locator('[data-testid="bubble"][data-direction="outbound"]').filter({ hasText: quickText });
    await expectVisible(bubble, 'the reply bubble');
    const seen = [];
    await until('the read ticks', async () => {
      const st = await bubble.first().getAttribute('data-status');
      if (st && seen.at(-1) !== st) seen.push(st);
      if (st === 'delivered' && !shots.some((s) => s.file.endsWith('24-ticks-delivered.png'))) await shot(page, '24-ticks-delivered', 'The reply delivered (two grey ticks), on its way to read');
      return st === 'read';
    }, 20_000, 50);
    const order = ['pending', 'sent', 'delivered', 'read'];
    const idx = seen.map((s) => order.indexOf(s));
    if (idx.some((x, i) => x < 0 || (i > 0 && x <= idx[i - 1]))) throw new Error(`statuses out of order: ${seen.join(' → ')}`);
    for (const s of ['sent', 'delivered', 'read']) if (!seen.includes(s)) throw new Error(`never saw "${s}": ${seen.join(' → ')}`);
    if (!(await page.evaluate(() => window.__sawPending))) throw new Error('no pending (optimistic) bubble was shown before the server answered');
    const sent = await outbox();
    if (!sent.some((e) => e.to === customer.phone && e.type === 'text' && JSON.stringify(e.request).includes(run))) throw new Error(`the reply is not in the sandbox outbox: ${JSON.stringify(sent).slice(0, 500)}`);
    await shot(page, '25-ticks-read', `Reply sent with a quick reply: blue ticks (read); seen ${seen.join(' → ')}`);
  });

  live && await step('the agent writes an internal note', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Alternar nota interna' }).click();
    await page.locator('#composer').fill(`Cliente quer o tênis azul 42; ver estoque (${run})`);
    await page.locator('#composer').press('Enter');
    await expectVisible(page.getByTestId('note').filter({ hasText: 'ver estoque' }), 'the note in the timeline');
    await page.getByRole('button', { name: 'Alternar nota interna' }).click();
    await shot(page, '26-note', 'Internal note in the timeline, apart from the bubbles');
  });

  live && await step('search: "tenis azul" (no accent) finds the customer\'s message text; the hit opens the conversation at it', async () => {
    const { page } = admin;
    await page.locator('#inbox-search').fill(`tenis azul ${run}`);
    const hit = page.getByTestId('message-hit').filter({ hasText: 'tênis azul no 42' });
    await expectVisible(hit, 'the message hit under "Mensagens"');
    await shot(page, '26b-message-search', 'Search box: a word of a message, typed without its accent, finds the message');
    await hit.first().click();
    await page.waitForURL(/[?&]m=[0-9a-f-]{36}&seq=\d+/);
    await expectVisible(page.locator('[data-testid="bubble"][data-search-hit="true"]').filter({ hasText: 'tênis azul no 42' }), 'the found message, marked');
    await page.locator('#inbox-search').fill('');
  });

  const transferred = replied && await step('transfer to the agent, who sees it arrive live in a second browser context', async () => {
    agent = await newPage('agent-live');
    await login(agent.page, AGENT);
    await agent.page.waitForURL(/\/inbox/);
    await expectVisible(agent.page.getByRole('tab', { name: 'Minhas', exact: true }), 'the agent inbox');
    await expectVisible(agent.page.getByTestId('conversation-list'), 'the agent list');
    if (await agent.page.getByTestId('conversation-row').filter({ hasText: customer.name }).count()) throw new Error('the agent already had the conversation');
    const { page } = admin;
    await page.getByTitle('Transferir').click();
    const dialog = page.getByRole('dialog', { name: 'Transferir conversa' });
    await dialog.getByLabel('Agente').selectOption({ label: 'Agente Demo' });
    await dialog.getByLabel('Nota interna').fill(`Passando para você, cliente do tênis (${run})`);
    await shot(page, '27-transfer-dialog', 'Transfer dialog: to the demo agent, with a note');
    await dialog.getByRole('button', { name: 'Transferir' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = agent.page.getByTestId('conversation-row').filter({ hasText: customer.name });
    await expectVisible(row, 'the transferred conversation arriving in the agent\'s "Minhas" tab without a reload');
    await shot(agent.page, '28-agent-received', 'Second browser context (agent): the transferred conversation arrived live in "Minhas"');
    await row.first().click();
    await expectVisible(agent.page.getByTestId('note').filter({ hasText: 'Passando para você' }), 'the transfer note for the agent');
    await expectVisible(agent.page.getByTestId('bubble').filter({ hasText: quickText }), 'the history for the agent');
  });

  transferred && await step('the agent resolves it; the admin sees it resolved', async () => {
    await agent.page.getByTitle('Resolver').click();
    await expectVisible(agent.page.getByTestId('open-contact').filter({ hasText: 'Resolvida' }), 'resolved in the agent header');
    await expectVisible(agent.page.getByTitle('Reabrir'), 'the reopen action');
    await shot(agent.page, '29-resolved', 'The agent resolved the conversation: status Resolvida, Reabrir offered');
    await expectVisible(admin.page.getByTestId('open-contact').filter({ hasText: 'Resolvida' }), 'resolved in the admin header, live');
  });

  live && await step('forced socket drop: offline, a customer message and a failed send meanwhile; back online nothing is missed and the retry reuses the key', async () => {
    const { page, context } = admin;
    await page.goto(conversationUrl);
    await expectVisible(page.getByTestId('bubble').filter({ hasText: 'tênis azul no 42' }), 'the conversation');
    await until('the socket to be open', () => page.evaluate(() => window.__crmSockets?.at(-1)?.readyState === 1));
    // one live event first, so the console has a seq to resume from (without one it reloads everything instead)
    await inbound({ type: 'text', text: `Ainda está aí? (${run})` });
    await expectVisible(page.getByTestId('bubble').filter({ hasText: 'Ainda está aí?' }), 'a live message before the drop');
    const before = await page.evaluate(() => window.__crmSockets.length);
    const failed = page.locator('[data-testid="bubble"][data-local="true"][data-status="failed"]').filter({ hasText: 'Resposta escrita offline' });
    let key = null;
    let early = 0;
    await context.setOffline(true);
    try {
      await page.evaluate(() => window.__crmSockets.at(-1).close());
      await expectVisible(page.getByTestId('connection-lost'), 'the connection-lost banner');
      await inbound({ type: 'text', text: `Mandei isto enquanto você estava offline (${run})` });
      // a reply typed while offline fails and offers a retry
      await page.locator('#composer').fill(`Resposta escrita offline (${run})`);
      await page.locator('#composer').press('Enter');
      await expectVisible(failed, 'the failed optimistic bubble');
      key = await failed.first().getAttribute('data-idempotency-key');
      await expectVisible(failed.getByTestId('retry-send'), 'the retry button');
      await page.waitForTimeout(1000);
      early = await page.getByTestId('bubble').filter({ hasText: 'enquanto você estava offline' }).count();
      await failed.getByTestId('retry-send').scrollIntoViewIfNeeded();
      await shot(page, '30-connection-lost', 'Socket dropped while offline: connection-lost banner, a reply that failed with "Tentar de novo"');
    } finally {
      await context.setOffline(false);
    }
    await expectVisible(page.getByTestId('bubble').filter({ hasText: 'enquanto você estava offline' }), 'the message sent while offline, after the reconnect');
    await page.getByTestId('connection-lost').waitFor({ state: 'detached', timeout: 30_000 });
    const frames = await page.evaluate(() => window.__crmSent);
    const resume = frames.filter((f) => f.socket > before).map((f) => JSON.parse(f.frame)).find((f) => f.type === 'resume');
    if (!resume || typeof resume.since !== 'number') throw new Error(`the new socket did not resume since a seq: ${JSON.stringify(frames.slice(-5))}`);
    if (early) console.log('     note: the message showed before going back online (the drop did not block the reconnect)');
    await failed.getByTestId('retry-send').click();
    const sentAgain = page.locator(`[data-testid="bubble"][data-idempotency-key="${key}"]:not([data-local])`);
    await expectVisible(sentAgain, 'the retried message, now the server\'s, with the same idempotency key');
    await until('one copy of the retried message', async () => (await page.getByTestId('bubble').filter({ hasText: 'Resposta escrita offline' }).count()) === 1);
    await shot(page, '31-reconnected', `Back online: resumed since seq ${resume.since}, the customer's offline message shown, the retried reply sent once`);
  });

  ready && await step('window closed: a free-form send is refused (422 window_closed), the composer offers templates and sends one', async () => {
    const { page } = admin;
    const late = { phone: waPhone(), name: `Cliente Janela ${run}` };
    await inbound({ type: 'text', text: `Oi, preciso remarcar (${run})` }, late);
    await page.goto(`${BASE}/inbox`);
    await page.getByRole('tab', { name: 'Todas', exact: true }).click();
    await page.getByTestId('conversation-row').filter({ hasText: late.name }).first().click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}/);
    const id = page.url().split('/').pop();
    await expectVisible(page.getByTestId('window-countdown'), 'the open window countdown');
    // Close the 24-hour window in the database (as if a day had passed). The version bump makes the
    // live conversation grain reload its state instead of overwriting the row (fencing).
    psql(`UPDATE conversations SET window_expires_at = now() - interval '1 hour', version = version + 1 WHERE id = '${id}'`);
    await page.locator('#composer').fill(`Podemos remarcar para sexta? (${run})`);
    await page.locator('#composer').press('Enter');
    await expectVisible(page.locator('[data-testid="bubble"][data-status="failed"]').filter({ hasText: 'Podemos remarcar' }).getByText(/janela de 24h fechou/), 'the refused bubble saying why');
    const picker = page.getByTestId('template-picker');
    await expectVisible(picker, 'the template picker after window_closed');
    await expectVisible(page.getByTestId('window-closed-hint'), 'the window-closed hint');
    await shot(page, '32-window-closed-templates', 'Window closed: the free-form reply refused (window_closed), the composer switched to the approved templates');
    await picker.getByText('lembrete_consulta').click();
    await picker.getByLabel('Parâmetro 1').fill('Ana');
    await picker.getByLabel('Parâmetro 2').fill('sexta às 10h');
    await expectVisible(picker.getByTestId('template-preview').filter({ hasText: 'Olá Ana, sua consulta está marcada para sexta às 10h.' }), 'the filled preview');
    await shot(page, '33-template-filled', 'Template lembrete_consulta with its two body parameters filled and the preview as the customer will see it');
    await picker.getByTestId('send-template').click();
    const tpl = page.locator('[data-testid="bubble"][data-type="template"]:not([data-local])');
    await expectVisible(tpl, 'the template bubble from the server');
    await until('the template read', async () => (await tpl.first().getAttribute('data-status')) === 'read', 20_000);
    const sent = await outbox();
    const out = sent.find((e) => e.to === late.phone && e.type === 'template');
    if (!out || out.request?.template?.name !== 'lembrete_consulta' || JSON.stringify(out.request).indexOf('sexta às 10h') < 0) throw new Error(`the template is not in the sandbox outbox as sent: ${JSON.stringify(out ?? sent.slice(-2))}`);
    await shot(page, '34-template-sent', 'Template sent through the sandbox, read by the customer');
  });
  ready && await step('Settings → Conexões → "Abrir telefone do cliente": the simulated phone sends every kind of message and sees what the business sent', async () => {
    const { page, context } = admin;
    const who = { phone: waPhone(), name: `Cliente Telefone ${run}` };
    const phonePage = await context.newPage();
    phonePage.setDefaultTimeout(15_000);
    phonePage.on('pageerror', (err) => pageErrors.push(`[phone] ${err.message}`));
    try {
      await phonePage.goto(`${BASE}/settings/connections`);
      await phonePage.getByTestId('open-phone').first().click();
      await phonePage.waitForURL(/\/settings\/connections\/[0-9a-f-]{36}\/phone/);
      const phone = phonePage.getByTestId('sandbox-phone');
      await expectVisible(phone, 'the phone panel');
      await phonePage.getByLabel('Número do cliente').fill(who.phone);
      await phonePage.getByLabel('Nome do cliente').fill(who.name);
      const sendAs = async (type, fill) => {
        const before = await phone.getByTestId('phone-sent').count();
        await phone.getByTestId('phone-type').selectOption(type);
        if (fill) await fill();
        await phone.getByTestId('phone-send').click();
        await until(`the ${type} in the phone`, async () => (await phone.getByTestId('phone-sent').count()) > before);
      };
      await sendAs('text', () => phone.getByTestId('phone-text').fill(`Oi, escrevi pelo telefone simulado (${run})`));
      await sendAs('image', () => phone.getByTestId('phone-file').setInputFiles({ name: 'foto.png', mimeType: 'image/png', buffer: Buffer.from(PNG_BASE64, 'base64') }));
      await sendAs('voice', () => phone.getByTestId('phone-file').setInputFiles({ name: 'voz.ogg', mimeType: 'audio/ogg', buffer: Buffer.from(OGG_BASE64, 'base64') }));
      await sendAs('document', () => phone.getByTestId('phone-file').setInputFiles({ name: `pedido-${run}.pdf`, mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') }));
      await sendAs('location');
      await sendAs('contacts', async () => {
        await phone.getByLabel('Nome do contato').fill('Carlos Indicação');
        await phone.getByLabel('Telefone do contato').fill('+55 11 91234-5678');
      });

      // the admin sees all of it live, then answers
      await page.goto(`${BASE}/inbox`);
      await page.getByRole('tab', { name: 'Todas', exact: true }).click();
      await page.getByTestId('conversation-row').filter({ hasText: who.name }).first().click();
      await page.waitForURL(/\/inbox\/[0-9a-f-]{36}/);
      const conversationId = page.url().split('/').pop();
      for (const type of ['text', 'image', 'audio', 'document', 'location', 'contacts']) {
        await expectVisible(page.locator(`[data-testid="bubble"][data-type="${type}"]`), `the ${type} from the phone in the inbox`);
      }
      await expectVisible(page.getByTestId('bubble').filter({ hasText: 'Carlos Indicação' }), 'the contact card');
      // an image that arrives while the agent reads the newest message comes into view once it has loaded
      const images = page.locator('[data-testid="bubble"][data-type="image"] img');
      const imagesBefore = await images.count();
      await sendAs('image', () => phone.getByTestId('phone-file').setInputFiles({ name: 'foto-alta.png', mimeType: 'image/png', buffer: tallPNG(160, 420) }));
      await until('the new image loaded in the inbox', async () => (await images.count()) > imagesBefore
        && (await images.last().evaluate((img) => img.complete && img.naturalHeight > 0)));
      await until('the new image in view', async () => {
        const at = await images.last().evaluate((img) => {
          const scroller = img.closest('.overflow-y-auto');
          return { img: img.getBoundingClientRect().bottom, view: scroller.getBoundingClientRect().bottom, top: scroller.scrollTop,
            height: scroller.scrollHeight, client: scroller.clientHeight, natural: img.naturalHeight, src: img.currentSrc.slice(-40) };
        });
        if (at.img > at.view + 1) throw new Error(`image bottom ${JSON.stringify(at)}`);
        return true;
      }, 5_000);
      await page.locator('#composer').fill(`Recebi tudo, obrigado! (${run})`);
      await page.locator('#composer').press('Enter');
      // and a message with reply buttons, sent through the API (the composer has no button editor)
      await call(api.admin, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
        type: 'interactive', idempotency_key: `buttons-${run}`,
        interactive: { type: 'button', body: 'Quer receber o boleto por aqui?', buttons: [{ id: 'sim', title: 'Sim, quero' }, { id: 'nao', title: 'Não, obrigado' }] },
      });
      const reply = phone.getByTestId('phone-received').filter({ hasText: 'Recebi tudo, obrigado!' });
      await expectVisible(reply, 'our reply on the phone (outbox polled every 2 s)');
      await until('the reply read on the phone', async () => (await reply.first().getByTestId('phone-status').getAttribute('data-status')) === 'read', 20_000);
      await expectVisible(phone.getByTestId('phone-received').filter({ hasText: 'Quer receber o boleto' }).getByRole('button', { name: 'Sim, quero' }), 'the reply buttons on the phone');
      await shot(phonePage, '35-sandbox-phone', "Simulated customer's phone (Settings → Conexões): what the customer sent (text, image, voice note, document, location, contact card) and the business's reply and buttons with their statuses");
      // the customer reacts to our reply and taps a button
      const replyId = await reply.first().getAttribute('data-message-id');
      await sendAs('reaction', async () => {
        await phone.getByLabel('Reagir a').selectOption(replyId);
        await phone.getByLabel('Emoji').selectOption('❤️');
      });
      await phone.getByTestId('phone-received').filter({ hasText: 'Quer receber o boleto' }).getByRole('button', { name: 'Sim, quero' }).click();
      await expectVisible(page.locator('[data-testid="bubble"][data-direction="outbound"]').filter({ hasText: 'Recebi tudo, obrigado!' }).getByTestId('reactions').filter({ hasText: '❤️' }), 'the reaction on our bubble in the inbox');
      await expectVisible(page.locator('[data-testid="bubble"][data-direction="inbound"]').getByTestId('button-reply').filter({ hasText: 'Sim, quero' }), 'the button reply in the inbox');
      await shot(page, '36-inbox-from-phone', 'The same conversation in the inbox: everything the phone sent, the reaction on our reply, the button reply');
      // the customer's own messages are still on the phone after a reload
      const sentBefore = await phone.getByTestId('phone-sent').count();
      await phonePage.reload();
      await until('the phone thread after a reload', async () => (await phonePage.getByTestId('phone-sent').count()) === sentBefore);
    } finally {
      await phonePage.close();
    }
  });
}

// ---------------------------------------------------------------- mocked API answers
// The only mocked answers: two login errors the demo server cannot reach
// quickly or safely. A real lockout also blocks this machine's IP (every later
// login of the run would be refused), and licenses are not enforced without
// CRM_LICENSE_SIGNING_KEY. Everything else in this run talks to the real server.
const json = (status, body, headers = {}) => ({ status, contentType: 'application/json', headers, body: JSON.stringify(body) });
const apiError = (status, code, details, headers) => json(status, { error: { code, message: code, details } }, headers);

await step('login errors from the API (mocked): lockout countdown, license', async () => {
  const { page, context } = await newPage('login-errors');
  const answers = [
    apiError(429, 'too_many_attempts', { retry_after_seconds: 75 }, { 'Retry-After': '75' }),
    apiError(402, 'license_invalid', { reason: 'expired' }),
  ];
  await page.route('**/api/v1/auth/login', (route) => route.fulfill(answers.shift() ?? apiError(401, 'invalid_credentials')));
  await login(page, 'varias@empresas.com', 'qualquer-senha');
  await expectVisible(page.getByTestId('login-error').filter({ hasText: /Tente de novo em 1 min 1[45] s/ }), 'lockout countdown');
  const locked = page.getByRole('button', { name: /Bloqueado por/ });
  if (!(await locked.isDisabled())) throw new Error('the button must be disabled while locked out');
  await page.waitForTimeout(1200);
  await expectVisible(page.getByTestId('login-error').filter({ hasText: /1 min 1[0-3] s/ }), 'the countdown moving');
  await shot(page, '19-login-locked', 'Login locked out after too many attempts (mocked answer): countdown from Retry-After, button disabled');
  // the lockout ends on its own in the UI only after the countdown; start a fresh page for the next answer
  await page.goto(`${BASE}/login`);
  await page.getByLabel('E-mail').fill('varias@empresas.com');
  await page.getByLabel('Senha').fill('qualquer-senha');
  await page.getByRole('button', { name: 'Entrar', exact: true }).click();
  await expectVisible(page.getByTestId('login-error').filter({ hasText: 'A licença desta empresa não é válida. Ela expirou.' }), 'license message');
  await shot(page, '20-login-license', 'Login refused (mocked answer): the license is invalid (reason: expired)');
  await context.close();
});


// ---------------------------------------------------------------- several companies, one suspended (real)
await step('an email in two companies chooses one; a suspended company is refused (real tenants)', async () => {
  const owner = await apiLogin(OWNER);
  const adminToken = await apiLogin(ADMIN);
  const email = `multi.${run}@example.com`;
  const password = 'senha-multi-123';
  await call(adminToken, 'POST', '/api/v1/users', { name: `Paula Demo ${run}`, email, password, role: 'AGENT', team_ids: [] });
  const plans = await call(owner, 'GET', '/api/v1/admin/plans');
  const plan = (plans.items ?? plans).find((p) => !p.retired);
  const slug = `loja-norte-${run}`;
  const north = await call(owner, 'POST', '/api/v1/admin/tenants', {
    name: `Loja Norte ${run}`, email: `norte.${run}@example.com`, slug, plan_id: plan.id, admin: { name: `Paula Norte ${run}`, email, password },
  });
  const { page, context } = await newPage('two-companies');
  await login(page, email, password);
  const select = page.getByLabel('Em qual empresa você quer entrar?');
  await expectVisible(select, 'choose company');
  await select.selectOption(slug);
  await shot(page, '21-login-choose-company', 'Login with an email in two real companies (Loja Demo and a tenant the test created): choose which one');
  await page.getByRole('button', { name: 'Entrar nesta empresa' }).click();
  await page.waitForURL(/\/inbox/);
  await expectVisible(page.getByTestId('current-user').filter({ hasText: `Paula Norte ${run}` }), 'signed in as the Loja Norte admin');
  await context.close();
  await call(owner, 'POST', `/api/v1/admin/tenants/${north.id}/suspend`, { reason: `teste e2e ${run}` });
  const again = await newPage('suspended');
  await login(again.page, email, password);
  await again.page.getByLabel('Em qual empresa você quer entrar?').selectOption(slug);
  await again.page.getByRole('button', { name: 'Entrar nesta empresa' }).click();
  await expectVisible(again.page.getByTestId('login-error').filter({ hasText: 'A conta da sua empresa está suspensa' }), 'the suspended company refused');
  await shot(again.page, '21b-login-suspended', 'Login into the suspended company (suspended by the platform owner through the API): refused with the reason');
  await again.context.close();
});

// ---------------------------------------------------------------- platform owner
await step('platform owner sees metrics, tenants and plans', async () => {
  const owner = await newPage('owner');
  await login(owner.page, OWNER);
  await owner.page.waitForURL(/\/platform/);
  await expectText(owner.page, 'Métricas da plataforma');
  await expectVisible(owner.page.getByText('Loja Demo'), 'the demo tenant in usage');
  await shot(owner.page, '15-platform-metrics', 'Platform owner → Métricas: tenants, users, conversations, messages per day, usage per tenant');
  await owner.page.getByRole('link', { name: 'Clientes' }).filter({ visible: true }).click();
  await expectVisible(owner.page.getByTestId('tenants-list').getByText('Loja Demo'), 'the demo tenant');
  await shot(owner.page, '16-platform-tenants', 'Platform owner → Clientes: plan switcher, licenses, suspend');
  await owner.page.getByTestId('new-tenant').click();
  await expectText(owner.page, 'Primeiro administrador');
  await shot(owner.page, '17-platform-new-tenant', 'New tenant with its first administrator');
  await owner.page.getByRole('button', { name: 'Cancelar' }).click();
  await owner.page.getByRole('link', { name: 'Planos' }).filter({ visible: true }).click();
  await expectVisible(owner.page.getByTestId('plans-list').getByText('Demo'), 'the demo plan');
  await shot(owner.page, '18-platform-plans', 'Platform owner → Planos');
  await owner.context.close();
});

// ---------------------------------------------------------------- chatbot (real)
// Drag from an output handle of one block to the input of another, as a person connects them.
async function connect(page, fromId, handle, toId) {
  const from = page.locator(`[data-testid="flow-node"][data-node-id="${fromId}"] [data-handle="${handle}"]`);
  const to = page.locator(`[data-testid="flow-node"][data-node-id="${toId}"] .react-flow__handle.target`);
  // hover checks that the handle itself is what the pointer hits (no block on top of it)
  await from.hover();
  await page.mouse.down();
  const b = await to.boundingBox();
  if (!b) throw new Error(`no input handle on screen: ${toId}`);
  await page.mouse.move(b.x + b.width / 2 - 20, b.y + b.height / 2, { steps: 10 });
  await to.hover({ force: true });
  await page.mouse.up();
}

await step('chatbot: admin builds a flow (start → message → end), saves, publishes it, sees the bot answer on the sandbox phone and the flow active in the list', async () => {
  const { page, context } = await newPage('bots');
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  await page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true }).getByRole('link', { name: 'Chatbot' }).click();
  await page.waitForURL(/\/bots$/);
  const name = `Boas-vindas ${run}`;
  await page.getByTestId('new-flow').click();
  await page.getByLabel('Nome').fill(name);
  await page.getByLabel('Quando iniciar').selectOption('keyword');
  await page.getByTestId('create-flow').click();
  await page.waitForURL(/\/bots\/[0-9a-f-]{36}$/);
  await expectVisible(page.getByTestId('flow-builder'), 'the builder');
  // a keyword of its own, so the flow answers no other scenario's customer
  await page.locator('#trigger-keywords').fill(`oi${run}`);
  const start = await page.locator('[data-testid="flow-node"][data-type="start"]').getAttribute('data-node-id');
  await page.getByTestId('palette-message').click();
  const message = await page.locator('[data-testid="flow-node"][data-type="message"]').getAttribute('data-node-id');
  await page.getByTestId('node-form').getByLabel('Texto', { exact: true }).fill('Olá, {{contact.name}}! Em que podemos ajudar?');
  await page.getByTestId('palette-end').click();
  const end = await page.locator('[data-testid="flow-node"][data-type="end"]').getAttribute('data-node-id');
  await page.getByTestId('auto-layout').click();
  await page.waitForTimeout(300); // the fit-view animation
  await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } }); // nothing selected: no block raised over another
  await connect(page, start, 'next', message);
  await connect(page, message, 'next', end);
  await shot(page, '37-bot-builder-connected', 'Chatbot builder: start → message → end connected by dragging the handles');
  await until('two edges on the canvas', async () => (await page.locator('.react-flow__edge').count()) === 2);
  await page.getByTestId('save-flow').click();
  await page.getByTestId('unsaved').waitFor({ state: 'detached' });
  await page.getByTestId('publish-flow').click();
  await expectText(page, 'Publicado: versão 1 ativa.');
  await shot(page, '38-bot-builder-published', 'Chatbot builder: start → message → end built with the mouse, saved and published (version 1 active)');
  // The test panel: the customer writes the keyword on the sandbox phone and the bot answers.
  await page.getByTestId('toggle-test').click();
  const panel = page.getByTestId('test-panel');
  await expectVisible(panel.getByTestId('test-published'), 'the panel running the published version');
  await panel.getByTestId('phone-text').fill(`oi${run}`);
  await panel.getByTestId('phone-send').click();
  await until('the bot answers on the sandbox phone', async () =>
    (await panel.getByTestId('phone-received').allTextContents()).some((t) => t.includes('Em que podemos ajudar?')), 20000);
  await shot(page, '38b-bot-test-panel', 'Chatbot builder → Testar: the customer writes the keyword on the sandbox phone and the published flow answers');
  await page.getByRole('link', { name: 'Voltar aos fluxos' }).click();
  const row = page.getByTestId('bot-flow-row').filter({ hasText: name });
  await expectVisible(row.locator('[data-testid="flow-status"][data-active="true"]'), 'the flow listed as active');
  await expectVisible(row.getByText('Ativo (v1)'), 'Ativo (v1)');
  await expectVisible(row.getByText('3 blocos'), '3 blocos');
  await shot(page, '39-bot-flows-list', 'Chatbot → flows: the published flow active (v1) with its block count');
  await context.close();
});

await step('campaigns: admin writes a campaign to a label with the wizard (approved template, audience count, fast pace), starts it, and watches the progress bar reach 100%', async () => {
  const token = await apiLogin(ADMIN);
  const label = await call(token, 'POST', '/api/v1/labels', { name: `Campanha ${run}`, color: '#7c3aed' });
  for (let i = 0; i < 3; i++) {
    await call(token, 'POST', '/api/v1/contacts', { name: `Cliente campanha ${i} ${run}`, phone: `+${waPhone()}`, label_ids: [label.id] });
  }
  const { page, context } = await newPage('campaigns');
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  await page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true }).getByRole('link', { name: 'Campanhas' }).click();
  await page.waitForURL(/\/campaigns$/);
  await page.getByTestId('new-campaign').click();
  await page.getByLabel('Nome').fill(`Boas-vindas ${run}`);
  const connection = page.getByLabel('Conexão');
  const sandboxOption = await connection.locator('option').filter({ hasText: 'whatsapp' }).first().getAttribute('value');
  await connection.selectOption(sandboxOption);
  await page.getByLabel('Tipo de mensagem').selectOption('template');
  const template = page.getByLabel('Modelo', { exact: true });
  await until('the approved templates load', async () => (await template.locator('option').count()) > 1);
  await template.selectOption({ label: 'boas_vindas · pt_BR' });
  await expectText(page.getByTestId('campaign-preview'), 'Seja bem-vindo');
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('audience-labels').getByRole('button', { name: `Campanha ${run}` }).click();
  await until('the audience counts the 3 labelled contacts', async () => (await page.getByTestId('audience-count').getAttribute('data-count')) === '3');
  await shot(page, '39b-campaign-audience', 'Campanhas → Nova campanha: the audience of one label, counted live');
  await page.getByTestId('wizard-next').click();
  await page.getByRole('button', { name: 'Rápido (600/min)' }).click();
  await expectText(page.getByTestId('campaign-estimate'), 'para 3 contatos');
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('start-campaign').click();
  await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
  await until('the progress bar reaches 100%', async () => (await page.getByTestId('campaign-progress').getAttribute('aria-valuenow')) === '100', 30000);
  await until('the campaign is completed', async () => (await page.getByTestId('campaign-status').getAttribute('data-status')) === 'completed', 30000);
  await expectVisible(page.getByTestId('stat-sent'), 'the sent count');
  await until('the recipients table lists the 3 contacts', async () => (await page.getByTestId('campaign-recipients').locator('tr').count()) === 3, 15000);
  await shot(page, '39c-campaign-completed', 'Campanhas → detail: the campaign sent to its 3 contacts, progress 100%, stats and recipients');
  await context.close();
});

await step('kanban: admin drags a card to another column with the mouse; the server keeps the move and an agent\'s open board follows live', async () => {
  const token = await apiLogin(ADMIN);
  const board = await call(token, 'POST', '/api/v1/boards', {
    name: `Funil ${run}`, columns: [{ name: 'Novo' }, { name: 'Proposta', color: '#f59e0b' }, { name: 'Ganho', kind: 'won', color: '#16a34a' }],
  });
  const [novo, proposta] = board.columns;
  const card = await call(token, 'POST', '/api/v1/cards', { board_id: board.id, column_id: novo.id, title: `Venda ${run}`, value: '1234.50' });
  const agent = await newPage('kanban-agent', { width: 390, height: 844 }); // phone width: the columns scroll sideways
  await login(agent.page, AGENT);
  await agent.page.waitForURL(/\/inbox/);
  await agent.page.goto(`${BASE}/kanban?board=${board.id}`);
  await expectVisible(agent.page.getByTestId(`column-${novo.id}`).getByText(`Venda ${run}`), 'the card in Novo (agent)');

  const { page, context } = await newPage('kanban');
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  await page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true }).getByRole('link', { name: 'Funil' }).click();
  await page.waitForURL(/\/kanban/);
  await page.getByTestId('board-picker').selectOption(board.id);
  const from = page.getByTestId(`column-${novo.id}`);
  await expectVisible(from.getByText(`Venda ${run}`), 'the card in Novo');
  await expectText(from.getByTestId('column-total'), 'R$ 1.234,50');
  await shot(page, '40-kanban-board', 'Funil: a board with its columns, counts and BRL totals');
  // dnd-kit's pointer sensor starts after a few pixels of movement and follows the pointer in steps
  const handle = await page.getByTestId(`card-${card.id}`).getByRole('button').first().boundingBox();
  const target = await page.getByTestId(`column-${proposta.id}`).locator('ul').boundingBox();
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + handle.width / 2 + 10, handle.y + handle.height / 2 + 5, { steps: 5 });
  await page.mouse.move(target.x + target.width / 2, target.y + 30, { steps: 25 });
  await page.waitForTimeout(150);
  await page.mouse.up();
  await until('the server has the card in Proposta', async () => (await call(token, 'GET', `/api/v1/cards/${card.id}`)).column_id === proposta.id);
  await expectVisible(page.getByTestId(`column-${proposta.id}`).getByText(`Venda ${run}`), 'the card in Proposta');
  await until('the Proposta total is the card\'s value', async () => (await page.getByTestId(`column-${proposta.id}`).getByTestId('column-total').textContent()).includes('1.234,50'));
  await expectVisible(agent.page.getByTestId(`column-${proposta.id}`).getByText(`Venda ${run}`), 'the card in Proposta on the agent\'s board, live');
  await shot(agent.page, '40c-kanban-phone', 'Funil at phone width (agent): columns side by side, scrolled sideways; the card moved by another user, live');
  await shot(page, '40b-kanban-moved', 'Funil: the card dragged to Proposta; the columns\' totals follow');
  // the "Mover para…" menu: the keyboard-friendly way
  await page.getByRole('button', { name: `Mover o card Venda ${run}` }).click();
  await page.getByRole('menu').getByRole('menuitem', { name: 'Ganho' }).click();
  await until('the server has the card in Ganho', async () => (await call(token, 'GET', `/api/v1/cards/${card.id}`)).column_id === board.columns[2].id);
  await agent.context.close();
  await context.close();
});

await step('agenda: an agent books an appointment by clicking a slot of the week; the server has it at that São Paulo time; the ICS link serves it', async () => {
  const token = await apiLogin(AGENT);
  // two weeks ahead (São Paulo's calendar), so the slot is in the future whatever today is
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(new Date(Date.now() + 14 * 86_400_000));
  const { page, context } = await newPage('agenda');
  await login(page, AGENT);
  await page.waitForURL(/\/inbox/);
  await page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true }).getByRole('link', { name: 'Agenda' }).click();
  await page.waitForURL(/\/agenda/);
  await page.goto(`${BASE}/agenda?date=${day}`);
  await page.getByTestId(`slot-${day}-14:30`).click();
  const form = page.getByTestId('appointment-form');
  await expectVisible(form, 'the booking dialog');
  await form.getByLabel('Título').fill(`Consulta ${run}`);
  await form.getByTestId('add-reminder').click();
  await shot(page, '40d-agenda-booking', 'Agenda → a slot clicked: the booking dialog with date, time, duration, assignee, contact, connection and reminders');
  await form.getByTestId('appt-save').click();
  await expectVisible(page.getByTestId(`column-${day}`).getByText(`Consulta ${run}`), 'the appointment in its day column');
  const from = new Date(`${day}T00:00:00-03:00`).toISOString();
  const to = new Date(new Date(from).getTime() + 86_400_000).toISOString();
  const list = await call(token, 'GET', `/api/v1/appointments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&assignee_id=me`);
  const booked = list.items.find((a) => a.title === `Consulta ${run}`);
  if (!booked) throw new Error(`the appointment is not on the server: ${JSON.stringify(list.items.map((a) => a.title))}`);
  if (new Date(booked.starts_at).getTime() !== new Date(`${day}T14:30:00-03:00`).getTime()) throw new Error(`starts_at ${booked.starts_at}, wanted ${day} 14:30 in São Paulo`);
  if (booked.duration_min !== 30 || booked.reminders.length !== 1 || booked.reminders[0].minutes_before !== 1440 || booked.reminders[0].to !== 'assignee') {
    throw new Error(`the booking's duration or reminders: ${JSON.stringify(booked)}`);
  }
  await shot(page, '40e-agenda-week', 'Agenda: the week view with the appointment booked at 14:30 (São Paulo time)');
  await page.getByTestId('ics-open').click();
  await page.getByTestId('ics-generate').click();
  const url = await page.getByTestId('ics-url').inputValue();
  if (!/\/ics\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{43}\.ics$/.test(url)) throw new Error(`ICS url ${url}`);
  const ics = await fetch(`${BASE}${url.startsWith('/') ? url : new URL(url).pathname}`);
  const body = await ics.text();
  if (ics.status !== 200 || !body.includes(`Consulta ${run}`)) throw new Error(`the ICS feed answered ${ics.status}: ${body.slice(0, 200)}`);
  await shot(page, '40f-agenda-ics', 'Agenda → Link do calendário (ICS): a new secret link, shown once, with a copy button');
  await call(token, 'DELETE', `/api/v1/appointments/${booked.id}`);
  await context.close();
});

// Buttons whose label wrapped onto a second line, out of their fixed height ("Tentar de / novo", "Exportar / CSV").
async function wrappedButtons(page) {
  return page.evaluate(() => [...document.querySelectorAll('button')].filter((b) => {
    if (!b.offsetParent) return false;
    const tops = new Set();
    const walker = document.createTreeWalker(b, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    return tops.size > 1;
  }).map((b) => b.textContent.trim()));
}

await step('layout: the chatbot builder at phone width keeps its title, palette and canvas; no button label wraps; the open settings tab is in view', async () => {
  const phone = await newPage('layout-phone', { width: 390, height: 844 });
  await login(phone.page, ADMIN);
  await phone.page.waitForURL(/\/inbox/);
  await phone.page.goto(`${BASE}/bots`);
  await phone.page.getByTestId('bot-flow-row').first().getByRole('link').first().click();
  await phone.page.getByTestId('flow-builder').waitFor();
  // the title shrank to one letter beside the toolbar, and the side panel left the canvas 70 px
  const title = await phone.page.getByTestId('flow-title').boundingBox();
  if (!title || title.width < 250) throw new Error(`flow title ${title?.width} px wide at 390 px`);
  const canvas = await phone.page.getByTestId('flow-canvas').boundingBox();
  if (!canvas || canvas.width < 350 || canvas.height < 200) throw new Error(`canvas ${canvas?.width}×${canvas?.height} px at 390 px`);
  await expectVisible(phone.page.getByTestId('palette-message'), 'the palette at phone width');
  await shot(phone.page, '40-bot-builder-phone', 'Chatbot builder at phone width: title, toolbar, a row of blocks, the canvas and the panel below');
  await phone.page.goto(`${BASE}/settings/failed-events`);
  const tab = await phone.page.getByRole('link', { name: 'Eventos com falha' }).boundingBox();
  if (!tab || tab.x < 0 || tab.x + tab.width > 390) throw new Error(`the open settings tab is off-screen at x=${tab?.x}`);
  await phone.context.close();

  const desk = await newPage('layout-desktop');
  await login(desk.page, ADMIN);
  await desk.page.waitForURL(/\/inbox/);
  for (const path of ['/contacts', '/settings/failed-events', '/bots']) {
    await desk.page.goto(`${BASE}${path}`);
    await desk.page.waitForTimeout(600);
    const wrapped = await wrappedButtons(desk.page);
    if (wrapped.length) throw new Error(`${path}: button labels wrapped out of their button at 1366 px: ${wrapped.join(', ')}`);
  }
  await desk.context.close();
});

if (agent) await agent.context.close();

await routingSteps({ step, newPage, login, expectVisible, expectText, shot, apiLogin, call, BASE, ADMIN, run });
// ---------------------------------------------------------------- passwords
await step('forgot password, platform owner reset link, new password, change password', async () => {
  // A second admin of the demo company, so the demo logins keep their passwords.
  const adminToken = await apiLogin(ADMIN);
  const email = `pw-${run}@demo.crm`;
  await call(adminToken, 'POST', '/api/v1/users', { name: `Senha ${run}`, email, password: PASSWORD, role: 'TENANT_ADMIN', team_ids: [] });

  const user = await newPage('password');
  await user.page.goto(`${BASE}/login`);
  await user.page.getByRole('link', { name: 'Esqueci minha senha' }).click();
  await user.page.waitForURL(/\/esqueci-senha/);
  await user.page.getByLabel('E-mail').fill(email);
  await user.page.getByRole('button', { name: 'Enviar link' }).click();
  await expectVisible(user.page.getByTestId('forgot-sent'), 'the forgot-password confirmation');
  await shot(user.page, '41-forgot-password', 'Esqueci minha senha: the same confirmation whether or not the e-mail has an account');

  // This server has no SMTP: the platform owner's reset shows the link once.
  const owner = await newPage('owner-password');
  await login(owner.page, OWNER);
  await owner.page.waitForURL(/\/platform/);
  await owner.page.getByRole('link', { name: 'Clientes' }).filter({ visible: true }).click();
  await owner.page.getByTestId('tenants-list').locator('tr', { hasText: 'Loja Demo' }).getByTestId('admin-password-reset').click();
  const row = owner.page.getByTestId('tenant-admins').locator('li', { hasText: email });
  await row.getByRole('button', { name: 'Enviar link' }).click();
  await owner.page.getByTestId('confirm-message').waitFor();
  await owner.page.getByRole('button', { name: 'Enviar link' }).last().click();
  const link = (await owner.page.getByTestId('admin-reset-link').textContent()).trim();
  if (!link.startsWith(`${BASE}/redefinir-senha?token=`)) throw new Error(`reset link ${link}`);
  await shot(owner.page, '42-platform-admin-reset', 'Platform owner → Redefinir senha do administrador: without SMTP the link is shown once');
  await owner.context.close();

  await user.page.goto(link);
  await user.page.waitForURL((u) => u.pathname === '/redefinir-senha' && !u.search.includes('token'));
  const fresh = `nova-senha-${run}`;
  await user.page.getByLabel('Nova senha', { exact: true }).fill(fresh);
  await user.page.getByLabel('Confirme a nova senha').fill(`${fresh}-x`);
  await user.page.getByRole('button', { name: 'Salvar nova senha' }).click();
  await expectText(user.page, 'As senhas não são iguais.');
  await shot(user.page, '43-reset-password', 'Redefinir senha: new password and its confirmation, checked before sending');
  await user.page.getByLabel('Confirme a nova senha').fill(fresh);
  await user.page.getByRole('button', { name: 'Salvar nova senha' }).click();
  await expectVisible(user.page.getByTestId('reset-done'), 'the password changed');
  await user.page.getByRole('link', { name: 'Ir para o login' }).click();
  await login(user.page, email, fresh);
  await user.page.waitForURL(/\/inbox/);

  // The link worked once.
  const reuse = await fetch(`${BASE}/api/v1/auth/password/reset`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: new URL(link).searchParams.get('token'), password: 'another password' }) });
  if (reuse.status !== 400) throw new Error(`a used link answered ${reuse.status}`);

  await user.page.getByTestId('change-password').click();
  await user.page.waitForURL(/\/account\/password/);
  await user.page.getByLabel('Senha atual').fill('not the password');
  await user.page.getByLabel('Nova senha', { exact: true }).fill(PASSWORD);
  await user.page.getByLabel('Confirme a nova senha').fill(PASSWORD);
  await user.page.getByRole('button', { name: 'Alterar senha' }).click();
  await expectText(user.page, 'A senha atual está incorreta.');
  await user.page.getByLabel('Senha atual').fill(fresh);
  await user.page.getByRole('button', { name: 'Alterar senha' }).click();
  await expectVisible(user.page.getByTestId('password-changed'), 'the password changed');
  await shot(user.page, '44-change-password', 'Alterar senha (key icon by the user name): the other sessions are signed out');
  await apiLogin(email, PASSWORD);
  await user.context.close();
});

await step('no uncaught errors in the pages', async () => {
  if (pageErrors.length) throw new Error(pageErrors.join('\n'));
});

await step('no Content-Security-Policy violation in any page', async () => {
  if (cspViolations.length) throw new Error(cspViolations.join('\n'));
});

await browser.close();

const failed = results.filter((r) => !r.ok);
writeFileSync(join(SHOTS, 'index.json'), JSON.stringify({ url: BASE, results, screenshots: shots }, null, 2));
console.log(`\n${results.length - failed.length}/${results.length} steps passed; ${shots.length} screenshots in ${SHOTS}`);
for (const s of shots) console.log(`  ${s.file}: ${s.what}`);
process.exit(failed.length ? 1 : 0);
