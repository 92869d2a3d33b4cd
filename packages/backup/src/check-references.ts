import type { CheckProblem } from './check.js';
import type { BlobMap, JournalSegment, SnapshotManifest, Verification } from './schemas.js';

/** What the first pass of a check found readable, by object name. */
export interface Inventory {
  /** Every listed name. */
  listed: Set<string>;
  segments: Map<string, JournalSegment>;
  snapshots: Map<string, SnapshotManifest>;
  /** Snapshot data object → number of records it holds. */
  dataCounts: Map<string, number>;
  /** Blob object → plaintext sha256 of the blob it holds. */
  blobShas: Map<string, string>;
  verifications: Map<string, Verification>;
  /** Whether the repository has been pruned (prune marks exist). */
  pruned: boolean;
}

/**
 * Checks every reference between readable objects and the journal chain
 * rule. Objects that were unreadable are already reported by the first pass,
 * so only absent objects are reported again here (as `missing`).
 */
export function checkReferences(inventory: Inventory): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const present = (object: string, referencedBy: string, what: string): boolean => {
    if (inventory.listed.has(object)) return true;
    problems.push({
      kind: 'missing',
      object,
      referencedBy,
      message: `${what} referenced by ${referencedBy} is missing`,
    });
    return false;
  };
  const checkBlobs = (blobs: BlobMap, referrer: string) => {
    for (const [sha256, object] of Object.entries(blobs)) {
      if (!present(object, referrer, `blob ${sha256}`)) continue;
      const held = inventory.blobShas.get(object);
      if (held !== undefined && held !== sha256) {
        problems.push({
          kind: 'invalid',
          object: referrer,
          message: `maps blob ${sha256} to ${object}, which holds ${held}`,
        });
      }
    }
  };

  for (const [name, manifest] of inventory.snapshots) {
    const head = manifest.journal.head;
    if (head !== null && present(head, name, 'journal head')) {
      const segment = inventory.segments.get(head);
      if (segment && segment.toSeq !== manifest.journal.toSeq) {
        problems.push({
          kind: 'invalid',
          object: name,
          message: `journal head ${head} ends at ${segment.toSeq}, the manifest says ${manifest.journal.toSeq}`,
        });
      }
    }
    for (const entry of manifest.data) {
      if (!present(entry.object, name, 'snapshot data')) continue;
      const count = inventory.dataCounts.get(entry.object);
      if (count !== undefined && count !== entry.records) {
        problems.push({
          kind: 'invalid',
          object: name,
          message: `data object ${entry.object} holds ${count} records, the manifest says ${entry.records}`,
        });
      }
    }
    checkBlobs(manifest.blobs, name);
    if (manifest.accounts !== undefined) present(manifest.accounts, name, 'account state');
  }

  const snapshotSeqs = [...inventory.snapshots.values()].map((manifest) => manifest.seq);
  const successors = new Map<string, string[]>();
  for (const [name, segment] of inventory.segments) {
    // In a pruned repository the oldest kept segment may name a deleted predecessor, when the oldest snapshot covers it.
    const prunedBase =
      inventory.pruned &&
      segment.prev !== null &&
      !inventory.listed.has(segment.prev.object) &&
      snapshotSeqs.length > 0 &&
      Math.min(...snapshotSeqs) >= segment.prev.toSeq;
    if (segment.prev && !prunedBase) {
      if (present(segment.prev.object, name, 'previous journal segment')) {
        const prev = inventory.segments.get(segment.prev.object);
        if (prev && prev.toSeq !== segment.prev.toSeq) {
          problems.push({
            kind: 'journal_gap',
            object: name,
            message: `previous segment ${segment.prev.object} ends at ${prev.toSeq}, this segment expects ${segment.prev.toSeq}`,
          });
        }
      }
    } else if (segment.fromSeq !== 1 && !snapshotSeqs.some((seq) => seq >= segment.fromSeq - 1)) {
      problems.push({
        kind: 'journal_gap',
        object: name,
        message: `chain starts at seq ${segment.fromSeq}, and no snapshot covers the seqs before it`,
      });
    }
    const key = `${segment.generation}\n${segment.prev?.object ?? ''}`;
    successors.set(key, [...(successors.get(key) ?? []), name]);
    checkBlobs(segment.blobs, name);
  }
  for (const names of successors.values()) {
    if (names.length < 2) continue;
    for (const name of names) {
      const others = names.filter((other) => other !== name).join(', ');
      problems.push({ kind: 'journal_fork', object: name, message: `continues the same segment as ${others}` });
    }
  }

  for (const [name, verification] of inventory.verifications) {
    present(verification.snapshot, name, 'verified snapshot');
  }
  return problems;
}
