export function AdminPage() {
  return <h1>Operators</h1>;
}
