import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createClient, type HoldfastClient, openSqliteStore, type ProgressEvent } from '@holdfast/client';
import { AppError } from '@holdfast/protocol';
import { DEVICE_EXIT, deviceWhere, explainDeviceError, massChangeMessage, recoveryMessage } from './device-errors.js';
import type { Invocation } from './main.js';

/**
 * `holdfast device login|sync|watch|status|add-contact|delete|export`: a working
 * device on the command line, with its own durable replica (--replica FILE),
 * for demos, tests and scripted use. Admin verbs (list, revoke) live in
 * device-command.ts.
 */
export const DEVICE_VERBS = new Set(['login', 'sync', 'watch', 'status', 'add-contact', 'delete', 'export']);

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

export async function deviceSimCommand(invocation: Invocation): Promise<number> {
  const { args, options, io } = invocation;
  const client = openClient(options);
  try {
    return await runVerb(invocation, client);
  } catch (error) {
    const server = typeof options.server === 'string' ? options.server : undefined;
    const replica = typeof options.replica === 'string' ? options.replica : undefined;
    const told = explainDeviceError(error, args[0] ?? '', deviceWhere(client, server, replica));
    if (!told) throw error;
    io.err(`holdfast: ${told.message}`);
    return told.exitCode;
  } finally {
    client.close();
  }
}

async function runVerb({ args, options, io }: Invocation, client: HoldfastClient): Promise<number> {
  const [verb, ...rest] = args;
  const where = () =>
    deviceWhere(
      client,
      typeof options.server === 'string' ? options.server : undefined,
      typeof options.replica === 'string' ? options.replica : undefined,
    );
  const confirmMassChange = options['confirm-mass-change'] === true || options.yes === true;
  switch (verb) {
    case 'login': {
      if (typeof options.server !== 'string' || typeof options.user !== 'string') {
        throw new AppError('invalid_request', 'Usage: holdfast device login --server URL --user NAME [--name DEVICE]');
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
      client.on('divergence', ({ collections }) =>
        io.err(
          `holdfast: the server and this device still differ in ${collections.length} collection(s) after re-uploading; run sync again, and tell the server's administrator if it persists.`,
        ),
      );
      const result = fresh ? await client.restore({ confirmMassChange }) : await client.sync({ confirmMassChange });
      if (result.massChange) io.err(`holdfast: ${massChangeMessage(result.massChange, client, where())}`);
      if (result.reseeded) io.err(`holdfast: ${recoveryMessage(result.reseeded)}`);
      io.out(
        `Synced: pushed ${result.pushed}, pulled ${result.pulled}, conflicts ${result.conflicts}, rejected ${result.rejected}` +
          (result.reseeded
            ? `; re-seeded the server (${result.reseeded.reason}): ${result.reseeded.itemsUploaded} items, ${result.reseeded.blobsUploaded} blobs, ${result.reseeded.deletesResent} deletes`
            : ''),
      );
      return result.massChange ? DEVICE_EXIT.massChange : 0;
    }
    case 'watch': {
      const watcher = client.watch();
      let lastError = '';
      client.on('syncEnd', ({ result }) => {
        lastError = '';
        io.out(`synced: pushed ${result.pushed}, pulled ${result.pulled}`);
        if (result.massChange) io.err(`holdfast: ${massChangeMessage(result.massChange, client, where())}`);
        if (result.reseeded) io.err(`holdfast: ${recoveryMessage(result.reseeded)}`);
      });
      // Watching goes on through failures (it retries); each is said once, in words.
      client.on('syncError', ({ error }) => {
        const told = explainDeviceError(error, 'watch', where());
        const line = `holdfast: ${told?.message ?? error.message}`;
        if (line !== lastError) io.err(line);
        lastError = line;
      });
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
    case 'delete': {
      // Deletes ITEM... or, with --collection ID --all, every item of a collection (sent by the next sync).
      const collectionId = typeof options.collection === 'string' ? options.collection : undefined;
      const ids = options.all === true && collectionId ? client.listItems(collectionId).map((item) => item.id) : rest;
      if (ids.length === 0)
        throw new AppError('invalid_request', 'Usage: holdfast device delete ITEM... | --collection ID --all');
      for (const id of ids) client.deleteItem(id);
      io.out(`Deleted ${ids.length} items (run "holdfast device sync" to send the deletions)`);
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
      throw new AppError('invalid_request', 'Usage: holdfast device login|sync|watch|status|add-contact|delete|export');
  }
}
