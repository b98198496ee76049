// A small line-chart generator: SVG text with axes, ticks, labels, a legend and a title,
// one line per series, and a min-max bar at every point. No dependencies; the output is
// plain, well-formed XML.

export interface ChartPoint {
  x: number;
  /** The value the line goes through (the median). */
  y: number;
  /** The spread drawn as a bar; omitted means no bar. */
  yMin?: number;
  yMax?: number;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  color?: string;
  /** An SVG stroke-dasharray, so that lines differ in more than colour. */
  dash?: string;
  /** Shown in the legend after the name, e.g. why the series has no points. */
  note?: string;
  /** Draw a dot at every point (the default); a dense time series reads better as a bare line. */
  dots?: boolean;
}

/** A shaded stretch of x, e.g. while a fault was in force, labelled at the top of the plot. */
export interface ChartBand {
  from: number;
  to: number;
  label: string;
  color?: string;
}

export interface ChartSpec {
  title: string;
  /** Lines under the title, in smaller type (each should stay under about 110 characters). */
  subtitle?: string[];
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** log2 suits client counts (1, 4, 16, 64); linear suits skew. */
  xScale?: 'linear' | 'log2';
  /** Tick positions on x; by default nice round values (linear) or the points' x values (log2). */
  xTicks?: number[];
  /** Drawn behind the series, in order; labels alternate between two rows so that neighbours do not collide. */
  bands?: ChartBand[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const BAND_COLOR = '#ff7f0e';
const DASHES = ['', '8 4', '2 3', '12 3 2 3', '4 4', '1 2'];
/** Sideways shift between series, so that min-max bars at one x do not hide each other. */
const DODGE_PIXELS = 7;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Round tick values covering [min, max]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, countTarget = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max < min) [min, max] = [max, min];
  if (max === min) max = min === 0 ? 1 : min + Math.abs(min);
  const rawStep = (max - min) / Math.max(1, countTarget);
  const magnitude = Math.pow(10, Math.floor(Math.log10(rawStep)));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rawStep)!;
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  // The count is bounded by the step choice (about countTarget + 2); the cap is a safety net.
  for (let value = first, index = 0; index < 100; index += 1, value = first + index * step) {
    ticks.push(roundTo(value, step));
    if (value >= max - step * 1e-9) break;
  }
  return ticks;
}

/** Strips binary noise (0.30000000000000004) by rounding to the step's decimals. */
function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(decimals, 12)));
}

export function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 10_000) return `${Number((value / 1000).toPrecision(4))}k`;
  return String(Number(value.toPrecision(4)));
}

