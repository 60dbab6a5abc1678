// Renders the Marketplace icon media/icon.png (128x128; the Marketplace takes no SVG there) from
// media/icon.svg. Run it after editing the SVG: `node scripts/make-icon.mjs`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const media = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'media');
const info = await sharp(path.join(media, 'icon.svg'), { density: 72 }).resize(128, 128).png({ compressionLevel: 9 }).toFile(path.join(media, 'icon.png'));
console.log(`media/icon.png: ${info.width}x${info.height}, ${info.size} bytes`);
