import { EditContact } from './contact-edit';
import { ContactView } from './contact-view';

export function ContactRoute({ params }: { params: { id: string } }) {
  return <ContactView key={params.id} id={decodeURIComponent(params.id)} />;
}

export function ContactEditRoute({ params }: { params: { id: string } }) {
  return <EditContact key={params.id} id={decodeURIComponent(params.id)} />;
}
