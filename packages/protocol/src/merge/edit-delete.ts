/** What happens to an item one replica edited while another deleted it. */
export interface EditDeleteResolution {
  /** An edit beats a concurrent delete: the caller restores the item. */
  action: 'resurrect';
  /** The edited content to restore. */
  content: string;
  /** Stored with the revision and shown to the user. */
  mark: 'restored_after_concurrent_delete';
}

/**
 * The rule for a whole contact or event deleted on one replica while edited
 * on another: the edit wins and the item comes back with the edited content.
 * Hard deletes happen only after the trash window, never by merge.
 */
export function resolveEditDelete(editedContent: string): EditDeleteResolution {
  return { action: 'resurrect', content: editedContent, mark: 'restored_after_concurrent_delete' };
}
