/**
 * Renders SVG strings to pixels with resvg (a real renderer), for tests that
 * check what a user would see. Without `font`, no font is loaded and text is
 * not drawn, so backgrounds can be sampled anywhere inside their boxes.
 */
import { Resvg } from '@resvg/resvg-js';
import { existsSync } from 'node:fs';

/**
 * A monospace font installed on this machine, or null (tests needing glyphs
 * skip without one, except under NEUROX_TEST_REQUIRE_FONT=1 (CI), where a
 * missing font is a failure).
 */
export const monoFont: string | null =
  ['/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf', '/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf'].find((f) => existsSync(f)) ?? null;

if (!monoFont && process.env.NEUROX_TEST_REQUIRE_FONT === '1') {
  throw new Error('NEUROX_TEST_REQUIRE_FONT=1 but neither DejaVu Sans Mono nor Liberation Mono is installed (apt install fonts-dejavu-core)');
}

export interface Raster {
  readonly width: number;
  readonly height: number;
  /** [r, g, b] at pixel (x, y) (floored), on a white background. */
  rgb(x: number, y: number): [number, number, number];
}

export function rasterize(svg: string, opts: { font?: string } = {}): Raster {
  const font = opts.font
    ? { loadSystemFonts: false, fontFiles: [opts.font], defaultFontFamily: 'DejaVu Sans Mono', monospaceFamily: 'DejaVu Sans Mono' }
    : { loadSystemFonts: false };
  const img = new Resvg(svg, { background: 'white', font, logLevel: 'off' }).render();
  const { width, height } = img;
  const px = img.pixels;
  return {
    width,
    height,
    rgb(x, y) {
      const xi = Math.floor(x);
      const yi = Math.floor(y);
      if (xi < 0 || yi < 0 || xi >= width || yi >= height) throw new RangeError(`pixel (${xi}, ${yi}) is outside ${width}x${height}`);
      const i = (yi * width + xi) * 4;
      return [px[i]!, px[i + 1]!, px[i + 2]!];
    },
  };
}

/** `#rrggbb` painted at `opacity` over white. */
export function overWhite(hex: string, opacity: number): [number, number, number] {
  const v = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return v.map((c) => Math.round(255 + (c - 255) * opacity)) as [number, number, number];
}

/** Largest channel difference. */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}
