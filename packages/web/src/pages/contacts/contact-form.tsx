import { type FormEvent, useState } from 'react';
import type { ContactFields } from './vcard';

const lines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** The fields a person edits; everything else in the card is kept as it is (vcard.ts). */
export function ContactForm(props: {
  initial: ContactFields;
  busy: boolean;
  error: string | null;
  submitLabel: string;
  onSubmit: (fields: ContactFields) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(props.initial.name);
  const [nicknames, setNicknames] = useState(props.initial.nicknames.join(', '));
  const [phones, setPhones] = useState(props.initial.phones.join('\n'));
  const [emails, setEmails] = useState(props.initial.emails.join('\n'));
  const [organization, setOrganization] = useState(props.initial.organization);
  const [note, setNote] = useState(props.initial.note);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onSubmit({
      name,
      nicknames: nicknames
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
      phones: lines(phones),
      emails: lines(emails),
      organization,
      note,
    });
  };

  return (
    <form className="stacked" onSubmit={submit}>
      {props.error && <p role="alert">{props.error}</p>}
      <label htmlFor="contact-name">Name</label>
      <input id="contact-name" required value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="contact-nicknames">Nicknames (separated by commas)</label>
      <input id="contact-nicknames" value={nicknames} onChange={(e) => setNicknames(e.target.value)} />
      <label htmlFor="contact-phones">Phone numbers (one per line)</label>
      <textarea id="contact-phones" rows={3} value={phones} onChange={(e) => setPhones(e.target.value)} />
      <label htmlFor="contact-emails">E-mail addresses (one per line)</label>
      <textarea id="contact-emails" rows={3} value={emails} onChange={(e) => setEmails(e.target.value)} />
      <label htmlFor="contact-organization">Organization</label>
      <input id="contact-organization" value={organization} onChange={(e) => setOrganization(e.target.value)} />
      <label htmlFor="contact-note">Note</label>
      <textarea id="contact-note" rows={4} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="actions">
        <button type="submit" disabled={props.busy}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
