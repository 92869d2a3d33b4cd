export function NotesPage() {
  return <h1>Notes</h1>;
}
