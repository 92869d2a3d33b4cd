import type { Transporter } from 'nodemailer';
import type { Config } from '../config.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** Stable per (entry, person): a mail sent again after a crash is recognisably the same one. */
  messageId: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  /** Connects and greets the SMTP server without sending (for `doctor`). */
  verify(): Promise<void>;
  close(): void;
}

/** Whether mail is configured at all (`smtpUrl`). */
export function mailEnabled(config: Pick<Config, 'smtpUrl'>): boolean {
  return config.smtpUrl !== '';
}

/** An SMTP mailer over `smtpUrl`; plain text only, one connection per mail. */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'smtpTimeoutMs'>): Mailer {
  // nodemailer is loaded with the first mail, not when the server starts.
  let transport: Promise<Transporter> | null = null;
  const connect = () => {
    transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        url: config.smtpUrl,
        connectionTimeout: config.smtpTimeoutMs,
        greetingTimeout: config.smtpTimeoutMs,
        socketTimeout: config.smtpTimeoutMs,
      }),
    );
    return transport;
  };
  return {
    send: async (mail) => {
      await (await connect()).sendMail({
        from: config.mailFrom,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
      });
    },
    verify: async () => {
      await (await connect()).verify();
    },
    close: () => {
      void transport?.then((opened) => opened.close());
    },
  };
}
