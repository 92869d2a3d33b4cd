import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import yazl from 'yazl';

/** Writes every file under `folder` into a ZIP at `out`, by its path inside the folder; resolves with `out`. */
export async function zipFolder(folder: string, out: string): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    zip.addFile(full, relative(folder, full));
  }
  zip.end();
  const stream = createWriteStream(out);
  zip.outputStream.pipe(stream);
  await once(stream, 'close');
  return out;
}