const fixed = (value: number): string => (Math.round(value * 10) / 10).toString();

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 460;
  const xScaleKind = spec.xScale ?? 'linear';
  const subtitleLines = spec.subtitle ?? [];
  const legendRows = Math.ceil(spec.series.length / 3);
  const legendTop = 44 + subtitleLines.length * 17;
  const margin = { left: 84, right: 32, top: legendTop + legendRows * 20 + 4, bottom: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;

  const allPoints = spec.series.flatMap((series) => series.points);
  const xs = allPoints.map((point) => point.x);
  const ys = allPoints.flatMap((point) => [point.y, point.yMax ?? point.y]);

  // x: log2 needs positive values; ticks default to the x values themselves.
  const transformX = (x: number): number => (xScaleKind === 'log2' ? Math.log2(x) : x);
  let xTicks: number[];
  if (spec.xTicks) xTicks = [...spec.xTicks];
  else if (xScaleKind === 'log2') xTicks = [...new Set(xs)].sort((a, b) => a - b);
  else xTicks = niceTicks(xs.length > 0 ? Math.min(0, ...xs) : 0, xs.length > 0 ? Math.max(...xs) : 1);
  if (xTicks.length === 0) xTicks = xScaleKind === 'log2' ? [1, 2] : [0, 1];
  const xDomain = [Math.min(...xTicks.map(transformX), ...xs.map(transformX)), Math.max(...xTicks.map(transformX), ...xs.map(transformX))];
  if (xDomain[0] === xDomain[1]) xDomain[1] = xDomain[0]! + 1;
  // A little room at both ends, so that points and bars are not cut by the axes.
  const xPadding = (xDomain[1]! - xDomain[0]!) * 0.04;
  const xPixel = (x: number): number => margin.left + ((transformX(x) - xDomain[0]! + xPadding) / (xDomain[1]! - xDomain[0]! + 2 * xPadding)) * plotWidth;

  // y always starts at zero: these are rates and counts, and a cut axis exaggerates.
  const yTicks = niceTicks(0, ys.length > 0 ? Math.max(...ys) : 1);
  const yTop = yTicks[yTicks.length - 1]!;
  const yPixel = (y: number): number => margin.top + plotHeight - (y / yTop) * plotHeight;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
  parts.push(`<title>${escapeXml(spec.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(spec.title)}</text>`);
  subtitleLines.forEach((line, index) => {
    parts.push(`<text x="${width / 2}" y="${46 + index * 17}" text-anchor="middle" font-size="12" fill="#555555">${escapeXml(line)}</text>`);
  });

  // Grid and y axis.
  for (const tick of yTicks) {
    const y = fixed(yPixel(tick));
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatTick(tick))}</text>`);
  }
  // x ticks.
  for (const tick of xTicks) {
    const x = fixed(xPixel(tick));
    parts.push(`<line x1="${x}" y1="${margin.top + plotHeight}" x2="${x}" y2="${margin.top + plotHeight + 6}" stroke="#333333"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 22}" text-anchor="middle">${escapeXml(formatTick(tick))}</text>`);
  }
  parts.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotHeight}" stroke="#333333"/>`);
  parts.push(`<line x1="${margin.left}" y1="${margin.top + plotHeight}" x2="${margin.left + plotWidth}" y2="${margin.top + plotHeight}" stroke="#333333"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 16}" text-anchor="middle" font-size="14">${escapeXml(spec.xLabel)}</text>`);
  const yLabelX = 22;
  const yLabelY = margin.top + plotHeight / 2;
  parts.push(`<text x="${yLabelX}" y="${yLabelY}" text-anchor="middle" font-size="14" transform="rotate(-90 ${yLabelX} ${yLabelY})">${escapeXml(spec.yLabel)}</text>`);

  // Bands behind the series, clipped to the plot.
  (spec.bands ?? []).forEach((band, index) => {
    const left = Math.max(margin.left, xPixel(band.from));
    const right = Math.min(margin.left + plotWidth, xPixel(band.to));
    const color = band.color ?? BAND_COLOR;
    parts.push(`<rect x="${fixed(left)}" y="${margin.top}" width="${fixed(Math.max(1, right - left))}" height="${plotHeight}" fill="${color}" fill-opacity="0.22"/>`);
    parts.push(`<text x="${fixed(left + 3)}" y="${margin.top + 14 + (index % 2) * 15}" font-size="11" fill="#333333">${escapeXml(band.label)}</text>`);
  });

  // Series: spread bars first, then lines, then points on top. Each series is shifted a few
  // pixels sideways ("dodged") so that bars at the same x stay apart.
  const seriesCount = spec.series.length;
  spec.series.forEach((series, index) => {
    const color = series.color ?? PALETTE[index % PALETTE.length]!;
    const dash = series.dash ?? DASHES[index % DASHES.length]!;
    const dodge = (index - (seriesCount - 1) / 2) * DODGE_PIXELS;
    const xAt = (point: ChartPoint): number => xPixel(point.x) + dodge;
    const points = [...series.points].sort((a, b) => a.x - b.x);
    parts.push(`<g stroke="${color}" fill="${color}">`);
    for (const point of points) {
      if (point.yMin === undefined || point.yMax === undefined) continue;
      const x = xAt(point);
      const top = fixed(yPixel(point.yMax));
      const bottom = fixed(yPixel(point.yMin));
      parts.push(`<line x1="${fixed(x)}" y1="${top}" x2="${fixed(x)}" y2="${bottom}" stroke-width="1.5"/>`);
      parts.push(`<line x1="${fixed(x - 5)}" y1="${top}" x2="${fixed(x + 5)}" y2="${top}" stroke-width="1.5"/>`);
      parts.push(`<line x1="${fixed(x - 5)}" y1="${bottom}" x2="${fixed(x + 5)}" y2="${bottom}" stroke-width="1.5"/>`);
    }
    if (points.length > 1) {
      const path = points.map((point) => `${fixed(xAt(point))},${fixed(yPixel(point.y))}`).join(' ');
      parts.push(`<polyline points="${path}" fill="none" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    }
    if (series.dots ?? true) for (const point of points) parts.push(`<circle cx="${fixed(xAt(point))}" cy="${fixed(yPixel(point.y))}" r="4"/>`);
    parts.push('</g>');
  });

  // Legend: up to three entries a row, above the plot.
  spec.series.forEach((series, index) => {
    const color = series.color ?? PALETTE[index % PALETTE.length]!;
    const dash = series.dash ?? DASHES[index % DASHES.length]!;
    const column = index % 3;
    const row = Math.floor(index / 3);
    const x = Math.round(margin.left + column * (plotWidth / 3));
    const y = legendTop + row * 20;
    parts.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    parts.push(`<circle cx="${x + 14}" cy="${y}" r="4" fill="${color}"/>`);
    const label = series.note ? `${series.name} (${series.note})` : series.name;
    parts.push(`<text x="${x + 36}" y="${y}" dominant-baseline="middle">${escapeXml(label)}</text>`);
  });

  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
