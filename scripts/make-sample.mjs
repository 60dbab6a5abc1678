// Generates samples/tiny-birds/: a tiny CUB-200-2011-format dataset of synthetic birds whose
// class is decided by one part only (the colour of the crown/head), with random pose, scale,
// background and body colour, plus its project file made by the CUB importer. Deterministic:
// the same bytes on every run (seeded PRNG, fixed JPEG settings).
//   node scripts/make-sample.mjs [OUT_DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.resolve(process.argv[2] ?? path.join(repo, 'samples', 'tiny-birds'));
const dataset = path.join(out, 'CUB_tiny');
const SIZE = 160;
const PER_CLASS = 12;
const TEST_EVERY = 3; // every third image is a test image

// order, family, genus, class label, head colour (the only thing that tells classes apart)
const CLASSES = [
  { order: 'Passeriformes', family: 'Fringillidae', genus: 'Pictofringilla', species: 'Pictofringilla rubriceps', label: 'Red_crowned_Finch', head: '#d62828' },
  { order: 'Passeriformes', family: 'Fringillidae', genus: 'Pictofringilla', species: 'Pictofringilla cyaniceps', label: 'Blue_crowned_Finch', head: '#1f4fd6' },
  { order: 'Passeriformes', family: 'Parulidae', genus: 'Pictoparula', species: 'Pictoparula flaviceps', label: 'Yellow_crowned_Warbler', head: '#f2d024' },
  { order: 'Passeriformes', family: 'Parulidae', genus: 'Pictoparula', species: 'Pictoparula viridiceps', label: 'Green_crowned_Warbler', head: '#2a9d3a' },
  { order: 'Charadriiformes', family: 'Laridae', genus: 'Pictolarus', species: 'Pictolarus albiceps', label: 'White_crowned_Gull', head: '#f4f4f4' },
  { order: 'Charadriiformes', family: 'Laridae', genus: 'Pictolarus', species: 'Pictolarus nigriceps', label: 'Black_crowned_Gull', head: '#151515' },
];

const PARTS = ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'left_eye', 'left_leg', 'left_wing', 'nape', 'right_eye', 'right_leg', 'right_wing', 'tail', 'throat'];

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lerp = (r, lo, hi) => lo + r() * (hi - lo);
const hsl = (h, s, l) => `hsl(${h.toFixed(0)},${s.toFixed(0)}%,${l.toFixed(0)}%)`;

function birdSvg(cls, r) {
  // Background: sky or foliage gradient with a few soft blobs.
  const bgHue = r() < 0.5 ? lerp(r, 190, 220) : lerp(r, 80, 130);
  const blobs = Array.from({ length: 4 }, () => `<circle cx="${lerp(r, 0, SIZE).toFixed(1)}" cy="${lerp(r, 0, SIZE).toFixed(1)}" r="${lerp(r, 10, 40).toFixed(1)}" fill="${hsl(bgHue + lerp(r, -20, 20), lerp(r, 20, 50), lerp(r, 45, 80))}" opacity="0.5"/>`).join('');
  // Body: brown-grey with jitter, identical distribution for every class.
  const bodyHue = lerp(r, 20, 40);
  const body = hsl(bodyHue, lerp(r, 10, 30), lerp(r, 40, 60));
  const wing = hsl(bodyHue, lerp(r, 10, 30), lerp(r, 25, 38));
  const belly = hsl(bodyHue + 10, lerp(r, 10, 25), lerp(r, 70, 85));
  const scale = lerp(r, 0.75, 1.1);
  const angle = lerp(r, -20, 20);
  const flip = r() < 0.5 ? -1 : 1;
  const cx = SIZE / 2 + lerp(r, -15, 15);
  const cy = SIZE / 2 + lerp(r, -10, 15);
  const bird = [
    `<line x1="-6" y1="18" x2="-9" y2="36" stroke="#6b4f1d" stroke-width="2.5"/>`,
    `<line x1="6" y1="18" x2="8" y2="36" stroke="#6b4f1d" stroke-width="2.5"/>`,
    `<polygon points="-30,-2 -52,-12 -50,8" fill="${wing}"/>`,
    `<ellipse cx="0" cy="0" rx="34" ry="22" fill="${body}"/>`,
    `<ellipse cx="4" cy="9" rx="24" ry="12" fill="${belly}"/>`,
    `<ellipse cx="-6" cy="-3" rx="22" ry="11" fill="${wing}" transform="rotate(-12)"/>`,
    `<circle cx="30" cy="-20" r="15" fill="${cls.head}" stroke="#00000033" stroke-width="1"/>`,
    `<polygon points="43,-23 58,-18 43,-14" fill="#e89b1c"/>`,
    `<circle cx="35" cy="-23" r="2.6" fill="#111"/><circle cx="35.8" cy="-23.8" r="0.8" fill="#fff"/>`,
  ].join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hsl(bgHue, 45, 75)}"/><stop offset="1" stop-color="${hsl(bgHue, 35, 55)}"/></linearGradient></defs>
