import { describe, expect, it } from 'vitest';
import { resolveEditDelete } from './edit-delete.js';

describe('resolveEditDelete', () => {
  it('resurrects the edited item and marks it', () => {
    const edited = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nTEL:+1 555 0100\r\nEND:VCARD\r\n';
    expect(resolveEditDelete(edited)).toEqual({
      action: 'resurrect',
      content: edited,
      mark: 'restored_after_concurrent_delete',
    });
  });
});
