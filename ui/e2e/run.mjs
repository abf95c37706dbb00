// End-to-end run of the console in real Chromium (playwright-core, Debian's
// chromium). Expects a running `crm serve --demo` at CRM_E2E_URL.
//
//   CRM_E2E_URL=http://127.0.0.1:8080 node e2e/run.mjs
//
// Optional: CRM_E2E_SCREENSHOTS (default <repo>/artifacts/screenshots),
// CHROMIUM_PATH (default /usr/bin/chromium), CRM_E2E_PASSWORD.
// Every step runs even when an earlier one failed (unless it depends on it);
// the exit status is 1 when any step failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const results = [];
const pageErrors = [];
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

adminIn = await step('admin signs in and lands in the inbox', async () => {
  const { page } = admin;
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  const nav = page.getByRole('navigation', { name: 'Navegação principal' }).filter({ visible: true });
  for (const item of ['Inbox', 'Contatos', 'Configurações']) await expectVisible(nav.getByRole('link', { name: item }), `sidebar ${item}`);
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

  await step('a reload keeps the session (rotating refresh token in localStorage)', async () => {
    const { page } = admin;
    await page.goto(`${BASE}/settings/labels`);
    await expectVisible(page.getByTestId('labels-list').getByText(labelName), 'labels after a reload');
    await page.reload();
    await expectVisible(page.getByTestId('labels-list').getByText(labelName), 'labels after a second reload');
    if (!/\/settings\/labels/.test(page.url())) throw new Error(`expected to stay on /settings/labels, at ${page.url()}`);
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

// ---------------------------------------------------------------- mocked API answers
// Errors the demo server cannot produce on demand (lockout, license,
// suspension, several companies) and the conversation engine that is still
// being built are answered by the browser's network layer instead.
const json = (status, body, headers = {}) => ({ status, contentType: 'application/json', headers, body: JSON.stringify(body) });
const apiError = (status, code, details, headers) => json(status, { error: { code, message: code, details } }, headers);

await step('login errors from the API: lockout countdown, license, suspension, choose company', async () => {
  const { page, context } = await newPage('login-errors');
  const answers = [
    apiError(429, 'too_many_attempts', { retry_after_seconds: 75 }, { 'Retry-After': '75' }),
    apiError(402, 'license_invalid', { reason: 'expired' }),
    apiError(403, 'tenant_suspended'),
    apiError(409, 'tenant_required', { tenants: [{ slug: 'loja-centro', name: 'Loja Centro' }, { slug: 'loja-norte', name: 'Loja Norte' }] }),
  ];
  const bodies = [];
  await page.route('**/api/v1/auth/login', (route) => {
    bodies.push(JSON.parse(route.request().postData() ?? '{}'));
    return route.fulfill(answers.shift() ?? apiError(401, 'invalid_credentials'));
  });
  await login(page, 'varias@empresas.com', 'qualquer-senha');
  await expectVisible(page.getByTestId('login-error').filter({ hasText: /Tente de novo em 1:1[45]/ }), 'lockout countdown');
  const locked = page.getByRole('button', { name: /Bloqueado por/ });
  if (!(await locked.isDisabled())) throw new Error('the button must be disabled while locked out');
  await page.waitForTimeout(1200);
  await expectVisible(page.getByTestId('login-error').filter({ hasText: /1:1[0-3]/ }), 'the countdown moving');
  await shot(page, '19-login-locked', 'Login locked out after too many attempts: countdown from Retry-After, button disabled');
  // the lockout ends on its own in the UI only after the countdown; start a fresh page for the next answers
  await page.goto(`${BASE}/login`);
  for (const [text, name] of [
    ['A licença desta empresa não é válida. Ela expirou.', '20-login-license'],
    ['A conta da sua empresa está suspensa', null],
  ]) {
    await page.getByLabel('E-mail').fill('varias@empresas.com');
    await page.getByLabel('Senha').fill('qualquer-senha');
    await page.getByRole('button', { name: 'Entrar', exact: true }).click();
    await expectVisible(page.getByTestId('login-error').filter({ hasText: text }), text);
    if (name) await shot(page, name, 'Login refused: the license is invalid (reason: expired)');
  }
  await page.getByRole('button', { name: 'Entrar', exact: true }).click();
  const select = page.getByLabel('Em qual empresa você quer entrar?');
  await expectVisible(select, 'choose company');
  await select.selectOption('loja-norte');
  await shot(page, '21-login-choose-company', 'Login with an email in several companies: choose which one');
  await page.getByRole('button', { name: 'Entrar nesta empresa' }).click();
  await expectVisible(page.getByTestId('login-error').filter({ hasText: 'E-mail ou senha incorretos.' }), 'answer after choosing');
  if (bodies.at(-1)?.tenant !== 'loja-norte') throw new Error(`the chosen company was not sent: ${JSON.stringify(bodies.at(-1))}`);
  await context.close();
});

await step('inbox with conversations, live socket drop and resume since seq (engine answers mocked)', async () => {
  const { page, context } = await newPage('inbox-mocked');
  const now = Date.now();
  const ago = (min) => new Date(now - min * 60_000).toISOString();
  const conv = (id, name, phone, text, min, extra = {}) => ({
    id, connection_id: 'sandbox', channel: 'whatsapp', contact_id: `c-${id}`, contact: { id: `c-${id}`, name, phone },
    status: 'open', assignee_id: null, team_id: null, label_ids: [], unread_count: 0,
    last_message: { type: 'text', text, direction: 'inbound', created_at: ago(min), status: 'received' }, last_message_at: ago(min),
    window_expires_at: new Date(now + (24 * 60 - min) * 60_000).toISOString(), ...extra,
  });
  const conversations = [
    conv('c1', 'Maria Oliveira', '+55 19 98765-4321', 'Vocês entregam em Campinas?', 2, { unread_count: 3 }),
    conv('c2', 'João Souza', '+55 11 91234-0000', '', 15, { last_message: { type: 'audio', direction: 'inbound', created_at: ago(15), status: 'received', media: { voice: true } }, unread_count: 1, channel: 'instagram' }),
    conv('c3', 'Ana Lima', '+55 21 99999-1111', 'Obrigada! 😊', 60 * 26, { assignee_name: 'Agente Demo', status: 'in_progress' }),
  ];
  const messages = [
    { id: 'm1', conversation_id: 'c1', seq: 1, direction: 'inbound', type: 'text', text: 'Oi! Vocês entregam em Campinas?', status: 'received', created_at: ago(5) },
    { id: 'm2', conversation_id: 'c1', seq: 2, direction: 'outbound', type: 'text', text: 'Entregamos sim! Em até 2 dias úteis 🚚', status: 'read', created_at: ago(4), sent_by_name: 'Admin Demo' },
    { id: 'm3', conversation_id: 'c1', seq: 3, direction: 'inbound', type: 'location', location: { latitude: -22.9, longitude: -47.06, name: 'Minha casa' }, status: 'received', created_at: ago(2) },
  ];
  await context.route(/\/api\/v1\/conversations(\?.*)?$/, (route) => route.fulfill(json(200, { items: conversations, next_cursor: null })));
  await context.route(/\/api\/v1\/conversations\/c1$/, (route) => route.fulfill(json(200, conversations[0])));
  await context.route(/\/api\/v1\/conversations\/c1\/messages(\?.*)?$/, (route) => route.fulfill(json(200, { items: messages, next_cursor: null })));
  const sockets = [];
  const received = [];
  await context.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    sockets.push(ws);
    ws.onMessage((m) => received.push({ socket: sockets.length, frame: JSON.parse(String(m)) }));
    ws.send(JSON.stringify({ type: 'hello', seq: 41 }));
    ws.send(JSON.stringify({ type: 'conversation.updated', seq: 42, data: { id: 'c1' } }));
  });
  await login(page, ADMIN);
  await page.waitForURL(/\/inbox/);
  await page.getByRole('tab', { name: 'Todas', exact: true }).click();
  await expectVisible(page.getByTestId('conversation-row').filter({ hasText: 'Maria Oliveira' }), 'a conversation row');
  await page.getByTestId('conversation-row').filter({ hasText: 'Maria Oliveira' }).click();
  await page.waitForURL(/\/inbox\/c1/);
  await expectVisible(page.getByTestId('bubble').filter({ hasText: 'Entregamos sim!' }), 'the messages of the conversation');
  await expectVisible(page.getByTestId('open-contact').filter({ hasText: 'Maria Oliveira' }), 'the contact in the conversation header');
  await page.waitForTimeout(500); // live frames arrive; the header must keep the contact
  await expectVisible(page.getByTestId('open-contact').filter({ hasText: 'Maria Oliveira' }), 'the contact in the header after live frames');
  await shot(page, '22-inbox-conversation', 'Inbox with conversations (mocked engine answers): rows with channel, preview, time, unread badge, assignee; open conversation with ticks, location and the 24-hour window');
  // drop the socket: the banner shows, the client reconnects and resumes since the last seq
  for (let i = 0; i < 50 && sockets.length === 0; i++) await page.waitForTimeout(100);
  if (!sockets.length) throw new Error('the console never opened the realtime socket');
  if (sockets.length !== 1) throw new Error(`one socket must live across route changes; ${sockets.length} were opened`);
  await sockets[0].close({ code: 1011, reason: 'test drop' });
  await expectVisible(page.getByTestId('connection-lost'), 'the connection-lost banner');
  await shot(page, '23-connection-lost', 'Connection-lost banner while the realtime socket reconnects');
  for (let i = 0; i < 100 && !received.some((r) => r.socket === 2); i++) await page.waitForTimeout(100);
  const resume = received.find((r) => r.socket === 2)?.frame;
  if (!resume || resume.type !== 'resume' || resume.since !== 42) throw new Error(`expected {"type":"resume","since":42} on the new socket, got ${JSON.stringify(received)}`);
  await page.getByTestId('connection-lost').waitFor({ state: 'detached' });
  await context.close();
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

await step('no uncaught errors in the pages', async () => {
  if (pageErrors.length) throw new Error(pageErrors.join('\n'));
});

await browser.close();

const failed = results.filter((r) => !r.ok);
writeFileSync(join(SHOTS, 'index.json'), JSON.stringify({ url: BASE, results, screenshots: shots }, null, 2));
console.log(`\n${results.length - failed.length}/${results.length} steps passed; ${shots.length} screenshots in ${SHOTS}`);
for (const s of shots) console.log(`  ${s.file}: ${s.what}`);
process.exit(failed.length ? 1 : 0);
