import { Route, Switch } from 'wouter';
import { AccountPage } from './pages/account/account-page';
import { AdminPage } from './pages/admin/admin-page';
import { CalendarPage } from './pages/calendar/calendar-page';
import { ContactsPage } from './pages/contacts/contacts-page';
import { DevicesPage } from './pages/devices/devices-page';
import { HistoryPage } from './pages/history/history-page';
import { IncidentsPage } from './pages/incidents/incidents-page';
import { MessagesPage } from './pages/messages/messages-page';
import { MyDataPage } from './pages/my-data/my-data-page';
import { NotesPage } from './pages/notes/notes-page';
import { PhotosPage } from './pages/photos/photos-page';
import { SafetyPage } from './pages/safety/safety-page';
import { SignInPage } from './pages/sign-in/sign-in-page';
import { TasksPage } from './pages/tasks/tasks-page';
import { Shell } from './shell/shell';

export function App() {
  return (
    <Switch>
      <Route path="/sign-in" component={SignInPage} />
      <Route>
        <Shell>
          <Switch>
            <Route path="/" component={SafetyPage} />
            <Route path="/contacts" component={ContactsPage} nest />
            <Route path="/calendar" component={CalendarPage} nest />
            <Route path="/tasks" component={TasksPage} nest />
            <Route path="/notes" component={NotesPage} nest />
            <Route path="/photos" component={PhotosPage} nest />
            <Route path="/messages" component={MessagesPage} nest />
            <Route path="/history" component={HistoryPage} nest />
            <Route path="/incidents" component={IncidentsPage} nest />
            <Route path="/my-data" component={MyDataPage} nest />
            <Route path="/devices" component={DevicesPage} nest />
            <Route path="/account" component={AccountPage} />
            <Route path="/admin" component={AdminPage} nest />
            <Route>
              <h1>Page not found</h1>
            </Route>
          </Switch>
        </Shell>
      </Route>
    </Switch>
  );
}
