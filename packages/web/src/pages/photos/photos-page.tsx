export function PhotosPage() {
  return <h1>Photos</h1>;
}
