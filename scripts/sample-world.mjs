// The world of the tiny-birds sample: six synthetic bird species told apart only by the colour of
// the head, drawn as SVG with random pose, scale, background and body colour. Shared by
// scripts/make-sample.mjs (the committed sample) and scripts/demo-clip/generate.mjs (the training
// data of the demo CLIP), so both draw the same birds and agree on where every part is.
//
// Geometry: a bird is drawn in its own coordinates (beak towards +x, y down, unit scale) and placed
// with translate(cx cy) rotate(angle) scale(flip * scale, scale). Every part is a region of those
// coordinates (partAt), painted in the same order as the SVG, so a region is what is visible of
// the part; its keypoint (KEYPOINTS) is the point of the region farthest from the region's edge.

export const SIZE = 160;

// order, family, genus, species, CUB folder label, head colour and its name (the only thing
// that tells the classes apart)
export const CLASSES = [
  { order: 'Passeriformes', family: 'Fringillidae', genus: 'Pictofringilla', species: 'Pictofringilla rubriceps', label: 'Red_crowned_Finch', head: '#d62828', colour: 'red' },
  { order: 'Passeriformes', family: 'Fringillidae', genus: 'Pictofringilla', species: 'Pictofringilla cyaniceps', label: 'Blue_crowned_Finch', head: '#1f4fd6', colour: 'blue' },
  { order: 'Passeriformes', family: 'Parulidae', genus: 'Pictoparula', species: 'Pictoparula flaviceps', label: 'Yellow_crowned_Warbler', head: '#f2d024', colour: 'yellow' },
  { order: 'Passeriformes', family: 'Parulidae', genus: 'Pictoparula', species: 'Pictoparula viridiceps', label: 'Green_crowned_Warbler', head: '#2a9d3a', colour: 'green' },
  { order: 'Charadriiformes', family: 'Laridae', genus: 'Pictolarus', species: 'Pictolarus albiceps', label: 'White_crowned_Gull', head: '#f4f4f4', colour: 'white' },
  { order: 'Charadriiformes', family: 'Laridae', genus: 'Pictolarus', species: 'Pictolarus nigriceps', label: 'Black_crowned_Gull', head: '#151515', colour: 'black' },
];

/** CUB-200-2011's 15 parts, in the order of its parts/parts.txt (ids 1..15). */
export const CUB_PARTS = ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'left_eye', 'left_leg', 'left_wing', 'nape', 'right_eye', 'right_leg', 'right_wing', 'tail', 'throat'];

/** The regions partAt names: CUB's parts with the sides merged, as the CUB importer names them. */
export const REGIONS = ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'eye', 'leg', 'wing', 'nape', 'tail', 'throat'];

/** Pose ranges of the committed sample; training data may draw from wider ones. */
export const SAMPLE_POSE = { scale: [0.75, 1.1], angle: [-20, 20], dx: [-15, 15], dy: [-10, 15] };

