// The ycsb key chooser: the YCSB/Gray et al. Zipfian generator draws ranks with the
// probabilities of the Zipf distribution it is built for, theta 0 is uniform, and the
// seeded random source makes every draw repeatable.
import test from 'ava';
import { seededRandom } from '../bench/random.js';
import { ZipfianGenerator, zeta } from '../bench/zipf.js';

const DRAWS = 200_000;

function frequencies(generator: ZipfianGenerator, seed: number): number[] {
  const random = seededRandom(seed);
  const counts = new Array<number>(generator.itemCount).fill(0);
  for (let draw = 0; draw < DRAWS; draw += 1) counts[generator.next(random)]! += 1;
  return counts.map((count) => count / DRAWS);
}

test('zeta(n, theta) is the sum of 1/i^theta: n at theta 0, the harmonic number at theta 1', (t) => {
  t.is(zeta(10, 0), 10);
  t.true(Math.abs(zeta(4, 1) - (1 + 1 / 2 + 1 / 3 + 1 / 4)) < 1e-12);
  t.true(Math.abs(zeta(2, 0.5) - (1 + 1 / Math.SQRT2)) < 1e-12);
});

test('every draw is a rank inside [0, itemCount), whatever the skew', (t) => {
  for (const theta of [0, 0.6, 0.99]) {
    const generator = new ZipfianGenerator(50, theta);
    const random = seededRandom(7);
    for (let draw = 0; draw < 20_000; draw += 1) {
      const rank = generator.next(random);
      if (!(Number.isInteger(rank) && rank >= 0 && rank < 50)) t.fail(`theta ${theta} drew ${rank}`);
    }
  }
  t.pass();
});

test('theta 0 is uniform: every key is drawn about as often as every other', (t) => {
  const observed = frequencies(new ZipfianGenerator(20, 0), 1);
  // 10,000 expected draws per key: 5 standard deviations is about 5%.
  for (const frequency of observed) t.true(Math.abs(frequency - 1 / 20) < 0.05 / 20 * 1.2, `frequency ${frequency}`);
});

test('under skew the most popular ranks are drawn with their Zipf probabilities', (t) => {
  for (const theta of [0.6, 0.9, 0.99]) {
    const generator = new ZipfianGenerator(1_000, theta);
    const observed = frequencies(generator, 2);
    // The generator is exact for ranks 0 and 1 and a close approximation beyond.
    for (const rank of [0, 1]) {
      const expected = generator.probability(rank);
      t.true(Math.abs(observed[rank]! - expected) < 0.05 * expected + 0.002, `theta ${theta} rank ${rank}: ${observed[rank]} vs ${expected}`);
    }
    for (const rank of [2, 5, 20]) {
      const expected = generator.probability(rank);
      t.true(Math.abs(observed[rank]! - expected) < 0.25 * expected + 0.002, `theta ${theta} rank ${rank}: ${observed[rank]} vs ${expected}`);
    }
  }
});

test('more skew puts more of the draws on the hottest key', (t) => {
  const hottest = [0, 0.6, 0.8, 0.9, 0.99].map((theta) => frequencies(new ZipfianGenerator(10_000, theta), 3)[0]!);
  for (let index = 1; index < hottest.length; index += 1) t.true(hottest[index]! > hottest[index - 1]!, `${hottest}`);
});

test('the same seed draws the same ranks', (t) => {
  const generator = new ZipfianGenerator(10_000, 0.9);
  const draw = (seed: number): number[] => {
    const random = seededRandom(seed);
    return Array.from({ length: 100 }, () => generator.next(random));
  };
  t.deepEqual(draw(42), draw(42));
  t.notDeepEqual(draw(42), draw(43));
});

test('theta 1 and above, negative theta and fewer than 2 items are refused: the generator is undefined there', (t) => {
  t.throws(() => new ZipfianGenerator(100, 1), { instanceOf: RangeError });
  t.throws(() => new ZipfianGenerator(100, 1.5), { instanceOf: RangeError });
  t.throws(() => new ZipfianGenerator(100, -0.1), { instanceOf: RangeError });
  t.throws(() => new ZipfianGenerator(1, 0.5), { instanceOf: RangeError });
});
