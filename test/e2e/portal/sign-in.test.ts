import { setUserDisabled } from '@holdfast/server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countNavigations, type Portal, startPortal } from './portal-harness.js';

/**
 * Sign-in in a real browser: every way it can fail ends on one page that says
 * what happened, after at most one redirect, and stays there (no loop).
 */
describe('portal sign-in', () => {
  let portal: Portal;
  beforeAll(async () => {
    // Event streams re-check their device often, so a revoked session's open page notices quickly.
    portal = await startPortal({ 'session-idle-minutes': '5', 'event-stream-check-ms': '200' });
  });
  afterAll(async () => {
    await portal?.close();
  });

  /** The page settles on the sign-in page with `text`, and no further navigation happens. */
  const settlesOnSignIn = async (page: Page, navigations: { count(): number; urls: string[] }, text: string) => {
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).toBe('/sign-in');
    await page.getByText(text).waitFor();
    const settled = navigations.count();
    await page.waitForTimeout(1500);
    expect(navigations.count(), navigations.urls.join('\n')).toBe(settled);
    await expect(page.getByLabel('Username', { exact: true }).isVisible()).resolves.toBe(true);
  };

  it('signs in and lands on the page asked for', async () => {
    const ada = await portal.addPerson('ada');
    const page = await portal.newPage();
    await page.goto('/contacts');
    // Not signed in: one redirect to sign-in, which remembers where the person was going.
    await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/contacts');
    await page.getByText('Sign in to see your data.').waitFor();
    await page.getByLabel('Username', { exact: true }).fill(ada.username);
    await page.getByLabel('Password', { exact: true }).fill(ada.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/contacts');
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.getByText('Signed in as ada').waitFor();
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'holdfast_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // Reloading keeps the session; signing out ends it and says so.
    await page.reload();
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByText('You are signed out.').waitFor();
    // The cookie went with the session: the next visit is simply not signed in.
    await page.goto('/contacts');
    await page.getByText('Sign in to see your data.').waitFor();
  });

  it('a wrong password says so on the sign-in page, without navigating', async () => {
    const bea = await portal.addPerson('bea');
    const page = await portal.newPage();
    await page.goto('/sign-in');
    const navigations = countNavigations(page);
    await page.getByLabel('Username', { exact: true }).fill(bea.username);
    await page.getByLabel('Password', { exact: true }).fill('not-her-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Wrong username or password.').waitFor();
    // An unknown name reads the same.
    await page.getByLabel('Username', { exact: true }).fill('nobody-here');
    await page.getByLabel('Password', { exact: true }).fill('whatever-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Wrong username or password.').waitFor();
    expect(navigations.count()).toBe(0);
  });

  it('an expired session ends on the sign-in page saying it expired, within one redirect', async () => {
    const cy = await portal.addPerson('cy');
    const page = await portal.newPage();
    await portal.signIn(page, cy, '/contacts');
    const realNow = portal.ctx.now;
    portal.ctx.now = () => realNow() + 6 * 60_000;
    try {
      const navigations = countNavigations(page);
      await page.goto('/contacts');
      await settlesOnSignIn(page, navigations, 'Your session has expired. Sign in again to continue.');
      expect(navigations.count()).toBeLessThanOrEqual(2);
    } finally {
      portal.ctx.now = realNow;
    }
  });

  it('a session revoked from another browser ends the open page on the sign-in page, without reloading', async () => {
    const dee = await portal.addPerson('dee');
    const page = await portal.newPage();
    await portal.signIn(page, dee, '/contacts');
    const other = await portal.newPage();
    await portal.signIn(other, dee, '/');
    // From the second browser: revoke the first session through the API, as the devices page does.
    const revoked = await other.evaluate(async () => {
      const session = (await (await fetch('/v1/session')).json()) as { csrfToken: string };
      const { devices } = (await (await fetch('/v1/devices')).json()) as {
        devices: { id: string; current: boolean; revokedAt: string | null }[];
      };
      const target = devices.find((d) => !d.current && !d.revokedAt);
      const answer = await fetch(`/v1/devices/${target?.id}`, {
        method: 'DELETE',
        headers: { 'x-csrf-token': session.csrfToken },
      });
      return answer.status;
    });
    expect(revoked).toBe(204);
    const navigations = countNavigations(page);
    // The open page hears it through its event stream ending: no reload, no click.
    await settlesOnSignIn(page, navigations, 'This browser was signed out');
    expect(navigations.count()).toBeLessThanOrEqual(1);
    // Loading a page afresh ends in the same place.
    const again = countNavigations(page);
    await page.goto('/history');
    await settlesOnSignIn(page, again, 'This browser was signed out');
    expect(again.count()).toBeLessThanOrEqual(2);
  });

  it('a disabled account says so, both for an open session and at sign-in', async () => {
    const eve = await portal.addPerson('eve');
    const page = await portal.newPage();
    await portal.signIn(page, eve, '/contacts');
    await setUserDisabled(portal.ctx, 'eve', true);
    const navigations = countNavigations(page);
    await page.goto('/contacts');
    const disabled = 'This account is disabled, so signing in again will not help.';
    await settlesOnSignIn(page, navigations, disabled);
    expect(navigations.count()).toBeLessThanOrEqual(2);

    const fresh = await portal.newPage();
    await fresh.goto('/sign-in');
    const none = countNavigations(fresh);
    await fresh.getByLabel('Username', { exact: true }).fill(eve.username);
    await fresh.getByLabel('Password', { exact: true }).fill(eve.password);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByRole('alert').getByText(disabled).waitFor();
    expect(none.count()).toBe(0);

    // Enabled again: the session that was open when the account was disabled stays ended.
    await setUserDisabled(portal.ctx, 'eve', false);
    const enabled = countNavigations(page);
    await page.goto('/contacts');
    await settlesOnSignIn(page, enabled, 'This browser was signed out');
    expect(enabled.count()).toBeLessThanOrEqual(2);
  });
});
