/**
 * `CHARSET=` parameters that no longer describe a card's text. A 2.1 card
 * says `N;CHARSET=Windows-1252:Müller` about the bytes it came in; once those
 * bytes are decoded (an import) or written out as UTF-8 (an export), the
 * parameter is false, and a reader honouring it garbles `ü` into `Ã¼`. On a
 * QUOTED-PRINTABLE value the parameter still says how to read the encoded
 * bytes, so it stays there.
 */

const CHARSET = /;CHARSET=(?:"[^"]*"|[^;:"]*)(?=[;:]|$)/gi;
const QUOTED_PRINTABLE = /;(?:ENCODING=)?"?QUOTED-PRINTABLE"?(?=[;:,]|$)/i;

/** The text with CHARSET dropped from every property whose value is plain text; unchanged if it has none. */
export function withoutTextCharsets(text: string): string {
  if (!/CHARSET=/i.test(text)) return text;
  return text.replace(/^([^ \t\r\n][^:\r\n]*?)(?=:)/gm, (head) => {
    if (!/;CHARSET=/i.test(head) || QUOTED_PRINTABLE.test(head)) return head;
    // A quoted parameter value may hold a colon; only an unquoted name part is safe to edit.
    if ((head.match(/"/g)?.length ?? 0) % 2 !== 0) return head;
    // CHARSET=UTF-8 is true of the text as it now is, so it stays.
    return head.replace(CHARSET, (param) => (/="?utf-?8"?$/i.test(param) ? param : ''));
  });
}
