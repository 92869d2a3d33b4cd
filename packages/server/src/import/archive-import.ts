import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@holdfast/protocol';
import type { BundleLimits } from '../bundle/bundle-reader.js';
import { fileExtension } from '../content/media-types.js';
import type { BlobSink } from './bundle-import.js';
import { type FileTree, openFileTree } from './file-tree.js';
import { storeBytes } from './import-blobs.js';
import {
  calendarCandidates,
  type ImportCandidate,
  type ImportProblem,
  importedImageType,
  vcardCandidates,
} from './import-source.js';
import { inKeepFolder, isKeepCompanion, keepNoteCandidate } from './keep-notes.js';
import { findSidecar, readSidecar } from './photo-sidecars.js';

type Yield = ImportCandidate | ImportProblem;

const MAX_SIDECAR_BYTES = 1024 * 1024;

/**
 * The items of a folder or a ZIP of files that is not a Holdfast export: a
 * folder of photos, a phone's camera roll, or a Google Takeout archive.
 * Images become photos with their bytes kept exactly (dates come from their
 * EXIF); a Google Photos JSON sidecar beside an image gives its title and
 * description. vCard and iCalendar files (Takeout's Contacts and Calendar)
 * go through the same readers as when imported on their own; Keep's JSON
 * notes become notes (keep-notes.ts). Other files are reported and left out.
 */
export async function* archiveCandidates(sink: BlobSink, path: string, limits: BundleLimits): AsyncGenerator<Yield> {
  const tree = await openFileTree(path, limits);
  try {
    const paths = new Set(tree.files.map((f) => f.path));
    for (const file of tree.files) {
      const extension = fileExtension(file.path);
      const imageType = importedImageType(file.path);
      if (imageType) yield await photoCandidate(sink, tree, file.path, imageType, paths);
      else if (extension === 'vcf' || extension === 'vcard') yield* viaFile(tree, file.path, vcardCandidates);
      else if (extension === 'ics' || extension === 'ical') yield* viaFile(tree, file.path, calendarCandidates);
      else if (extension === 'json' && inKeepFolder(file.path)) {
        const note = await keepNoteCandidate(tree, file.path, paths, importedImageType, sink.maxBlobBytes);
        if (note) yield note;
      } else if (isKeepCompanion(file.path, paths)) continue;
      // JSON beside photos is read with them; the rest of Takeout's JSON (albums, print orders) holds no items.
      else if (extension !== 'json') {
        yield { kind: 'problem', source: file.path, reason: 'not a photo, vCard or iCalendar file; not imported' };
      }
    }
  } finally {
    tree.close();
  }
}

async function photoCandidate(
  sink: BlobSink,
  tree: FileTree,
  path: string,
  contentType: string,
  paths: Set<string>,
): Promise<Yield> {
  let bytes: Buffer;
  try {
    bytes = await tree.readBytes(path, sink.maxBlobBytes);
  } catch (error) {
    if (error instanceof AppError) return { kind: 'problem', source: path, reason: error.message };
    throw error;
  }
  const stored = await storeBytes(sink, bytes);
  if ('reason' in stored) return { kind: 'problem', source: path, reason: stored.reason };
  let filename = posix.basename(path);
  let caption: string | undefined;
  let takenAt: string | undefined;
  const sidecarPath = findSidecar(path, paths);
  if (sidecarPath) {
    // A sidecar is a few hundred bytes; one that is not is not read, and the photo comes without it.
    const sidecarBytes = await tree.readBytes(sidecarPath, MAX_SIDECAR_BYTES).catch((error: unknown) => {
      if (error instanceof AppError) return new Uint8Array();
      throw error;
    });
    const sidecar = readSidecar(sidecarBytes);
    if (sidecar.title) filename = sidecar.title;
    if (sidecar.description) caption = sidecar.description;
    takenAt = sidecar.takenAt;
  }
  return {
    kind: 'candidate',
    source: sidecarPath ? `${path} (with ${posix.basename(sidecarPath)})` : path,
    type: 'photos',
    content: {
      filename: [...filename].slice(0, 255).join(''),
      ...(caption ? { caption: [...caption].slice(0, 10_000).join('') } : {}),
      ...(takenAt ? { takenAt } : {}),
    },
    blob: { sha256: stored.sha256, contentType },
  };
}

/** Runs a reader that takes a file path over an entry of the tree (copied out of a ZIP first). */
async function* viaFile(
  tree: FileTree,
  path: string,
  read: (file: string) => AsyncGenerator<Yield>,
): AsyncGenerator<Yield> {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-entry-'));
  try {
    const file = join(dir, 'entry');
    await pipeline(await tree.open(path), createWriteStream(file));
    for await (const part of read(file)) yield { ...part, source: `${path}: ${part.source}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
