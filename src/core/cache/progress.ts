// One human line for a cache build's progress: the CLI's stderr line, the backend's progress
// notification message, VS Code's progress report.
import type { CacheProgress } from './build';

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.ceil(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatCacheProgress(p: CacheProgress): string {
  if (p.phase === 'prepare') return 'listing images';
  if (p.phase === 'prototypes') return 'text prototypes';
  const rate = p.imagesPerSecond > 0 ? `${p.imagesPerSecond.toFixed(1)} images/s` : '';
  const eta = p.phase === 'masks' && p.etaSeconds !== undefined ? `ETA ${formatSeconds(p.etaSeconds)}` : '';
  const embeddings = p.embeddings ? `${p.embeddings} embeddings` : '';
  return [`images ${p.done}/${p.total}`, `(masks ${p.computed} computed, ${p.reused} reused, ${p.errors} errors)`, embeddings, rate, eta].filter(Boolean).join('  ');
}
