import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildApp,
  type Context,
  closeContext,
  createContext,
  createLogger,
  createUser,
  loadConfig,
  mailEnabled,
  startNotifier,
} from '@holdfast/server';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** The built portal the server serves; `npm install` (prepare) or `npm run build -w @holdfast/web` makes it. */
export const WEB_DIST = fileURLToPath(new URL('../../../packages/web/dist', import.meta.url));

/** Debian's chromium: the tests never download a browser. */
const CHROMIUM = process.env.HOLDFAST_CHROMIUM ?? '/usr/bin/chromium';

export interface Person {
  username: string;
  password: string;
  userId: string;
}

/**
 * A real Holdfast server listening on 127.0.0.1, port 0, serving the built
 * portal, and one headless chromium driven by playwright-core. Each test
 * takes a fresh browser context (its own cookies) from `newPage`.
 */
export interface Portal {
  url: string;
  ctx: Context;
  app: FastifyInstance;
  browser: Browser;
  /** A new page in a new browser context (no cookies), closed with the portal. */
  newPage(): Promise<Page>;
  addPerson(username: string): Promise<Person>;
  /** Signs in through the sign-in page, as a person does, and waits for the shell. */
  signIn(page: Page, person: Person, path?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startPortal(settings: Record<string, string> = {}): Promise<Portal> {
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error(`No built portal in ${WEB_DIST}: run \`npm run build -w @holdfast/web\` first.`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-portal-'));
  const config = loadConfig({
    flags: { data: dataDir, 'log-level': 'silent', 'web-dir': WEB_DIST, ...settings },
    env: {},
  });
  const ctx = await createContext(config, createLogger(config));
  const app = await buildApp(ctx);
  // As `holdfast serve` does: with smtpUrl set, people are mailed what touched their data.
  const notifier = mailEnabled(config) ? startNotifier(ctx) : null;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  } catch (error) {
    await notifier?.stop();
    await app.close();
    await closeContext(ctx);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const contexts: BrowserContext[] = [];
  return {
    url,
    ctx,
    app,
    browser,
    async newPage() {
      const context = await browser.newContext({ baseURL: url, viewport: { width: 1200, height: 800 } });
      context.setDefaultTimeout(10_000);
      contexts.push(context);
      return context.newPage();
    },
    async addPerson(username) {
      const password = `${username}-password-1`;
      const user = await createUser(ctx, username, password);
      return { username, password, userId: user.id };
    },
    async signIn(page, person, path = '/') {
      await page.goto(`/sign-in?next=${encodeURIComponent(path)}`);
      await page.getByLabel('Username', { exact: true }).fill(person.username);
      await page.getByLabel('Password', { exact: true }).fill(person.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).toBe(path.split('?')[0]);
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await notifier?.stop();
      await app.close();
      await closeContext(ctx);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Counts the main frame's navigations (full loads and history changes alike)
 * from now on: a sign-in that loops shows up as a count that keeps growing.
 */
export function countNavigations(page: Page): { count(): number; urls: string[] } {
  const urls: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) urls.push(frame.url());
  });
  return { count: () => urls.length, urls };
}
