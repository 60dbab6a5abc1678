// A hand-made evaluation of 12 aircraft variants (3 manufacturers, 6 families): eval.json text as
// the trainer writes it, gallery images (SVG) and part masks (8-bit grey PNG, values 0..3).
import { crc32, deflateSync } from 'node:zlib';

export const LEVELS = ['coarse', 'manufacturer', 'family', 'variant'];
const TREE: Array<[string, string, string[]]> = [
  ['Boeing', '737', ['737-300', '737-800']],
  ['Boeing', '777', ['777-200', '777-300']],
  ['Airbus', 'A320', ['A319', 'A320']],
  ['Airbus', 'A340', ['A340-300', 'A340-600']],
  ['Embraer', 'E-Jet', ['E-170', 'E-190']],
  ['Embraer', 'ERJ', ['ERJ 135', 'ERJ 145']],
];
export const CLASSES = TREE.flatMap(([m, f, vs]) => vs.map((v) => ({ manufacturer: m, family: f, variant: v })));

/** 10 test images a class; errors mostly to the sibling variant, a few across manufacturers. */
export function confusion(): number[][] {
  const n = CLASSES.length;
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    const wrongSibling = i % 3; // 0, 1 or 2 to the sibling
    const far = i === 4 ? 2 : 0; // A319 -> 777-300 twice
    m[i][sibling] = wrongSibling;
    if (far) m[i][3] = far;
    m[i][i] = 10 - wrongSibling - far;
  }
  return m;
}

export function evalJson(): string {
  const conf = confusion();
  const values = (level: 'manufacturer' | 'family' | 'variant') => [...new Set(CLASSES.map((c) => c[level]))];
  const lv = { coarse: ['airplane'], manufacturer: values('manufacturer'), family: values('family'), variant: values('variant') };
  const n = CLASSES.length;
  const correct = conf.reduce((s, row, i) => s + row[i], 0);
  const wrong = [];
  for (let i = 0; i < 8; i++) {
    const label = (i * 5) % n;
    const pred = label % 2 === 0 ? label + 1 : label - 1;
    wrong.push({ key: `img${i}`, path: `images/${i}.jpg`, mask: `masks/img${i}.png`, label, pred, confidence: 0.99 - i * 0.07, top5: [[pred, 0.99 - i * 0.07], [label, 0.005]] });
  }
  return JSON.stringify({
    split: 'test', epoch: 12, num_images: n * 10, top1: correct / (n * 10), top5: 0.97,
    levels: LEVELS, level_values: lv,
    classes: CLASSES.map((c, i) => ({ index: i, id: String(100 + i), name: c.variant, level_index: [0, lv.manufacturer.indexOf(c.manufacturer), lv.family.indexOf(c.family), i] })),
    per_class: CLASSES.map((_c, i) => ({ index: i, top5: Math.min(1, 0.9 + (i % 4) * 0.03) })),
    confusion: conf,
    wrong,
  });
}

export function imageSvg(i: number): string {
  const hue = (i * 47) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">
<defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},45%,70%)"/><stop offset="1" stop-color="hsl(${hue},35%,88%)"/></linearGradient></defs>
<rect width="320" height="240" fill="url(#s)"/>
<g fill="hsl(${hue},10%,35%)"><ellipse cx="160" cy="125" rx="110" ry="16"/><polygon points="150,120 100,60 125,60 185,120"/><polygon points="150,130 100,190 125,190 185,130"/><polygon points="60,122 40,95 55,95 80,120"/></g></svg>`;
}

/** A 64x48 label map: 1 = fuselage band, 2 = wing, 3 = tail. */
export function maskPng(): Buffer {
  const w = 64, hgt = 48;
  const raw = Buffer.alloc((w + 1) * hgt);
  for (let y = 0; y < hgt; y++) {
    raw[y * (w + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      let v = 0;
      if (Math.abs(y - 25) < 4 && x > 9 && x < 55) v = 1;
      else if (Math.abs(x - 33) < 7 && (y > 8 && y < 21 || y > 29 && y < 41)) v = 2;
      else if (x < 16 && y > 14 && y < 25) v = 3;
      raw[y * (w + 1) + 1 + x] = v;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
