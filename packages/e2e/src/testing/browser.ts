import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core drives it, nothing is downloaded. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  return existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath} (apt-get install chromium)`;
}

/** Where the browser tests save their screenshots (gitignored). */
export const artifactsDirectory = path.resolve(import.meta.dirname, '..', '..', 'test-artifacts');

/** Flags for a quiet, reproducible headless Chromium: no GPU, no sandbox (root in CI), nothing fetched in the background. */
const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium on a fresh profile, and every page error and console error it reported. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /**
   * Script errors and console errors (a Content-Security-Policy violation is one), in order.
   * The browser's own line for each failed request (a 401 or 400 the page asked for and
   * shows) is left out: the tests look at what the page does with those answers.
   */
  errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh `--user-data-dir` (removed again by `close`) and opens one page. */
export async function launchBrowser(extraArgs: string[] = []): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'avp-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumFlags, ...extraArgs],
      viewport: { width: 1280, height: 800 },
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource:')) errors.push(`console error: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async screenshot(name) {
      await mkdir(artifactsDirectory, { recursive: true });
      const file = path.join(artifactsDirectory, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
