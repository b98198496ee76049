// The chart generator writes well-formed SVG (every tag closed, text escaped) with a title,
// axis labels, ticks and a legend entry per series, on linear and log axes.
import test from 'ava';
import { escapeXml, formatTick, lineChart, niceTicks, type ChartSpec } from '../bench/svg.js';

/**
 * A small well-formedness check, enough for the generator's output: one root element,
 * every start tag closed in order, attributes quoted, no raw '<' or '&' in text.
 */
function wellFormedProblem(xml: string): string | null {
  const stack: string[] = [];
  const tokenPattern = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let roots = 0;
  for (let match = tokenPattern.exec(xml), count = 0; match !== null && count < 100_000; match = tokenPattern.exec(xml), count += 1) {
    const [, closing, name, , selfClosing, text, strayAngle] = match;
    if (strayAngle !== undefined) return `a '<' that starts no well-formed tag at ${match.index}: ${xml.slice(match.index, match.index + 40)}`;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) return `an unescaped '&' in '${text.trim()}'`;
      if (stack.length === 0 && text.trim() !== '') return `text outside the root: '${text.trim()}'`;
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) return `</${name}> closes the wrong element`;
    } else if (!selfClosing) {
      if (stack.length === 0) roots += 1;
      stack.push(name!);
    } else if (stack.length === 0) {
      roots += 1;
    }
  }
  if (stack.length > 0) return `unclosed <${stack.join('>, <')}>`;
  return roots === 1 ? null : `${roots} root elements`;
}

const spec: ChartSpec = {
  title: 'Throughput <against> skew & more',
  subtitle: ['ycsb, 4 operations "per" transaction'],
  xLabel: 'Zipfian theta',
  yLabel: 'committed transactions per second',
  series: [
    { name: 'occ', points: [{ x: 0, y: 1200, yMin: 1100, yMax: 1300 }, { x: 0.9, y: 700, yMin: 650, yMax: 760 }] },
    { name: '2pl', points: [{ x: 0.9, y: 500 }, { x: 0, y: 1000, yMin: 900, yMax: 1010 }] },
    { name: '2pl-nowait', points: [], note: 'no successful run' },
  ],
};

test('the checker itself rejects what is not well-formed', (t) => {
  t.is(wellFormedProblem('<svg><g></g></svg>'), null);
  t.not(wellFormedProblem('<svg><g></svg>'), null);
  t.not(wellFormedProblem('<svg>a & b</svg>'), null);
  t.not(wellFormedProblem('<svg>1 < 2</svg>'), null);
  t.not(wellFormedProblem('<svg/><svg/>'), null);
});

test('a chart is one well-formed svg element with its title escaped', (t) => {
  const svg = lineChart(spec);
  t.is(wellFormedProblem(svg), null);
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.includes('Throughput &lt;against&gt; skew &amp; more'));
  t.true(svg.includes('&quot;per&quot;'));
});

test('a chart has both axis labels, y ticks from zero, and one legend entry per series', (t) => {
  const svg = lineChart(spec);
  t.true(svg.includes('>Zipfian theta</text>'));
  t.true(svg.includes('>committed transactions per second</text>'));
  t.true(svg.includes('>0</text>'));
  t.true(svg.includes('>1500</text>'), 'the top y tick covers the highest max (1300)');
  t.true(svg.includes('>occ</text>'));
  t.true(svg.includes('>2pl</text>'));
  t.true(svg.includes('>2pl-nowait (no successful run)</text>'));
  // One line through each series with two points; points and spread bars drawn.
  t.is(svg.match(/<polyline /g)?.length, 2);
  t.is(svg.match(/<circle /g)?.length, 4 + 3);
});

test('a log2 axis puts its ticks at the client counts', (t) => {
  const svg = lineChart({
    title: 'clients', xLabel: 'clients', yLabel: 'txn/s', xScale: 'log2',
    series: [{ name: 'occ', points: [1, 4, 16, 64].map((x) => ({ x, y: x * 10 })) }],
  });
  t.is(wellFormedProblem(svg), null);
  for (const label of ['1', '4', '16', '64']) t.true(svg.includes(`>${label}</text>`), label);
  // Equal ratios are equal distances on a log axis.
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((match) => Number(match[1])).slice(0, 4);
  t.true(Math.abs((circles[1]! - circles[0]!) - (circles[3]! - circles[2]!)) < 0.5);
});

test('a chart with no points at all is still well-formed', (t) => {
  const svg = lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [{ name: 'occ', points: [] }] });
  t.is(wellFormedProblem(svg), null);
  t.false(svg.includes('NaN'));
});

test('nice ticks are round steps that cover the range', (t) => {
  t.deepEqual(niceTicks(0, 1000), [0, 200, 400, 600, 800, 1000]);
  t.deepEqual(niceTicks(0, 1234), [0, 500, 1000, 1500]);
  t.deepEqual(niceTicks(0, 0.99), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const ticks = niceTicks(0, 1.7);
  t.true(ticks.every((tick) => String(tick).length <= 4), `${ticks}`);
});

test('tick labels are short', (t) => {
  t.is(formatTick(0), '0');
  t.is(formatTick(0.6), '0.6');
  t.is(formatTick(1500), '1500');
  t.is(formatTick(25_000), '25k');
});

test('escaping covers the five XML specials', (t) => {
  t.is(escapeXml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;');
});
