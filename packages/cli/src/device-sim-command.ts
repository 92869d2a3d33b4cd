import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createClient, type HoldfastClient, openSqliteStore, type ProgressEvent } from '@holdfast/client';
import { AppError } from '@holdfast/protocol';
import type { Invocation } from './main.js';

/**
 * `holdfast device login|sync|watch|status|add-contact|export`: a working
 * device on the command line, with its own durable replica (--replica FILE),
 * for demos, tests and scripted use. Admin verbs (list, revoke) live in
 * device-command.ts.
 */
export const DEVICE_VERBS = new Set(['login', 'sync', 'watch', 'status', 'add-contact', 'export']);

function replicaPath(options: Invocation['options']): string {
  return resolve(typeof options.replica === 'string' ? options.replica : './holdfast-device/replica.db');
}

function openClient(options: Invocation['options']): HoldfastClient {
  const serverUrl = typeof options.server === 'string' ? options.server : undefined;
  return createClient({ store: openSqliteStore(replicaPath(options)), ...(serverUrl ? { serverUrl } : {}) });
}

function progressBar(io: Invocation['io']) {
  let last = '';
  return (event: ProgressEvent) => {
    const total = event.itemsTotal ?? 0;
    const share = total > 0 ? Math.min(1, event.items / total) : 0;
    const filled = Math.round(share * 30);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${event.items}/${total || '?'} items, ${event.blobs} blobs, ${(event.bytes / 1048576).toFixed(1)} MB`;
    if (line !== last) io.err(line);
    last = line;
  };
}

export async function deviceSimCommand({ args, options, io }: Invocation): Promise<number> {
  const [verb] = args;
  const client = openClient(options);
  try {
    switch (verb) {
      case 'login': {
        if (typeof options.server !== 'string' || typeof options.user !== 'string') {
          throw new AppError(
            'invalid_request',
            'Usage: holdfast device login --server URL --user NAME [--name DEVICE]',
          );
        }
        const password = await io.readSecret('Password: ');
        const name = typeof options.name === 'string' ? options.name : 'holdfast-cli';
        const login = await client.login(options.user, password, name);
        io.out(`Logged in as ${options.user}; device ${login.deviceId}; replica ${replicaPath(options)}`);
        return 0;
      }
      case 'sync': {
        const fresh = client.listCollections({ includeDeleted: true }).length === 0;
        client.on('progress', progressBar(io));
        client.on('massChange', (e) =>
          io.err(
            `Stopped: this sync would delete ${e.deletes} and blank ${e.blanks} of ${e.liveItems} items (limit ${e.limit}). Re-run with --yes to apply.`,
          ),
        );
        const result = fresh
          ? await client.restore({ confirmMassChange: options.yes === true })
          : await client.sync({ confirmMassChange: options.yes === true });
        io.out(
          `Synced: pushed ${result.pushed}, pulled ${result.pulled}, conflicts ${result.conflicts}, rejected ${result.rejected}` +
            (result.reseeded
              ? `; re-seeded the server (${result.reseeded.reason}): ${result.reseeded.itemsUploaded} items, ${result.reseeded.blobsUploaded} blobs, ${result.reseeded.deletesResent} deletes`
              : ''),
        );
        return result.massChange ? 3 : 0;
      }
      case 'watch': {
        const watcher = client.watch();
        client.on('syncEnd', ({ result }) => io.out(`synced: pushed ${result.pushed}, pulled ${result.pulled}`));
        io.out('Watching for changes; Ctrl-C to stop.');
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        watcher.stop();
        return 0;
      }
      case 'status': {
        io.out(
          JSON.stringify(
            {
              replica: replicaPath(options),
              ...client.status(),
              collections: client
                .listCollections()
                .map((c) => ({ id: c.id, type: c.type, items: client.listItems(c.id).length })),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      case 'add-contact': {
        if (typeof options.name !== 'string')
          throw new AppError(
            'invalid_request',
            'Usage: holdfast device add-contact --name NAME [--tel N] [--email E] [--collection ID]',
          );
        const collectionId = typeof options.collection === 'string' ? options.collection : 'contacts';
        if (!client.getCollection(collectionId))
          client.createCollection({ id: collectionId, type: 'contacts', name: 'Contacts' });
        const lines = ['BEGIN:VCARD', 'VERSION:4.0', `FN:${options.name}`];
        if (typeof options.tel === 'string') lines.push(`TEL;VALUE=uri:tel:${options.tel}`);
        if (typeof options.email === 'string') lines.push(`EMAIL:${options.email}`);
        const item = client.createItem(collectionId, `${[...lines, 'END:VCARD'].join('\r\n')}\r\n`);
        io.out(`Added contact ${item.id} to ${collectionId} (run "holdfast device sync" to send it)`);
        return 0;
      }
      case 'export': {
        if (typeof options.dir !== 'string')
          throw new AppError('invalid_request', 'Usage: holdfast device export --dir DIR');
        let count = 0;
        for (const collection of client.listCollections()) {
          const dir = join(options.dir, collection.id);
          await mkdir(dir, { recursive: true });
          for (const item of client.listItems(collection.id)) {
            const text = typeof item.content === 'string';
            const extension =
              item.contentType === 'text/vcard' ? 'vcf' : item.contentType === 'text/calendar' ? 'ics' : 'json';
            await writeFile(
              join(dir, `${item.id}.${extension}`),
              text ? (item.content as string) : JSON.stringify(item.content, null, 2),
            );
            if (item.blob) {
              const bytes = await client.readBlob(item.blob.sha256);
              if (bytes) await writeFile(join(dir, `${item.id}.blob`), bytes);
            }
            count++;
          }
        }
        io.out(`Exported ${count} items from the replica to ${options.dir}`);
        return 0;
      }
      default:
        throw new AppError('invalid_request', 'Usage: holdfast device login|sync|watch|status|add-contact|export');
    }
  } finally {
    client.close();
  }
}
