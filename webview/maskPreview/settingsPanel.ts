// The mask settings: variant preset and ClearCLIP's three switches, closing kernel, input
// resolution, sliding window, background threshold. Every change goes to the host at once
// (sliders on release), which recomputes and sends a new render.
import {
  presetSwitches,
  type ClearClipSwitches,
  type PreviewSettings,
  type PreviewVariant,
} from '../../src/core/masks/settings';
import { h } from '../kit/dom';

const VARIANT_LABELS: Record<PreviewVariant, string> = {
  vanilla: 'Vanilla CLIP',
  maskclip: 'MaskCLIP',
  sclip: 'SCLIP',
  clearclip: 'ClearCLIP',
  custom: 'Custom (switches below)',
};

const SWITCHES: Array<[keyof ClearClipSwitches, string, string]> = [
  ['noResidual', 'Residual off', 'Drop the residual connection of the last block'],
  ['noFfn', 'FFN off', 'Drop the feed-forward network of the last block'],
  ['qqAttention', 'q-q attention', 'Self-attention q·qᵀ instead of q·kᵀ in the last block'],
];

const KERNELS = [1, 3, 5, 7, 9, 11];
const SIZES = [224, 336, 448, 560, 672, 896];

export class SettingsPanel {
  readonly element: HTMLElement;
  private settings: PreviewSettings | undefined;
  private readonly variant: HTMLSelectElement;
  private readonly switches = new Map<keyof ClearClipSwitches, HTMLInputElement>();
  private readonly kernel: HTMLSelectElement;
  private readonly size: HTMLSelectElement;
  private readonly sliding: HTMLInputElement;
  private readonly threshold: HTMLInputElement;
  private readonly thresholdValue: HTMLOutputElement;

  constructor(private readonly onChange: (s: PreviewSettings) => void) {
    this.variant = h('select', { id: 'variant' }, ...Object.entries(VARIANT_LABELS).map(([v, l]) => h('option', { value: v }, l)));
    this.kernel = h('select', { id: 'kernel' }, ...KERNELS.map((k) => h('option', { value: k }, k === 1 ? 'off' : `${k}×${k}`)));
    this.size = h('select', { id: 'size' }, ...SIZES.map((s) => h('option', { value: s }, `${s} px`)));
    this.sliding = h('input', { type: 'checkbox', id: 'sliding-window' });
    this.threshold = h('input', { type: 'range', id: 'threshold', min: 0, max: 0.95, step: 0.05, value: 0, 'aria-describedby': 'threshold-value' });
    this.thresholdValue = h('output', { id: 'threshold-value', for: 'threshold' }, 'off');
    const switchRows = SWITCHES.map(([key, label, title]) => {
      const input = h('input', { type: 'checkbox', id: `switch-${key}` });
      this.switches.set(key, input);
      return h('label', { class: 'check', title }, input, label);
    });
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'settings-heading' },
      h('h2', { id: 'settings-heading' }, 'Mask settings'),
      h('div', { class: 'field' }, h('label', { for: 'variant' }, 'Variant'), this.variant),
      h('fieldset', { class: 'switches' }, h('legend', {}, 'Last block'), ...switchRows),
      h('div', { class: 'field' }, h('label', { for: 'kernel' }, 'Closing kernel'), this.kernel),
      h('div', { class: 'field' }, h('label', { for: 'size' }, 'Input resolution'), this.size),
      h('label', { class: 'check' }, this.sliding, 'Sliding window'),
      h('div', { class: 'field slider' }, h('label', { for: 'threshold', title: 'Pixels whose best part probability is below this become background' }, 'Min. probability'), this.threshold, this.thresholdValue),
    );
    this.variant.addEventListener('change', () => this.variantChanged());
    for (const [key, input] of this.switches) input.addEventListener('change', () => this.switchChanged(key, input.checked));
    this.kernel.addEventListener('change', () => this.emit({ kernel: Number(this.kernel.value) }));
    this.size.addEventListener('change', () => this.emit({ size: Number(this.size.value) }));
    this.sliding.addEventListener('change', () => this.emit({ slidingWindow: this.sliding.checked }));
    this.threshold.addEventListener('input', () => this.showThreshold(Number(this.threshold.value)));
    this.threshold.addEventListener('change', () => this.emit({ threshold: Number(this.threshold.value) }));
  }

  /** Shows the settings the host used (no message back). */
  show(settings: PreviewSettings): void {
    this.settings = settings;
    this.variant.value = settings.variant;
    for (const [key, input] of this.switches) input.checked = settings.switches[key];
    this.updateSwitchesEnabled();
    ensureOption(this.kernel, settings.kernel, `${settings.kernel}×${settings.kernel}`);
    this.kernel.value = String(settings.kernel);
    ensureOption(this.size, settings.size, `${settings.size} px`);
    this.size.value = String(settings.size);
    this.sliding.checked = settings.slidingWindow;
    this.threshold.value = String(settings.threshold);
    this.showThreshold(settings.threshold);
  }

  private showThreshold(t: number): void {
    this.thresholdValue.textContent = t === 0 ? 'off' : t.toFixed(2);
  }

  private updateSwitchesEnabled(): void {
    // MaskCLIP and SCLIP change the attention in their own way: the switches do not describe them.
    const v = this.variant.value as PreviewVariant;
    const enabled = v === 'vanilla' || v === 'clearclip' || v === 'custom';
    for (const input of this.switches.values()) input.disabled = !enabled;
  }

  private variantChanged(): void {
    const variant = this.variant.value as PreviewVariant;
    const preset = presetSwitches(variant);
    if (preset) for (const [key, input] of this.switches) input.checked = preset[key];
    this.updateSwitchesEnabled();
    this.emit({ variant, switches: this.currentSwitches() });
  }

  private switchChanged(_key: keyof ClearClipSwitches, _on: boolean): void {
    const switches = this.currentSwitches();
    // A combination that is a preset is named as one.
    let variant: PreviewVariant = 'custom';
    for (const p of ['vanilla', 'clearclip'] as const) {
      const s = presetSwitches(p)!;
      if (s.noResidual === switches.noResidual && s.noFfn === switches.noFfn && s.qqAttention === switches.qqAttention) variant = p;
    }
    this.variant.value = variant;
    this.emit({ variant, switches });
  }

  private currentSwitches(): ClearClipSwitches {
    return {
      noResidual: this.switches.get('noResidual')!.checked,
      noFfn: this.switches.get('noFfn')!.checked,
      qqAttention: this.switches.get('qqAttention')!.checked,
    };
  }

  private emit(change: Partial<PreviewSettings>): void {
    if (!this.settings) return;
    this.settings = { ...this.settings, ...change };
    this.onChange(this.settings);
  }
}

function ensureOption(select: HTMLSelectElement, value: number, label: string): void {
  if (!Array.from(select.options).some((o) => o.value === String(value))) select.append(h('option', { value }, label));
}
