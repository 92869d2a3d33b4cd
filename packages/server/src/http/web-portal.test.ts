import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script></head></html>';

describe('the web portal is served at /', () => {
  let webDir = '';
  let server: TestServer | undefined;
  beforeAll(async () => {
    webDir = await mkdtemp(join(tmpdir(), 'holdfast-web-'));
    await mkdir(join(webDir, 'assets'));
    await writeFile(join(webDir, 'index.html'), INDEX);
    await writeFile(join(webDir, 'assets', 'app-1a2b3c.js'), 'console.log("portal");');
    await writeFile(join(webDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    return () => rm(webDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves index.html uncached with a strict CSP, and hashed assets cached for good', async () => {
    server = await startTestServer('sqlite', { 'web-dir': webDir });
    const index = await server.app.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.body).toBe(INDEX);
    expect(index.headers['cache-control']).toBe('no-cache');
    const csp = String(index.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(index.headers['x-frame-options']).toBe('SAMEORIGIN');

    const asset = await server.app.inject({ method: 'GET', url: '/assets/app-1a2b3c.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await server.app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it("hands the portal's own paths index.html, and never API, DAV or operations paths", async () => {
    server = await startTestServer('sqlite', { 'web-dir': webDir });
    for (const path of ['/contacts', '/contacts/abc?x=1', '/history/items/1']) {
      const page = await server.app.inject({ method: 'GET', url: path });
      expect(page.statusCode, path).toBe(200);
      expect(page.body, path).toBe(INDEX);
      expect(page.headers['cache-control'], path).toBe('no-cache');
      expect(String(page.headers['content-security-policy']), path).toContain("script-src 'self'");
    }
    const api = await server.app.inject({ method: 'GET', url: '/v1/no-such-route' });
    expect(api.statusCode).toBe(401);
    for (const path of ['/.well-known/nothing', '/assets/missing-123.js', '/readyz/extra', '/metrics/x']) {
      const miss = await server.app.inject({ method: 'GET', url: path });
      expect(miss.statusCode, path).toBe(404);
      expect(miss.headers['content-type'], path).toMatch(/problem\+json/);
    }
    // API answers keep their own headers: no page policy on JSON.
    const health = await server.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['content-security-policy']).toBeUndefined();
    expect((await server.app.inject({ method: 'POST', url: '/contacts' })).statusCode).toBe(404);
  });

  it('serves only the API when the portal is not built', async () => {
    server = await startTestServer('sqlite', { 'web-dir': join(webDir, 'missing') });
    const root = await server.app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(404);
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
