import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { apiFetch } from '../../api/http';
import { ago, count, listing } from '../../words/words';

interface Safety {
  counts: { contacts: number; events: number; tasks: number; notes: number; photos: number; messages: number };
  fields: Record<string, number>;
  backup: {
    state: 'on_target' | 'behind' | 'no_target';
    watermark: number | null;
    lastOnTargetAt: string | null;
    head: number;
  };
  devices: { id: string; name: string; current: boolean; lastSeenAt: string | null; lastSyncAt: string | null }[];
  openIncidents: { seq: number; at: string; kind: string; summary: string }[];
}

const KINDS: [keyof Safety['counts'], string][] = [
  ['contacts', 'contact'],
  ['events', 'event'],
  ['tasks', 'task'],
  ['notes', 'note'],
  ['photos', 'photo'],
  ['messages', 'message'],
];

const FIELDS: Record<string, [string, string]> = {
  phones: ['phone number', 'phone numbers'],
  emails: ['e-mail address', 'e-mail addresses'],
  addresses: ['postal address', 'postal addresses'],
  contactsWithPhone: ['contact with a phone number', 'contacts with a phone number'],
  birthdays: ['birthday', 'birthdays'],
  nicknames: ['nickname', 'nicknames'],
  organizations: ['organization', 'organizations'],
  urls: ['web address', 'web addresses'],
  photos: ['contact photo', 'contact photos'],
  notes: ['contact note', 'contact notes'],
  instantMessaging: ['messaging address', 'messaging addresses'],
};

function backupSentence(backup: Safety['backup']): { ok: boolean; text: string } {
  if (backup.state === 'no_target')
    return { ok: false, text: 'This server has no backup target: your data is only on this server and your devices.' };
  if (backup.state === 'on_target')
    return { ok: true, text: 'Everything you have is on the backup target, including your latest change.' };
  return {
    ok: false,
    text: `Your latest changes are not on the backup target yet. Everything up to ${ago(backup.lastOnTargetAt)} is.`,
  };
}

/** "Is my data safe?": what the person has, when it was last backed up, their devices and open incidents. */
export function SafetyPage() {
  const safety = useQuery({ queryKey: ['safety'], queryFn: () => apiFetch<Safety>('/v1/account/safety') });
  if (safety.isPending) return <h1>Is my data safe?</h1>;
  if (safety.isError)
    return (
      <>
        <h1>Is my data safe?</h1>
        <p role="alert">{safety.error.message}</p>
      </>
    );
  const data = safety.data;
  const backup = backupSentence(data.backup);
  const fields = Object.entries(data.fields)
    .filter(([name, n]) => n > 0 && FIELDS[name])
    .map(([name, n]) => count(n, ...(FIELDS[name] as [string, string])));
  return (
    <>
      <h1>Is my data safe?</h1>
      <section aria-labelledby="safety-backup" className={backup.ok ? 'card ok' : 'card warn'}>
        <h2 id="safety-backup">{backup.ok ? 'Yes, it is backed up' : 'Backup'}</h2>
        <p>{backup.text}</p>
      </section>
      <section aria-labelledby="safety-have" className="card">
        <h2 id="safety-have">What you have</h2>
        <p>{listing(KINDS.map(([key, word]) => count(data.counts[key], word)))}.</p>
        {fields.length > 0 && <p>Your contacts hold {listing(fields)}.</p>}
      </section>
      <section aria-labelledby="safety-devices" className="card">
        <h2 id="safety-devices">Your devices</h2>
        <ul>
          {data.devices.map((device) => (
            <li key={device.id}>
              <strong>{device.name}</strong>
              {device.current ? ' (this browser)' : ''}: last seen {ago(device.lastSeenAt)}, last change sent{' '}
              {ago(device.lastSyncAt)}
            </li>
          ))}
        </ul>
        <Link href="/devices">Manage devices</Link>
      </section>
      <section aria-labelledby="safety-incidents" className="card">
        <h2 id="safety-incidents">Open incidents</h2>
        {data.openIncidents.length === 0 ? (
          <p>None: nothing has happened to your data that is still being recovered.</p>
        ) : (
          <ul>
            {data.openIncidents.map((incident) => (
              <li key={incident.seq}>
                {new Date(incident.at).toLocaleString()}: {incident.summary}
              </li>
            ))}
          </ul>
        )}
        <Link href="/incidents">What happened</Link>
      </section>
    </>
  );
}
