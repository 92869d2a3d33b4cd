// Loaded with --import: appends the URL or path of every module the process loads, ES modules and require()d
// ones alike, to the file HOLDFAST_MODULE_LOG names. The same file serves as the module hooks it registers.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const file = process.env.HOLDFAST_MODULE_LOG;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (file) appendFileSync(file, `${url}\n`);
  return result;
}

if (isMainThread && file) {
  register(import.meta.url);
  const Module = createRequire(import.meta.url)('node:module');
  const original = Module._load;
  Module._load = function logged(request, parent, isMain) {
    const loaded = original.call(this, request, parent, isMain);
    try {
      appendFileSync(file, `${Module._resolveFilename(request, parent, isMain)}\n`);
    } catch {
      // A built-in or virtual module has no file to name.
    }
    return loaded;
  };
}
