import DOMPurify from 'dompurify';
import { marked } from 'marked';

// An image a note names without a description is decoration to a screen reader, not an unnamed picture.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'IMG' && !node.hasAttribute('alt')) node.setAttribute('alt', '');
});

/**
 * A note's Markdown as HTML that is safe to put in the page: notes arrive from any device and any DAV-less app, so
 * whatever raw HTML or `javascript:` links they hold is stripped by DOMPurify after marked has rendered them.
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}
