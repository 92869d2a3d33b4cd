export function ContactsPage() {
  return <h1>Contacts</h1>;
}
