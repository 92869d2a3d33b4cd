/** Numbers and times as a person reads them. */

const numberFormat = new Intl.NumberFormat('en');

/** "1 contact", "1,904 phone numbers". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${numberFormat.format(n)} ${n === 1 ? singular : plural}`;
}

/** "3 minutes ago", "2 days ago", or the date for older times. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${count(minutes, 'minute')} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${count(hours, 'hour')} ago`;
  const days = Math.round(hours / 24);
  if (days < 30) return `${count(days, 'day')} ago`;
  return new Date(iso).toLocaleDateString();
}

/** "2.4 MB". */
export function bytes(n: number): string {
  if (n < 1024) return count(n, 'byte');
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "a, b and c". */
export function listing(parts: string[]): string {
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
