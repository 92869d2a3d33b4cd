import { randomBytes } from 'node:crypto';

/**
 * An SMS Backup & Restore file of `count` messages in 200 threads, every
 * `count / pictures`-th an MMS with one JPEG-typed picture of `pictureKb`
 * random bytes (distinct, so each is its own blob), as the app writes it.
 */
export function* smsBackupXml(count: number, pictures: number, pictureKb: number): Generator<string> {
  yield `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count="${count}" backup_set="bench" backup_date="1796580131000" type="full">\n`;
  const every = pictures > 0 ? Math.max(1, Math.floor(count / pictures)) : Number.POSITIVE_INFINITY;
  let made = 0;
  for (let i = 0; i < count; i++) {
    const address = `+1555${String(i % 200).padStart(7, '0')}`;
    const date = 1_700_000_000_000 + i * 60_000;
    const type = i % 3 === 0 ? 2 : 1;
    if (made < pictures && i % every === every - 1) {
      made++;
      const data = randomBytes(pictureKb * 1024).toString('base64');
      yield `  <mms date="${date}" msg_box="${type}" address="${address}" m_type="132" contact_name="Bench ${i % 200}">\n    <parts>\n      <part seq="0" ct="image/jpeg" name="IMG_${i}.jpg" cl="IMG_${i}.jpg" text="null" data="${data}" />\n      <part seq="0" ct="text/plain" chset="106" cl="text_0.txt" text="Picture ${i} &#55357;&#56832;" />\n    </parts>\n    <addrs>\n      <addr address="${address}" type="${type === 1 ? 137 : 151}" charset="106" />\n    </addrs>\n  </mms>\n`;
    } else {
      yield `  <sms protocol="0" address="${address}" date="${date}" type="${type}" subject="null" body="Message ${i} in thread ${i % 200}: see you at ${i % 24}:00 &amp; bring the map &#55357;&#56832;" toa="null" sc_toa="null" service_center="null" read="1" status="-1" locked="0" date_sent="${date}" readable_date="" contact_name="Bench ${i % 200}" />\n`;
    }
  }
  yield '</smses>\n';
}
