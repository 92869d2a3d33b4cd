export function MyDataPage() {
  return <h1>My data</h1>;
}
