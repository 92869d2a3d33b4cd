export function DevicesPage() {
  return <h1>Devices and app passwords</h1>;
}
