// The content-line reader lives in @holdfast/protocol; existing server imports keep this path.
export {
  type ContentComponent,
  type ContentLine,
  ContentLineError,
  type ContentParam,
  foldLine,
  formatForParser,
  isQuotedPrintable,
  parseContentLine,
  preview,
  type ReadOptions,
  readComponents,
  unfoldLines,
  unquote,
  upperCase,
} from '@holdfast/protocol';
