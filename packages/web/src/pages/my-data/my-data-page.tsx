import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { apiFetch, apiResponse } from '../../api/http';
import { bytes, count, listing } from '../../words/words';
import { readZipManifest } from './zip-manifest';

interface Manifest {
  createdAt: string;
  revision: number;
  totals: Record<string, number>;
  files: { bytes: number }[];
  problems: unknown[];
}

interface ImportReport {
  importId: string;
  counts: { created: number; updated: number; skipped: number; rejected: number };
  collectionsCreated: { name?: string }[];
  items: { source: string; status: string; reason?: string }[];
}

/** The manifest's totals as a sentence: "812 contacts, 1,904 phone numbers and 377 photos". */
const WORDS: [string, string, string][] = [
  ['contacts.items', 'contact', 'contacts'],
  ['contacts.tel', 'phone number', 'phone numbers'],
  ['contacts.email', 'e-mail address', 'e-mail addresses'],
  ['contacts.adr', 'postal address', 'postal addresses'],
  ['calendar.items', 'event', 'events'],
  ['tasks.items', 'task', 'tasks'],
  ['notes.items', 'note', 'notes'],
  ['photos.items', 'photo', 'photos'],
  ['messages.items', 'message', 'messages'],
  ['messages.attachments', 'message attachment', 'message attachments'],
];

export function manifestSummary(manifest: Manifest): string {
  const parts = WORDS.filter(([key]) => (manifest.totals[key] ?? 0) > 0).map(([key, one, many]) =>
    count(manifest.totals[key] ?? 0, one, many),
  );
  return parts.length > 0 ? listing(parts) : 'nothing yet: the account is empty';
}

function ExportSection() {
  const [received, setReceived] = useState<number | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [summary, setSummary] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = received !== null && summary === null && error === null;

  const start = async () => {
    setReceived(0);
    setSummary(null);
    setError(null);
    try {
      const response = await apiResponse('/v1/export', { headers: { accept: 'application/zip' } });
      const length = Number(response.headers.get('content-length'));
      setTotal(Number.isFinite(length) && length > 0 ? length : null);
      const reader = response.body?.getReader();
      if (!reader) throw new Error('The browser cannot read the download.');
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      let got = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        got += value.byteLength;
        setReceived(got);
      }
      const blob = new Blob(chunks, { type: 'application/zip' });
      const manifest = (await readZipManifest(blob)) as Manifest | null;
      if (!manifest) throw new Error('The download is incomplete: it has no manifest. Try again.');
      const url = URL.createObjectURL(blob);
      // Saved only once it is complete and its manifest read: a cut-off download is never offered as an export.
      const save = document.createElement('a');
      save.href = url;
      save.download = `holdfast-export-${manifest.createdAt.slice(0, 10)}.zip`;
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      const problems = manifest.problems.length;
      setSummary(
        `Your export holds ${manifestSummary(manifest)}, in ${count(manifest.files.length, 'file')} (${bytes(blob.size)}).` +
          (problems > 0 ? ` ${count(problems, 'item')} could not be exported: the manifest lists them.` : ''),
      );
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };

  return (
    <section aria-labelledby="export-heading" className="card">
      <h2 id="export-heading">Download everything</h2>
      <p>
        One ZIP file with all your contacts, calendars, tasks, notes, photos and messages, in standard formats, with a
        manifest that proves it is complete (check it with <code>holdfast verify-export</code>).
      </p>
      <button type="button" onClick={start} disabled={busy}>
        Download my data
      </button>
      {received !== null && summary === null && error === null && (
        <div role="status">
          <label htmlFor="export-progress">Downloading: {bytes(received)}</label>
          <progress id="export-progress" max={total ?? undefined} value={total ? received : undefined} />
        </div>
      )}
      {summary && <p role="status">{summary}</p>}
      {error && <p role="alert">{error}</p>}
    </section>
  );
}

function ImportSection() {
  const client = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    mutationFn: (chosen: File) =>
      apiFetch<ImportReport>(`/v1/import?name=${encodeURIComponent(chosen.name)}`, { method: 'POST', body: chosen }),
    onSuccess: () => client.invalidateQueries(),
  });
  const undo = useMutation({
    mutationFn: (id: string) => apiFetch(`/v1/imports/${encodeURIComponent(id)}/undo`, { method: 'POST' }),
    onSuccess: () => client.invalidateQueries(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) upload.mutate(file);
  };
  const report = upload.data;
  const rejected = report?.items.filter((item) => item.status === 'rejected') ?? [];
  return (
    <section aria-labelledby="import-heading" className="card">
      <h2 id="import-heading">Bring data in</h2>
      <form className="stacked" onSubmit={submit}>
        <label htmlFor="import-file">
          File to import: contacts (.vcf), a calendar (.ics) or a Holdfast export (.zip)
        </label>
        <input
          id="import-file"
          type="file"
          accept=".vcf,.ics,.zip,text/vcard,text/calendar,application/zip"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
        <div className="actions">
          <button type="submit" disabled={!file || upload.isPending}>
            Import
          </button>
        </div>
      </form>
      {upload.isPending && <p role="status">Importing…</p>}
      {upload.isError && <p role="alert">{upload.error.message}</p>}
      {report && (
        <div role="status">
          <p>
            Imported: {count(report.counts.created, 'new item')}, {count(report.counts.updated, 'item')} updated,{' '}
            {count(report.counts.skipped, 'item')} already here, {count(report.counts.rejected, 'item')} refused.
          </p>
          {rejected.length > 0 && (
            <ul>
              {rejected.map((item) => (
                <li key={item.source}>
                  {item.source}: {item.reason}
                </li>
              ))}
            </ul>
          )}
          {undo.isSuccess ? (
            <p>The import is undone.</p>
          ) : (
            <button type="button" onClick={() => undo.mutate(report.importId)} disabled={undo.isPending}>
              Undo this import
            </button>
          )}
        </div>
      )}
    </section>
  );
}

/** "My data": the export with its manifest in words, and imports with their report. */
export function MyDataPage() {
  return (
    <>
      <h1>My data</h1>
      <ExportSection />
      <ImportSection />
    </>
  );
}
