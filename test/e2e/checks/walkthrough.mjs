// E2E checks of the first run (issue 17) on a fresh user profile and an empty window: the Get
// Started walkthrough opens by itself, the welcome view of the empty window offers New Project
// from Dataset and Open Sample, and the walkthrough's Open Sample step copies the sample, opens it
// (the Taxonomy view shows it) and is then ticked as done.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const step = (page, id) => page.locator(`.gettingStartedContainer button.getting-started-step[data-step-id$="#${id}"]`).first();

/**
 * @param {{ page: import('playwright-core').Page, server: { tmp: string, url: string }, shots: string,
 *   check: Function, runCommand: Function, log: Function }} t
 */
export async function walkthroughChecks({ page, server, shots, check, runCommand, log }) {
  const parent = path.join(server.tmp, 'my-samples');
  mkdirSync(parent, { recursive: true });
  const copy = path.join(parent, 'tiny-birds');

  await check('a fresh profile opens the Get Started walkthrough with its five steps', async () => {
    const container = page.locator('.gettingStartedContainer');
    await container.getByText('Get Started with PSCL Studio').first().waitFor({ timeout: 60000 });
    for (const id of ['openSample', 'previewMasks', 'suggestPrompts', 'train', 'report']) {
      await step(page, id).waitFor({ timeout: 10000 });
      assert.equal(await step(page, id).getAttribute('aria-checked'), 'false', `${id} is not done yet`);
    }
    await page.screenshot({ path: path.join(shots, 'walkthrough.png') });
  });

  await check('the empty window\'s welcome view offers New Project from Dataset and Open Sample', async () => {
    await page.locator('.activitybar').getByRole('tab', { name: /PSCL Studio/ }).first().click();
    const welcome = page.locator('.welcome-view-content').first();
    await welcome.waitFor({ timeout: 30000 });
    await welcome.getByRole('button', { name: 'New Project from Dataset' }).waitFor({ timeout: 10000 });
    await welcome.getByRole('button', { name: 'Open Sample' }).waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(shots, 'welcome-empty.png') });
  });

  await check('the walkthrough\'s Open Sample step copies the sample, opens it in the Taxonomy view, and is ticked', async () => {
    await runCommand(page, 'PSCL: Get Started');
    await step(page, 'openSample').click();
    await page.locator('.gettingStartedContainer').getByRole('button', { name: 'Open Sample' }).first().click();
    // The folder picker is VS Code's simple file dialog (a quick input with a path).
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget', { hasText: 'Open Sample' }).waitFor({ timeout: 15000 });
    await page.waitForFunction(() => (document.querySelector('.quick-input-widget input')?.value ?? '').endsWith('/'), null, { timeout: 15000 });
    for (let i = 0; i < 10 && (await input.inputValue()) !== parent + '/'; i++) {
      await input.fill(parent + '/');
      await page.waitForTimeout(500);
    }
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'Copy the Sample Here' }).first().click();
    // The window reloads on the copied folder.
    await page.waitForURL((u) => decodeURIComponent(u.toString()).includes(copy), { timeout: 30000 });
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    assert.ok(existsSync(path.join(copy, 'tiny-birds.pscl.json')), `the sample was copied to ${copy}`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(copy, 'tiny-birds.pscl.json'), 'utf8')).name, 'Tiny Birds');
    await page.locator('.activitybar').getByRole('tab', { name: /PSCL Studio/ }).first().click();
    await page.getByRole('treeitem', { name: /Tiny Birds/ }).first().waitFor({ timeout: 30000 });
    await runCommand(page, 'PSCL: Get Started');
    await page.waitForFunction(() => document.querySelector('.gettingStartedContainer button.getting-started-step[data-step-id$="#openSample"]')?.getAttribute('aria-checked') === 'true', null, { timeout: 15000 });
    assert.equal(await step(page, 'previewMasks').getAttribute('aria-checked'), 'false', 'only the sample step is done');
    log(`sample copied to ${copy}; the walkthrough ticks "Open the sample"`);
    await page.screenshot({ path: path.join(shots, 'walkthrough-sample-open.png') });
  });
}
