import { Route, Switch } from 'wouter';
import { ItemHistory } from './item-history';
import { RestoreToTime } from './restore-to-time';
import { Trash } from './trash';
import './history.css';

function ItemHistoryRoute({ params }: { params: { id: string } }) {
  return <ItemHistory key={params.id} id={decodeURIComponent(params.id)} />;
}

/** History and trash, under /history: the trash, restore to a moment, and one item's revisions. */
export function HistoryPage() {
  return (
    <Switch>
      <Route path="/items/:id" component={ItemHistoryRoute} />
      <Route>
        <h1>History and trash</h1>
        <p>
          Every change is kept. Open any item from its page to see its versions, or bring back what was deleted or
          changed.
        </p>
        <Trash />
        <RestoreToTime />
      </Route>
    </Switch>
  );
}
