import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { card, deviceOf } from './device.js';
import { type Person, type Portal, startPortal } from './portal-harness.js';

/**
 * One person cannot reach another's data through the portal by changing ids
 * in the address: items, their history, exports, imports and incidents.
 */
describe('portal isolation', () => {
  let portal: Portal;
  let ada: Person;
  let bea: Person;
  let adaImport = '';
  beforeAll(async () => {
    portal = await startPortal();
    ada = await portal.addPerson('ada');
    bea = await portal.addPerson('bea');
    const phone = await deviceOf(portal, ada);
    await phone.call('/v1/collections', { id: 'secret-people', type: 'contacts', name: 'Secret' });
    await phone.push([
      {
        collectionId: 'secret-people',
        itemId: 'ada-secret',
        op: 'put',
        baseRevision: null,
        content: card('ada-secret', 'Secret Contact', '+1 555 0666'),
      },
    ]);
    await phone.call('/v1/reports', { text: 'Ada private report' });
    const imported = await fetch(`${portal.url}/v1/import?name=x.vcf`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await loginToken(portal, ada)}`, 'content-type': 'text/vcard' },
      body: card('imp', 'Imported For Ada', '+1 555 0777'),
    });
    adaImport = ((await imported.json()) as { importId: string }).importId;
  });
  afterAll(async () => {
    await portal?.close();
  });

  it("shows none of another person's items, history, exports, imports or incidents, whatever the address says", async () => {
    const page = await portal.newPage();
    await portal.signIn(page, bea, '/');
    await page.goto('/contacts/ada-secret');
    await page.getByRole('heading', { name: 'Contact not found' }).waitFor();
    await page.goto('/contacts/ada-secret/edit');
    await page.getByRole('alert').waitFor();
    await page.goto('/history/items/ada-secret');
    await page.getByRole('alert').waitFor();
    expect(await page.getByText('Secret Contact').count()).toBe(0);

    // The same requests the pages make, with Bea's session, for Ada's ids.
    const statuses = await page.evaluate(
      async ({ importId }) => {
        const session = (await (await fetch('/v1/session')).json()) as { csrfToken: string };
        const write = { method: 'POST', headers: { 'x-csrf-token': session.csrfToken } };
        const get = async (path: string) => (await fetch(path)).status;
        return {
          item: await get('/v1/items/ada-secret'),
          json: await get('/v1/items/ada-secret/json'),
          revisions: await get('/v1/items/ada-secret/revisions'),
          collection: await get('/v1/collections/secret-people'),
          undelete: (await fetch('/v1/items/ada-secret/undelete', write)).status,
          importUndo: (await fetch(`/v1/imports/${importId}/undo`, write)).status,
          search: (await (await fetch('/v1/contacts/search?q=Secret')).json()) as { contacts: unknown[] },
          ledger: JSON.stringify(await (await fetch('/v1/ledger')).json()),
          trash: JSON.stringify(await (await fetch('/v1/trash')).json()),
        };
      },
      { importId: adaImport },
    );
    expect(statuses).toMatchObject({
      item: 404,
      json: 404,
      revisions: 404,
      collection: 404,
      undelete: 404,
      importUndo: 404,
      search: { contacts: [] },
    });
    expect(statuses.ledger).not.toContain('Ada private report');
    expect(statuses.ledger).not.toContain('Imported For Ada');
    expect(statuses.trash).not.toContain('ada-secret');

    // The export is always the signed-in person's own: there is no id to change.
    await page.goto('/my-data');
    await page.getByRole('button', { name: 'Download my data' }).click();
    await page.getByText(/Your export holds nothing yet/).waitFor();
    await page.goto('/incidents');
    await page.getByLabel('What is missing or wrong?').waitFor();
    expect(await page.getByText('Ada private report').count()).toBe(0);
  }, 40_000);
});

async function loginToken(portal: Portal, person: Person): Promise<string> {
  const response = await fetch(`${portal.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: person.username, password: person.password }),
  });
  return ((await response.json()) as { token: string }).token;
}
