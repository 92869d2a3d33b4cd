export function SafetyPage() {
  return <h1>Is my data safe?</h1>;
}
