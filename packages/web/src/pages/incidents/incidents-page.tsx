export function IncidentsPage() {
  return <h1>What happened</h1>;
}
