// Routing (issue 18) in the browser: business hours, team distribution,
// the availability switch and the team queues. run.mjs calls routingSteps
// with its helpers; the company's service settings are put back at the end
// (always open) so no later scenario gets an outside-hours reply.

export async function routingSteps({ step, newPage, login, expectVisible, expectText, shot, apiLogin, call, BASE, ADMIN, run }) {
  const { context, page } = await newPage('routing');
  const signedIn = await step('routing: admin signs in for the business-hours scenario', async () => {
    await login(page, ADMIN);
    await page.waitForURL(/\/inbox/);
  });
  if (!signedIn) {
    await context.close();
    return;
  }
  let token = null;
  try {
    await step('routing: Settings → Atendimento: a week with a Saturday morning, a holiday, the outside-hours reply and auto-close are saved and come back after a reload', async () => {
      token = await apiLogin(ADMIN);
      await page.goto(`${BASE}/settings/service`);
      await expectText(page, 'Horário de atendimento');
      const always = page.getByLabel('Sempre aberto');
      if (await always.isChecked()) await always.uncheck();
      await expectVisible(page.getByTestId('company-hours-editor'), 'the week editor');
      await page.getByLabel('Aberto (Sábado)').check();
      await page.getByLabel('Sábado: fim do intervalo 1').fill('12:00');
      await page.getByRole('button', { name: 'Adicionar feriado' }).click();
      await page.getByLabel('Data do feriado 1').fill('2026-12-25');
      await page.getByLabel('Nome do feriado 1').fill(`Natal ${run}`);
      await page.getByLabel('Todo ano', { exact: true }).check();
      await page.getByLabel('Responder automaticamente fora do horário').check();
      await page.getByLabel(/Encerrar conversas paradas/).fill('48');
      await page.getByTestId('service-save').click();
      await expectText(page, 'Configurações salvas.');
      const saved = await call(token, 'GET', '/api/v1/tenant/service-settings');
      if (JSON.stringify(saved.business_hours?.days?.sat) !== JSON.stringify([['08:00', '12:00']])) throw new Error(`Saturday not saved: ${JSON.stringify(saved)}`);
      if (saved.business_hours.holidays?.[0]?.date !== '12-25') throw new Error(`holiday not saved every year: ${JSON.stringify(saved.business_hours.holidays)}`);
      if (!saved.outside_hours_reply.enabled || saved.auto_close.idle_hours !== 48) throw new Error(`reply/auto-close not saved: ${JSON.stringify(saved)}`);
      await page.reload();
      await expectVisible(page.getByTestId('company-hours-editor'), 'the week editor after a reload');
      if (!(await page.getByLabel('Aberto (Sábado)').isChecked())) throw new Error('Saturday is not open after a reload');
      if ((await page.getByLabel(/Encerrar conversas paradas/).inputValue()) !== '48') throw new Error('idle hours lost after a reload');
      await shot(page, '50-settings-service', 'Settings → Atendimento: the week with a Saturday morning, a yearly holiday, the outside-hours reply and auto-close');
    });

    await step('routing: an interval that ends before it starts is refused with the message beside the day', async () => {
      await page.getByLabel('Segunda: início do intervalo 1').fill('18:00');
      await page.getByLabel('Segunda: fim do intervalo 1').fill('08:00');
      await page.getByTestId('service-save').click();
      await expectVisible(page.locator('[data-field-error="business_hours.days.mon[0]"]').filter({ hasText: 'com o início antes do fim' }), 'the Monday field error');
      await page.getByLabel('Segunda: início do intervalo 1').fill('08:00');
      await page.getByLabel('Segunda: fim do intervalo 1').fill('18:00');
      await page.getByTestId('service-save').click();
      await expectText(page, 'Configurações salvas.');
    });

    await step('routing: a team with round robin, a cap and a 15-minute SLA', async () => {
      await page.goto(`${BASE}/settings/teams`);
      await page.getByTestId('new-team').click();
      await page.getByLabel('Nome', { exact: true }).fill(`Plantão ${run}`);
      await page.getByLabel('Distribuição automática').selectOption('round_robin');
      await page.getByLabel('Limite de conversas abertas por agente').fill('3');
      await page.getByLabel('Tempo para a primeira resposta (minutos)').fill('15');
      await page.getByRole('button', { name: 'Salvar' }).click();
      const row = page.getByTestId('teams-list').locator('li').filter({ hasText: `Plantão ${run}` });
      await expectVisible(row.getByText('Rodízio'), 'the team in round robin');
      await expectVisible(row.getByText('SLA 15 min'), "the team's SLA");
      await expectVisible(row.getByText('até 3 por agente'), "the team's cap");
    });

    await step('routing: the availability switch beside the name says Ausente, and the server agrees', async () => {
      await page.goto(`${BASE}/inbox`);
      const sw = page.getByTestId('availability-switch').filter({ visible: true });
      // the earlier scenarios' consoles of this admin just closed: the server makes an agent offline 5 s
      // after their last console goes (a reload is not a departure) and online again when one opens; let
      // that settle before switching, or its offline → online would land after our "away"
      await page.waitForTimeout(6000);
      await expectVisible(sw.locator('[data-availability="online"]'), 'online with this console open');
      await sw.getByLabel('Disponibilidade').selectOption('away');
      await expectVisible(sw.locator('[data-availability="away"]'), 'the amber dot');
      const me = await call(token, 'GET', '/api/v1/auth/me');
      const deadline = Date.now() + 5000;
      for (;;) {
        const list = await call(token, 'GET', '/api/v1/agents/availability');
        if (list.items.find((i) => i.user_id === me.id)?.availability === 'away') break;
        if (Date.now() > deadline) throw new Error(`the server did not record away: ${JSON.stringify(list)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await sw.getByLabel('Disponibilidade').selectOption('online');
      await expectVisible(sw.locator('[data-availability="online"]'), 'the green dot');
    });

    await step('routing: the inbox has the "Filas" tab with the team queues', async () => {
      await page.getByRole('tab', { name: /^Filas/ }).click();
      await expectVisible(page.getByTestId('queue-board').or(page.getByTestId('empty-state')), 'the queue board or its empty state');
      await shot(page, '51-inbox-queues', 'Inbox → Filas: the team queues with waiting time and SLA (supervisors and admins)');
    });
  } finally {
    // later scenarios expect an always-open company
    if (token) await call(token, 'PUT', '/api/v1/tenant/service-settings', { business_hours: null, outside_hours_reply: { enabled: false, text: '' }, auto_close: { idle_hours: 0, message: '' } }).catch(() => undefined);
    await context.close();
  }
}
