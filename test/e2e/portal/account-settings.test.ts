import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, loginDevice } from './portal-device.js';
import { type Portal, startPortal } from './portal-harness.js';

/** The Account page: the person's e-mail address, their password, and signing out of every browser. */
describe('portal account settings', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(async () => {
    await portal?.close();
  });

  it('shows, sets, changes and clears the e-mail address, and says in words what is wrong with one', async () => {
    const ida = await portal.addPerson('ida');
    const phone = await loginDevice(portal, ida);
    const stored = async () => (await phone.api<{ email: string | null }>('/v1/me')).email;
    const page = await portal.newPage();
    await portal.signIn(page, ida, '/');
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'E-mail address' }).waitFor();
    await page.getByText('You have no e-mail address here, so you are not told by mail.').waitFor();
    // Why it matters, before anyone types anything.
    await page.getByText(/this server tells you by e-mail at this address/).waitFor();
    await expectAccessible(page);

    const field = page.getByRole('textbox', { name: 'E-mail address', exact: true });
    await field.fill('ida at example');
    await page.getByRole('button', { name: 'Save address' }).click();
    const refused = page.getByRole('alert');
    await refused.getByText('Invalid e-mail address: expected an e-mail address like name@example.org').waitFor();
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await stored()).toBeNull();

    await field.fill('');
    await page.getByRole('button', { name: 'Save address' }).click();
    await refused.getByText(/Type an e-mail address, or use "Remove address"/).waitFor();

    await field.fill('  ida@example.org ');
    await page.getByRole('button', { name: 'Save address' }).click();
    await page.getByRole('status').getByText('Saved. Notices now go to ida@example.org.').waitFor();
    await page.getByText('Notices go to ida@example.org.').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await stored()).toBe('ida@example.org');

    // A change made elsewhere shows on the next visit, and the address can be replaced.
    await phone.api('/v1/me', { method: 'PATCH', body: { email: 'ida@phone.example' } });
    await page.reload();
    await page.getByText('Notices go to ida@phone.example.').waitFor();
    const replace = page.getByRole('textbox', { name: 'New e-mail address', exact: true });
    expect(await replace.inputValue()).toBe('ida@phone.example');
    await replace.fill('ida.new@example.org');
    await page.getByRole('button', { name: 'Save address' }).click();
    await page.getByText('Notices go to ida.new@example.org.').waitFor();
    expect(await stored()).toBe('ida.new@example.org');

    await page.getByRole('button', { name: 'Remove address' }).click();
    await page.getByRole('status').getByText('Removed. This server no longer mails you.').waitFor();
    await page.getByText('You have no e-mail address here, so you are not told by mail.').waitFor();
    expect(await page.getByRole('button', { name: 'Remove address' }).count()).toBe(0);
    expect(await stored()).toBeNull();
  });

  it('changes the password: a wrong current one is refused in words, and other browsers are signed out', async () => {
    const joe = await portal.addPerson('joe');
    const phone = await loginDevice(portal, joe);
    const other = await portal.newPage();
    await portal.signIn(other, joe, '/contacts');
    const page = await portal.newPage();
    await portal.signIn(page, joe, '/account');
    const change = async (current: string, next: string, again = next) => {
      await page.getByLabel('Current password', { exact: true }).fill(current);
      await page.getByLabel('New password (at least 8 characters)', { exact: true }).fill(next);
      await page.getByLabel('New password again', { exact: true }).fill(again);
      await page.getByRole('button', { name: 'Change password' }).click();
    };

    await change('not my password', 'a fresh long password');
    await page.getByRole('alert').getByText('The current password is not right.').waitFor();
    await change(joe.password, 'a fresh long password', 'a fresh long passwort');
    await page.getByRole('alert').getByText('The two new passwords are not the same.').waitFor();
    await change(joe.password, 'short');
    await page.getByRole('alert').getByText('Passwords need at least 8 characters.').waitFor();
    // Still signed in after all of that.
    expect(new URL(page.url()).pathname).toBe('/account');

    await change(joe.password, 'a fresh long password');
    await page.getByRole('status').getByText('Your password is changed, and 1 other browser was signed out.').waitFor();
    expect(await page.getByLabel('Current password', { exact: true }).inputValue()).toBe('');
    await other.goto('/contacts');
    await other.getByText(/This browser was signed out/).waitFor();
    // The phone syncs on; the new password is the one that signs in.
    expect(await phone.api<{ username: string }>('/v1/me')).toMatchObject({ username: 'joe' });
    await portal.signIn(other, { ...joe, password: 'a fresh long password' }, '/account');
  });

  it('signs out everywhere: every browser of the person ends on the sign-in page, and their phone stays', async () => {
    const kim = await portal.addPerson('kim');
    const lou = await portal.addPerson('lou');
    const phone = await loginDevice(portal, kim);
    const other = await portal.newPage();
    await portal.signIn(other, kim, '/contacts');
    const someoneElse = await portal.newPage();
    await portal.signIn(someoneElse, lou, '/contacts');
    const page = await portal.newPage();
    await portal.signIn(page, kim, '/account');
    page.on('dialog', (dialog) => void dialog.accept());

    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByText('You are signed out of every browser.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    // This browser's cookie is gone with its session.
    await page.goto('/account');
    await page.getByText('Sign in to see your data.').waitFor();
    await other.goto('/contacts');
    await other.getByText(/This browser was signed out/).waitFor();

    await someoneElse.reload();
    await someoneElse.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    expect(new URL(someoneElse.url()).pathname).toBe('/contacts');
    expect(await phone.api<{ username: string }>('/v1/me')).toMatchObject({ username: 'kim' });
  });
});
