import { Route, Switch } from 'wouter';
import { NewContact } from './contact-edit';
import { ContactList } from './contact-list';
import { ContactEditRoute, ContactRoute } from './contact-routes';
import { Duplicates } from './duplicates';
import './contacts.css';

/** Contacts, under /contacts: the list, a new contact, duplicates, one contact and its edit form. */
export function ContactsPage() {
  return (
    <Switch>
      <Route path="/" component={ContactList} />
      <Route path="/new" component={NewContact} />
      <Route path="/duplicates" component={Duplicates} />
      <Route path="/:id/edit" component={ContactEditRoute} />
      <Route path="/:id" component={ContactRoute} />
    </Switch>
  );
}
