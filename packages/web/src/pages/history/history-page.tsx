export function HistoryPage() {
  return <h1>History and trash</h1>;
}