<rect width="${SIZE}" height="${SIZE}" fill="url(#bg)"/>${blobs}
<g transform="translate(${cx.toFixed(1)} ${cy.toFixed(1)}) rotate(${angle.toFixed(1)}) scale(${(flip * scale).toFixed(3)} ${scale.toFixed(3)})">${bird}</g>
</svg>`;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(dataset, 'parts'), { recursive: true });
const classLines = [];
const imageLines = [];
const labelLines = [];
const splitLines = [];
let imageId = 0;
for (let c = 0; c < CLASSES.length; c++) {
  const cls = CLASSES[c];
  const folder = `${String(c + 1).padStart(3, '0')}.${cls.label}`;
  classLines.push(`${c + 1} ${folder}`);
  mkdirSync(path.join(dataset, 'images', folder), { recursive: true });
  for (let i = 0; i < PER_CLASS; i++) {
    imageId++;
    const r = prng(1000 * (c + 1) + i);
    const file = `${cls.label}_${String(i + 1).padStart(4, '0')}.jpg`;
    const jpeg = await sharp(Buffer.from(birdSvg(cls, r))).jpeg({ quality: 82, chromaSubsampling: '4:2:0' }).toBuffer();
    writeFileSync(path.join(dataset, 'images', folder, file), jpeg);
    imageLines.push(`${imageId} ${folder}/${file}`);
    labelLines.push(`${imageId} ${c + 1}`);
    splitLines.push(`${imageId} ${(i + 1) % TEST_EVERY === 0 ? 0 : 1}`);
  }
}
// CUB's own quirk: the last class line carries a trailing space.
classLines[classLines.length - 1] += ' ';
const write = (rel, lines) => writeFileSync(path.join(dataset, rel), lines.join('\n') + '\n');
write('classes.txt', classLines);
write('images.txt', imageLines);
write('image_class_labels.txt', labelLines);
write('train_test_split.txt', splitLines);
write(path.join('parts', 'parts.txt'), PARTS.map((p, i) => `${i + 1} ${p}`));
writeFileSync(
  path.join(dataset, 'README.md'),
  '# CUB_tiny\n\nSynthetic birds in the CUB-200-2011 layout, generated by `scripts/make-sample.mjs`.\n' +
    'Only the colour of the head tells the classes apart; pose, scale, body colour and background are random.\n',
);

// The hierarchy in the published CUB format: ids 1..6 are the classes, internal nodes follow.
mkdirSync(path.join(out, 'hierarchy'), { recursive: true });
const nodeIds = new Map();
const names = CLASSES.map((c, i) => `${i + 1} ${c.species}`);
const pairs = [];
const idOf = (name) => {
  if (!nodeIds.has(name)) {
    nodeIds.set(name, CLASSES.length + nodeIds.size + 1);
    names.push(`${nodeIds.get(name)} ${name}`);
  }
  return nodeIds.get(name);
};
const root = idOf('Aves');
CLASSES.forEach((c, i) => {
  const chain = [root, idOf(c.order), idOf(c.family), idOf(c.genus), i + 1];
  for (let k = 1; k < chain.length; k++) {
    const pair = `${chain[k - 1]} ${chain[k]}`;
    if (!pairs.includes(pair)) pairs.push(pair);
  }
});
writeFileSync(path.join(out, 'hierarchy', 'cub_tiny.parent-child.txt'), pairs.join('\n') + '\n');
writeFileSync(path.join(out, 'hierarchy', 'classes_tiny.txt'), names.join('\n') + '\n');

const projectFile = path.join(out, 'tiny-birds.pscl.json');
const r = spawnSync(
  process.execPath,
  [path.join(repo, 'bin', 'pscl.js'), 'import', '--format', 'cub', '--root', dataset, '--hierarchy', path.join(out, 'hierarchy', 'cub_tiny.parent-child.txt'), '--name', 'Tiny Birds', '--out', projectFile, '--force'],
  { stdio: 'inherit' },
);
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`wrote ${imageId} images of ${CLASSES.length} classes to ${path.relative(repo, out)}`);
