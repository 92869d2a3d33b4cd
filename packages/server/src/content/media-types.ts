/** A file name's extension after its last dot, lower case; '' when it has none. */
export const fileExtension = (path: string): string => /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';

/**
 * Media types of the image and video files kept as photos, by lower-case
 * extension. A Map, so a name such as `x.constructor` finds nothing.
 */
export const MEDIA_TYPES: ReadonlyMap<string, string> = new Map([
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['png', 'image/png'],
  ['gif', 'image/gif'],
  ['webp', 'image/webp'],
  ['heic', 'image/heic'],
  ['heif', 'image/heif'],
  ['tif', 'image/tiff'],
  ['tiff', 'image/tiff'],
  ['avif', 'image/avif'],
  ['dng', 'image/x-adobe-dng'],
  ['mp4', 'video/mp4'],
  ['mov', 'video/quicktime'],
]);

// The first extension listed for a type is the one its files are named with.
const NAMING_EXTENSIONS = new Map<string, string>();
for (const [extension, type] of MEDIA_TYPES)
  if (!NAMING_EXTENSIONS.has(type)) NAMING_EXTENSIONS.set(type, `.${extension}`);

/** The extension, with its dot, of a file of this media type that has no name of its own; '' when unknown. */
export const extensionFor = (mediaType: string): string => NAMING_EXTENSIONS.get(mediaType) ?? '';