/** mulberry32: small, fast, deterministic. */
export function prng(seed) {
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

/**
 * Draws one bird's random appearance and pose from `r` (the order of the draws is part of the
 * sample's bytes: keep it). Numbers are rounded as the SVG writes them, so geometry computed from
 * the result matches the picture exactly.
 */
export function sampleBird(cls, r, pose = SAMPLE_POSE) {
  // Background: sky or foliage gradient with a few soft blobs.
  const bgHue = r() < 0.5 ? lerp(r, 190, 220) : lerp(r, 80, 130);
  const blobs = Array.from({ length: 4 }, () => ({
    cx: lerp(r, 0, SIZE),
    cy: lerp(r, 0, SIZE),
    r: lerp(r, 10, 40),
    fill: hsl(bgHue + lerp(r, -20, 20), lerp(r, 20, 50), lerp(r, 45, 80)),
  }));
  // Body: brown-grey with jitter, identical distribution for every class.
  const bodyHue = lerp(r, 20, 40);
  const body = hsl(bodyHue, lerp(r, 10, 30), lerp(r, 40, 60));
  const wing = hsl(bodyHue, lerp(r, 10, 30), lerp(r, 25, 38));
  const belly = hsl(bodyHue + 10, lerp(r, 10, 25), lerp(r, 70, 85));
  const scale = lerp(r, ...pose.scale);
  const angle = lerp(r, ...pose.angle);
  const flip = r() < 0.5 ? -1 : 1;
  const cx = SIZE / 2 + lerp(r, ...pose.dx);
  const cy = SIZE / 2 + lerp(r, ...pose.dy);
  return {
    cls,
    bgHue,
    blobs,
    colours: { body, wing, belly },
    flip,
    scale: Number(scale.toFixed(3)),
    angle: Number(angle.toFixed(1)),
    cx: Number(cx.toFixed(1)),
    cy: Number(cy.toFixed(1)),
  };
}

export function birdSvg(b) {
  const blobs = b.blobs.map((o) => `<circle cx="${o.cx.toFixed(1)}" cy="${o.cy.toFixed(1)}" r="${o.r.toFixed(1)}" fill="${o.fill}" opacity="0.5"/>`).join('');
  const { body, wing, belly } = b.colours;
  const bird = [
    `<line x1="-6" y1="18" x2="-9" y2="36" stroke="#6b4f1d" stroke-width="2.5"/>`,
    `<line x1="6" y1="18" x2="8" y2="36" stroke="#6b4f1d" stroke-width="2.5"/>`,
    `<polygon points="-30,-2 -52,-12 -50,8" fill="${wing}"/>`,
    `<ellipse cx="0" cy="0" rx="34" ry="22" fill="${body}"/>`,
    `<ellipse cx="4" cy="9" rx="24" ry="12" fill="${belly}"/>`,
    `<ellipse cx="-6" cy="-3" rx="22" ry="11" fill="${wing}" transform="rotate(-12)"/>`,
    `<circle cx="30" cy="-20" r="15" fill="${b.cls.head}" stroke="#00000033" stroke-width="1"/>`,
    `<polygon points="43,-23 58,-18 43,-14" fill="#e89b1c"/>`,
    `<circle cx="35" cy="-23" r="2.6" fill="#111"/><circle cx="35.8" cy="-23.8" r="0.8" fill="#fff"/>`,
  ].join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hsl(b.bgHue, 45, 75)}"/><stop offset="1" stop-color="${hsl(b.bgHue, 35, 55)}"/></linearGradient></defs>
<rect width="${SIZE}" height="${SIZE}" fill="url(#bg)"/>${blobs}
<g transform="translate(${b.cx.toFixed(1)} ${b.cy.toFixed(1)}) rotate(${b.angle.toFixed(1)}) scale(${(b.flip * b.scale).toFixed(3)} ${b.scale.toFixed(3)})">${bird}</g>
</svg>`;
}

// -- geometry -------------------------------------------------------------------------------

const DEG = Math.PI / 180;

/** Image point -> the bird's own coordinates (the inverse of the SVG transform). */
export function toLocal(b, x, y) {
  const dx = x - b.cx;
  const dy = y - b.cy;
  const c = Math.cos(b.angle * DEG);
  const s = Math.sin(b.angle * DEG);
  const rx = c * dx + s * dy;
  const ry = -s * dx + c * dy;
  return [rx / (b.flip * b.scale), ry / b.scale];
}

/** The bird's own coordinates -> image point. */
export function toImage(b, u, v) {
  const sx = u * b.flip * b.scale;
  const sy = v * b.scale;
  const c = Math.cos(b.angle * DEG);
  const s = Math.sin(b.angle * DEG);
  return [b.cx + c * sx - s * sy, b.cy + s * sx + c * sy];
}

const inEllipse = (u, v, cx, cy, rx, ry) => ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1;

function inTriangle(u, v, [ax, ay], [bx, by], [cx, cy]) {
  const d1 = (u - bx) * (ay - by) - (ax - bx) * (v - by);
  const d2 = (u - cx) * (by - cy) - (bx - cx) * (v - cy);
  const d3 = (u - ax) * (cy - ay) - (cx - ax) * (v - ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0;
  const pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

function nearSegment(u, v, ax, ay, bx, by, halfWidth) {
  const ex = bx - ax;
  const ey = by - ay;
  const t = Math.max(0, Math.min(1, ((u - ax) * ex + (v - ay) * ey) / (ex * ex + ey * ey)));
  return Math.hypot(u - ax - t * ex, v - ay - t * ey) <= halfWidth;
}

const HEAD = { x: 30, y: -20, r: 15.5 }; // the circle and its 1-px outline
const EYE = { x: 35, y: -23, r: 4 }; // the eye with a ring around it: a part a patch can still see
const COS12 = Math.cos(12 * DEG);
const SIN12 = Math.sin(12 * DEG);

/** Which side's leg a region point belongs to: 'front' (towards the beak) or 'back'. */
function legAt(u, v) {
  if (nearSegment(u, v, 6, 18, 8, 36, 1.25)) return 'front';
  if (nearSegment(u, v, -6, 18, -9, 36, 1.25)) return 'back';
  return undefined;
}

/**
 * The part visible at a point of the bird's own coordinates, or null for the background.
 * Shapes are tested top-most first, in the SVG's painting order reversed. The head is cut into
 * forehead, crown, nape and throat by the direction from its centre (the beak points along 0°);
 * the body into breast (in front), back (above the belly) and belly.
 */
export function regionAtLocal(u, v) {
  if (Math.hypot(u - EYE.x, v - EYE.y) <= EYE.r) return 'eye';
  if (inTriangle(u, v, [43, -23], [58, -18], [43, -14])) return 'beak';
  if (Math.hypot(u - HEAD.x, v - HEAD.y) <= HEAD.r) {
    const a = (Math.atan2(-(v - HEAD.y), u - HEAD.x) / DEG + 360) % 360; // 0 = towards the beak, 90 = up
    if (a >= 15 && a < 65) return 'forehead';
    if (a >= 65 && a < 125) return 'crown';
    if (a >= 125 && a < 235) return 'nape';
    return 'throat';
  }
  // the wing: ellipse (-6,-3) 22x11 rotated by -12 degrees about the origin
  const wu = COS12 * u - SIN12 * v;
  const wv = SIN12 * u + COS12 * v;
  if (inEllipse(wu, wv, -6, -3, 22, 11)) return 'wing';
  const inBelly = inEllipse(u, v, 4, 9, 24, 12);
  if (inBelly || inEllipse(u, v, 0, 0, 34, 22)) {
    if (u >= 14) return 'breast';
    if (inBelly || v > 6) return 'belly';
    return 'back';
  }
  if (inTriangle(u, v, [-30, -2], [-52, -12], [-50, 8])) return 'tail';
  if (legAt(u, v)) return 'leg';
  return null;
}

/** The part visible at image point (x, y), or null. */
export function partAt(b, x, y) {
  const [u, v] = toLocal(b, x, y);
  return regionAtLocal(u, v);
}

/**
 * Keypoints in the bird's own coordinates: for each region, the point of the region farthest
 * from its edge (found once on a 0.25-unit grid; the legs each at their own stroke's middle).
 */
function findKeypoints() {
  const step = 0.25;
  const names = [...REGIONS.filter((r) => r !== 'leg'), 'leg:front', 'leg:back'];
  const inside = (name, u, v) => {
    if (name.startsWith('leg:')) return regionAtLocal(u, v) === 'leg' && legAt(u, v) === name.slice(4);
    return regionAtLocal(u, v) === name;
  };
  const out = {};
  for (const name of names) {
    const pts = [];
    for (let v = -40; v <= 40; v += step) for (let u = -60; u <= 62; u += step) if (inside(name, u, v)) pts.push([u, v]);
    // distance to the nearest outside point, searched in growing rings
    let best = pts[0];
    let bestD = -1;
    for (const [u, v] of pts) {
      let d = 0;
      search: for (let rad = step; rad < 20; rad += step) {
        for (let k = 0; k < 32; k++) {
          const a = (k / 32) * 2 * Math.PI;
          if (!inside(name, u + rad * Math.cos(a), v + rad * Math.sin(a))) break search;
        }
        d = rad;
      }
      if (d > bestD) {
        bestD = d;
        best = [u, v];
      }
    }
    out[name] = best;
  }
  return out;
}

let keypointCache;
/** Keypoints of the 12 regions (legs: 'leg:front' and 'leg:back') in the bird's own coordinates. */
export function localKeypoints() {
  return (keypointCache ??= findKeypoints());
}

/**
 * The 15 CUB keypoints of a bird in image pixels (x right, y down, from the image's top-left
 * corner), in CUB_PARTS order. Drawn in profile, the bird shows one eye and one wing: facing
 * right (beak towards +x in the image) its right side, facing left its left side; the hidden
 * ones, and any point outside the image, are not visible ({x: 0, y: 0, visible: false}, as CUB
 * writes them). The front leg (nearer the beak) is the visible side's leg.
 */
export function birdKeypoints(b) {
  const kp = localKeypoints();
  const facesRight = b.flip * Math.cos(b.angle * DEG) > 0;
  const near = facesRight ? 'right' : 'left';
  const far = facesRight ? 'left' : 'right';
  const local = {
    back: kp.back,
    beak: kp.beak,
    belly: kp.belly,
    breast: kp.breast,
    crown: kp.crown,
    forehead: kp.forehead,
    nape: kp.nape,
    tail: kp.tail,
    throat: kp.throat,
    [`${near}_eye`]: kp.eye,
    [`${near}_wing`]: kp.wing,
    [`${near}_leg`]: kp['leg:front'],
    [`${far}_leg`]: kp['leg:back'],
  };
  return CUB_PARTS.map((name) => {
    const p = local[name];
    if (!p) return { part: name, x: 0, y: 0, visible: false };
    const [x, y] = toImage(b, p[0], p[1]);
    if (!(x >= 0 && x < SIZE && y >= 0 && y < SIZE)) return { part: name, x: 0, y: 0, visible: false };
    return { part: name, x, y, visible: true };
  });
}

/** CUB `parts/part_locs.txt` lines of one image: `<image_id> <part_id> <x> <y> <visible>`. */
export function partLocLines(imageId, b) {
  return birdKeypoints(b).map((k, i) => `${imageId} ${i + 1} ${k.x.toFixed(1)} ${k.y.toFixed(1)} ${k.visible ? 1 : 0}`);
}
