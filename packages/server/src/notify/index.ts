export { emailAddressSchema, readEmail, setEmail, setEmailByName } from './addresses.js';
export { createMailer, type Mail, type Mailer, mailEnabled } from './mailer.js';
export { dismissNotice, listNotices, type Notice } from './notices.js';
export { type Notifier, type NotifierDeps, startNotifier } from './notifier.js';
export { mailText, type Telling, tellingFor } from './telling.js';
export { peopleTouched, TELLING_KINDS, touchesPerson } from './touched.js';
