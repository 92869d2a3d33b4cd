/**
 * Libraries a server loads only once something uses them: thumbnails, photo metadata, mail, PostgreSQL, S3,
 * import and export archives, JSON Schema compilers (no route declares a schema), the DAV XML parser, and the
 * backup package (no target is configured), and ical.js until a vCard or iCalendar text is read. Each costs memory
 * from start on if a static import slips back in. Checked from the sources (lazy-start.test.ts) and from the
 * command's bundle (built-command.test.ts).
 */
export const OPTIONAL_LIBRARIES = [
  'sharp',
  'exifr',
  'nodemailer',
  'pg',
  '@aws-sdk',
  'yauzl',
  'yazl',
  'saxes',
  'ajv',
  'fast-xml-parser',
  'ical.js',
  '@holdfast/backup',
];
