import type { ColumnType } from 'kysely';

/**
 * Table shapes as Kysely sees them. Times are milliseconds since the epoch;
 * flags are 0/1 integers so both engines store them the same way.
 */
export interface Database {
  meta: MetaTable;
  log_head: LogHeadTable;
  users: UsersTable;
  devices: DevicesTable;
  app_passwords: AppPasswordsTable;
  collections: CollectionsTable;
  items: ItemsTable;
  revisions: RevisionsTable;
  push_receipts: PushReceiptsTable;
  blobs: BlobsTable;
  user_blobs: UserBlobsTable;
  ledger_entries: LedgerEntriesTable;
  dav_names: DavNamesTable;
  imports: ImportsTable;
  recovery_holds: RecoveryHoldsTable;
  contact_search: ContactSearchTable;
  notification_claims: NotificationClaimsTable;
  notice_dismissals: NoticeDismissalsTable;
}

/** The incident ledger: append-only, each entry hashing the one before. */
export interface LedgerEntriesTable {
  seq: number;
  at: number;
  kind: string;
  user_id: string | null;
  summary: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

/** One row: the last sequence number handed out. Updating it serialises writers. */
export interface LogHeadTable {
  id: number;
  last_seq: number;
  /** The chain value of revision `last_seq` (store/revision-chain.ts); all zeros for an empty log. */
  last_chain: string;
}

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  disabled: number;
  /** 1 for operators (migration 0007-admin-role); left out of backups' account state, so new rows default to 0. */
  admin: ColumnType<number, number | undefined, number>;
  created_at: number;
  updated_at: number;
  /** Where the person is told about incidents touching their data; null: not mailed. */
  email: string | null;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  /** Absolute end of a browser session; null for device tokens. */
  session_expires_at: number | null;
}

export interface AppPasswordsTable {
  id: string;
  user_id: string;
  label: string;
  password_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The current state of a collection; its history is in `revisions`. */
export interface CollectionsTable {
  user_id: string;
  id: string;
  type: string;
  name: string;
  description: string;
  color: string | null;
  deleted: number;
  head_seq: number;
  /** Live items, maintained by every write (see sync/item-heads.ts). */
  item_count: number;
  /** XOR digest of live items (protocol/summary.ts). */
  digest: string;
  created_at: number;
  updated_at: number;
}

/** The head of each item: a pointer into `revisions`, which holds the content. */
export interface ItemsTable {
  user_id: string;
  id: string;
  collection_id: string;
  head_seq: number;
  deleted: number;
  content_hash: string | null;
  size: number;
  created_at: number;
  updated_at: number;
}

/** The append-only log. Triggers refuse UPDATE and DELETE on this table. */
export interface RevisionsTable {
  seq: number;
  user_id: string;
  entity: 'item' | 'collection';
  op: 'put' | 'delete';
  collection_id: string;
  item_id: string | null;
  device_id: string | null;
  origin: string;
  content_type: string | null;
  content: string | null;
  blob_sha256: string | null;
  blob_content_type: string | null;
  meta: string | null;
  content_hash: string | null;
  size: number;
  base_seq: number | null;
  client_change_id: string | null;
  created_at: number;
  /** SHA-256 over the previous revision's chain value and this revision (store/revision-chain.ts), hex. */
  chain: string;
}

export interface PushReceiptsTable {
  user_id: string;
  client_change_id: string;
  result: string;
  created_at: number;
}

export interface BlobsTable {
  sha256: string;
  size: number;
  created_at: number;
}

/** Who may read a blob: whoever uploaded it. Blobs are shared storage, not shared access. */
export interface UserBlobsTable {
  user_id: string;
  sha256: string;
  created_at: number;
}

/**
 * DAV resource names that are not `<item id>.vcf|.ics` (migration 0003-dav
 * says why they exist).
 */
export interface DavNamesTable {
  user_id: string;
  collection_id: string;
  name: string;
  item_id: string;
  created_at: number;
}

/** One import run and its report (migration 0004-imports). */
export interface ImportsTable {
  user_id: string;
  id: string;
  source: string;
  format: string;
  device_id: string | null;
  first_seq: number | null;
  last_seq: number | null;
  created: number;
  updated: number;
  skipped: number;
  rejected: number;
  report: string;
  undone_by: string | null;
  created_at: number;
}

/** An account whose DAV clients are held off while lost revisions come back (migration 0006-recovery-holds). */
export interface RecoveryHoldsTable {
  user_id: string;
  reason: string;
  generation: string;
  /** JSON array of device ids that have not re-seeded since the loss. */
  pending_devices: string;
  since: number;
}

/** The contact list and search index: derived from the item heads, rebuildable (migration 0010-contact-search). */
export interface ContactSearchTable {
  user_id: string;
  item_id: string;
  collection_id: string;
  /** The item's head revision the row was made from. */
  seq: number;
  name: string;
  /** Normalised name for ordering and paging (content/contact-listing.ts). */
  sort_key: string;
  /** JSON arrays of strings, as shown. */
  nicknames: string;
  phones: string;
  emails: string;
  organization: string | null;
  /** Name, nicknames, emails and organization normalised, one per line. */
  search_text: string;
  /** Each phone number's digits, space-separated and space-enclosed. */
  phone_digits: string;
  /** JSON field counts of the card (bundle/field-counts.ts, as the export manifest counts them). */
  fields: string;
}

/** One person to be told about one ledger entry (migrations/0009-notifications.ts). */
export interface NotificationClaimsTable {
  ledger_seq: number;
  user_id: string;
  /** 'pending' | 'sending' | 'sent' | 'failed' | 'no_address' | 'gave_up' */
  status: string;
  attempts: number;
  next_attempt_at: number;
  /** While 'sending': until when the process that took it owns it. */
  lease_until: number | null;
  created_at: number;
}

/** A ledger entry a person dismissed from the portal's banner. */
export interface NoticeDismissalsTable {
  user_id: string;
  ledger_seq: number;
  dismissed_at: number;
}
