import { AppError } from '@holdfast/protocol';
import type { Caller, Context } from '../context.js';
import { type InboxEntry, listInbox } from './files-inbox.js';
import {
  type FilesTarget,
  fileHrefs,
  INBOX,
  listFiles,
  listFolders,
  type PhotoFile,
  type PhotoFolder,
} from './files-store.js';
import { childOf, parseXml } from './xml-parse.js';
import {
  clark,
  DAV,
  d,
  element,
  escapeText,
  MULTISTATUS_CLOSE,
  MULTISTATUS_OPEN,
  type PropStats,
  propResponse,
} from './xml-write.js';

/** Live properties of a resource, by Clark name; absent ones answer 404 when asked for. */
type Props = Map<string, string>;

const collectionType = d('resourcetype', d('collection'));

function folderProps(displayName: string, updatedAt: number | null): Props {
  const props: Props = new Map([
    [clark(DAV, 'resourcetype'), collectionType],
    [clark(DAV, 'displayname'), d('displayname', escapeText(displayName))],
  ]);
  if (updatedAt !== null) {
    props.set(clark(DAV, 'getlastmodified'), d('getlastmodified', new Date(updatedAt).toUTCString()));
  }
  return props;
}

function fileProps(file: PhotoFile): Props {
  return new Map([
    [clark(DAV, 'resourcetype'), d('resourcetype')],
    [clark(DAV, 'displayname'), d('displayname', escapeText(file.name))],
    [clark(DAV, 'getcontentlength'), d('getcontentlength', String(file.size))],
    [clark(DAV, 'getcontenttype'), d('getcontenttype', escapeText(file.contentType))],
    [clark(DAV, 'getetag'), d('getetag', escapeText(`"${file.sha256 ?? ''}"`))],
    [clark(DAV, 'getlastmodified'), d('getlastmodified', new Date(file.updatedAt).toUTCString())],
    [clark(DAV, 'creationdate'), d('creationdate', new Date(file.createdAt).toISOString())],
  ]);
}

function entryProps(report: InboxEntry): Props {
  return new Map([
    [clark(DAV, 'resourcetype'), d('resourcetype')],
    [clark(DAV, 'displayname'), d('displayname', escapeText(report.name))],
    [clark(DAV, 'getcontentlength'), d('getcontentlength', String(report.size))],
    [clark(DAV, 'getcontenttype'), d('getcontenttype', escapeText(report.contentType))],
    [clark(DAV, 'getetag'), d('getetag', escapeText(report.etag))],
    [clark(DAV, 'getlastmodified'), d('getlastmodified', new Date(report.createdAt).toUTCString())],
  ]);
}

/** What the request asks for: every property (allprop, or no body), their names, or a list. */
type Wanted = { kind: 'all' } | { kind: 'names' } | { kind: 'some'; names: { ns: string; name: string }[] };

function wantedOf(body: Buffer | null): Wanted {
  if (!body || body.toString('utf8').trim() === '') return { kind: 'all' };
  const root = parseXml(body);
  if (childOf(root, DAV, 'propname')) return { kind: 'names' };
  const prop = childOf(root, DAV, 'prop');
  if (!prop) return { kind: 'all' };
  return { kind: 'some', names: prop.children.map((c) => ({ ns: c.ns, name: c.name })) };
}

function respond(href: string, props: Props, wanted: Wanted): string {
  const stats: PropStats = new Map([
    [200, []],
    [404, []],
  ]);
  if (wanted.kind === 'all') stats.set(200, [...props.values()]);
  else if (wanted.kind === 'names') {
    stats.set(
      200,
      [...props.keys()].map((key) => {
        const name = key.slice(key.indexOf('}') + 1);
        return element(DAV, name);
      }),
    );
  } else {
    for (const { ns, name } of wanted.names) {
      const value = props.get(clark(ns, name));
      if (value !== undefined) stats.get(200)?.push(value);
      else stats.get(404)?.push(element(ns, name));
    }
  }
  return propResponse(href, stats);
}

/** PROPFIND at depth 0 or 1 on the files root, the Inbox, a photo folder or a file. */
export async function filesPropfind(
  ctx: Context,
  caller: Caller,
  target: FilesTarget,
  body: Buffer | null,
  depth: 0 | 1,
): Promise<string> {
  const wanted = wantedOf(body);
  const user = caller.username;
  const parts: string[] = [];
  const folderEntry = (folder: PhotoFolder) =>
    respond(fileHrefs.folder(user, folder), folderProps(folder.name, null), wanted);
  switch (target.kind) {
    case 'root': {
      parts.push(respond(fileHrefs.root(user), folderProps(user, null), wanted));
      if (depth === 1) {
        parts.push(respond(fileHrefs.inbox(user), folderProps(INBOX, null), wanted));
        for (const folder of await listFolders(ctx, caller.userId)) parts.push(folderEntry(folder));
      }
      break;
    }
    case 'inbox':
      parts.push(respond(fileHrefs.inbox(user), folderProps(INBOX, null), wanted));
      if (depth === 1) {
        for (const report of await listInbox(ctx, caller.userId)) {
          parts.push(respond(fileHrefs.inboxFile(user, report.name), entryProps(report), wanted));
        }
      }
      break;
    case 'inbox-file': {
      const report = (await listInbox(ctx, caller.userId)).find((r) => r.name === target.name);
      if (!report) throw notFound(target.name);
      parts.push(respond(fileHrefs.inboxFile(user, report.name), entryProps(report), wanted));
      break;
    }
    case 'folder': {
      parts.push(folderEntry(target.folder));
      if (depth === 1) {
        for (const file of await listFiles(ctx, caller.userId, target.folder)) {
          parts.push(respond(fileHrefs.file(user, target.folder, file.name), fileProps(file), wanted));
        }
      }
      break;
    }
    case 'file': {
      if (!target.file) throw notFound(target.name);
      parts.push(respond(fileHrefs.file(user, target.folder, target.name), fileProps(target.file), wanted));
      break;
    }
    case 'absent-folder':
      throw notFound(target.name);
  }
  return MULTISTATUS_OPEN + parts.join('') + MULTISTATUS_CLOSE;
}

const notFound = (name: string) => new AppError('not_found', `Nothing named ${name} here.`);
