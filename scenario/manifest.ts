// Scenario manifests: a scenario is a folder holding `scenario.json` and the command files it
// names. The manifest says which command file runs on which middleware and when, which
// databases are killed and restarted between steps, and what the outcome must be. This file
// validates a manifest (zod, then the cross-references zod cannot see), reads and parses its
// command files, and says exactly which field is at fault when something is wrong.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseCommandFile, type Block } from '../client/parser.js';
import { STRATEGIES } from '../cluster/cluster-file.js';
import { OccdbError } from '../errors/catalogue.js';
import { KEY_LENGTH_MAX, KEY_PATTERN, type Command } from '../protocol/schemas.js';

export const SCENARIO_FILE_NAME = 'scenario.json';

export const PROPERTIES = ['atomicity', 'consistency', 'isolation', 'durability', 'deadlock-freedom'] as const;
export type Property = (typeof PROPERTIES)[number];

/**
 * Entry names run under a per-run prefix (see runner.ts), so a scenario's own names must
 * leave room for it within the 64 characters an entry name may have.
 */
export const KEY_PREFIX_LENGTH_MAX = 16;
export const SCENARIO_KEY_LENGTH_MAX = KEY_LENGTH_MAX - KEY_PREFIX_LENGTH_MAX;

const MANIFEST_BYTES_MAX = 1024 * 1024;
const COMMAND_FILE_BYTES_MAX = 1024 * 1024;
/** The problems listed for one bad manifest; the rest are summed up. */
const PROBLEMS_SHOWN_MAX = 8;

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CLIENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

const EntryName = z
  .string()
  .regex(KEY_PATTERN, 'not an entry name ([A-Za-z_][A-Za-z0-9_]*)')
  .max(SCENARIO_KEY_LENGTH_MAX, `an entry name in a scenario has at most ${SCENARIO_KEY_LENGTH_MAX} characters`);
const ClientName = z.string().regex(CLIENT_NAME_PATTERN, 'a client name is a letter, then up to 31 letters, digits, _ or -');
const NodeId = z.number().int().positive().max(1_000_000);
const RelativeFile = z.string().min(1).max(255).refine((file) => !path.isAbsolute(file), 'a path relative to the scenario folder');
/** An integer entry value, or null for "the entry does not exist". */
const EntryValue = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullable();

export const ClientSchema = z.strictObject({
  /** Names the client in outputs and expectations; unique within the scenario. */
  name: ClientName,
  /** The middleware the client sends its file to (an id of the cluster file). */
  middleware: NodeId,
  /** The command file, relative to the scenario folder. */
  file: RelativeFile,
  /** How long after its step begins the client starts. */
  startAfterMs: z.number().int().min(0).max(60_000).default(0),
});
export type ClientSpec = z.infer<typeof ClientSchema>;

const ClientsStepSchema = z.strictObject({ clients: z.array(ClientSchema).min(1).max(16) });
const KillDatabaseStepSchema = z.strictObject({ action: z.literal('kill-database'), database: NodeId });
const RestartDatabaseStepSchema = z.strictObject({ action: z.literal('restart-database'), database: NodeId });
export const StepSchema = z.union([ClientsStepSchema, KillDatabaseStepSchema, RestartDatabaseStepSchema]);
export type Step = z.infer<typeof StepSchema>;
export type ActionStep = z.infer<typeof KillDatabaseStepSchema> | z.infer<typeof RestartDatabaseStepSchema>;

/** How a client's classic output must look: give exactly one of the four. */
export const OutputExpectationSchema = z
  .strictObject({
    /** The whole output, character for character. */
    exact: z.string().optional(),
    /** One of these whole outputs (e.g. one per serial order). */
    oneOf: z.array(z.string()).min(1).max(100).optional(),
    /** One regular expression per output line, each matching its whole line. */
    lines: z.array(z.string()).max(10_000).optional(),
    /** Every `groupSize` consecutive lines are integers summing to `equals` (e.g. each snapshot of a bank's accounts). */
    groupSums: z.strictObject({ groupSize: z.number().int().positive().max(1000), equals: z.number().int() }).optional(),
  })
  .superRefine((expectation, context) => {
    const given = (['exact', 'oneOf', 'lines', 'groupSums'] as const).filter((key) => expectation[key] !== undefined);
    if (given.length !== 1) context.addIssue({ code: 'custom', message: `give exactly one of exact, oneOf, lines, groupSums (got ${given.length === 0 ? 'none' : given.join(', ')})` });
    for (const [index, pattern] of (expectation.lines ?? []).entries()) {
      try {
        new RegExp(pattern);
      } catch (error) {
        context.addIssue({ code: 'custom', path: ['lines', index], message: `not a regular expression: ${(error as Error).message}` });
      }
    }
  });
export type OutputExpectation = z.infer<typeof OutputExpectationSchema>;

export const FinalStateSchema = z.record(EntryName, EntryValue);
export type FinalState = z.infer<typeof FinalStateSchema>;

export const InvariantSchema = z
  .strictObject({
    /** Entries whose values are summed (a missing entry makes the invariant fail). */
    sum: z.array(EntryName).min(1).max(1000),
    equals: z.number().int().optional(),
    atLeast: z.number().int().optional(),
    atMost: z.number().int().optional(),
  })
  .refine((invariant) => invariant.equals !== undefined || invariant.atLeast !== undefined || invariant.atMost !== undefined, 'give equals, atLeast or atMost');
export type Invariant = z.infer<typeof InvariantSchema>;

/** One whole outcome (typically one serial order): every part given must match together. */
export const OutcomeSchema = z.strictObject({
  label: z.string().min(1).max(200).optional(),
  outputs: z.record(ClientName, z.string()).optional(),
  exitCodes: z.record(ClientName, z.number().int().min(0).max(255)).optional(),
  final: FinalStateSchema.optional(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

export const ExpectSchema = z
  .strictObject({
    /** Entry values after the last step, read through every middleware; an array means "one of these states". */
    final: z.union([FinalStateSchema, z.array(FinalStateSchema).min(1).max(100)]).optional(),
    outputs: z.record(ClientName, OutputExpectationSchema).optional(),
    /** The classic client's exit code: 0 every transaction committed, 1 one rolled back or failed, 3 unreachable. */
    exitCodes: z.record(ClientName, z.number().int().min(0).max(255)).optional(),
    invariants: z.array(InvariantSchema).max(100).optional(),
    /** The run as a whole matches one of these outcomes. */
    oneOf: z.array(OutcomeSchema).min(1).max(100).optional(),
    /** Every middleware reads the same values of every entry the scenario names. */
    middlewaresAgree: z.boolean().optional(),
    /** `occdb verify`: every replica holds the same keys, versions and values. */
    replicasAgree: z.boolean().optional(),
  })
  .refine((expect) => Object.values(expect).some((value) => value !== undefined && value !== false), 'expect nothing: give at least one expectation');
export type Expect = z.infer<typeof ExpectSchema>;

export const ScenarioManifestSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, 'a scenario name is lowercase letters, digits and -'),
  property: z.enum(PROPERTIES),
  /** What the scenario shows and why the expected result proves it, for a reader of the report. */
  description: z.string().min(20).max(4000),
  strategies: z
    .array(z.enum(STRATEGIES))
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'a strategy is listed twice')
    .default([...STRATEGIES]),
  /** Run first, alone, on `setupMiddleware`; every transaction of it must commit. */
  setup: RelativeFile.optional(),
  setupMiddleware: NodeId.default(1),
  /** Bounds each transaction of every client, on top of its SLEEPs; a client that takes longer counts as unreachable. */
  clientTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  steps: z.array(StepSchema).min(1).max(64),
  expect: ExpectSchema,
});
export type ScenarioManifest = z.infer<typeof ScenarioManifestSchema>;

/** A command file of the scenario: its text as written, and its parsed blocks. */
export interface CommandFile {
  /** As the manifest names it. */
  file: string;
  text: string;
  blocks: Block[];
}

export interface Scenario {
  manifest: ScenarioManifest;
  /** The manifest's path, as given (relative paths stay relative, for messages and reports). */
  manifestFile: string;
  dir: string;
  /** Every command file the manifest names, by the name it uses. */
  files: Map<string, CommandFile>;
  /** Every entry name the command files and the expectations mention, sorted. */
  keys: string[];
}

/** A manifest that is malformed, names a missing file, or whose command files do not parse. */
export class ManifestError extends OccdbError {
  constructor(readonly manifestFile: string, readonly problems: string[]) {
    super('USAGE', problems.map((problem) => `${manifestFile}: ${problem}`).join('\n'));
    this.name = 'ManifestError';
  }
}

/**
 * The scenarios at `target`: a manifest file, a scenario folder, or a folder of scenario
 * folders (each direct subfolder holding scenario.json, in name order). Every manifest is
 * checked before any is returned; all problems of all of them are in the one error thrown.
 */
export function findScenarios(target: string): Scenario[] {
  const manifestFiles = manifestFilesAt(target);
  const scenarios: Scenario[] = [];
  const problems: string[] = [];
  for (const file of manifestFiles) {
    try {
      scenarios.push(loadScenario(file));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      problems.push(error.message);
    }
  }
  const names = new Map<string, string>();
  for (const scenario of scenarios) {
    const other = names.get(scenario.manifest.name);
    if (other !== undefined) problems.push(`${scenario.manifestFile}: name: '${scenario.manifest.name}' is also the name of ${other}`);
    names.set(scenario.manifest.name, scenario.manifestFile);
  }
  if (problems.length > 0) throw new OccdbError('USAGE', problems.join('\n'));
  return scenarios;
}

function manifestFilesAt(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new OccdbError('USAGE', `no scenario at ${target}: no such file or folder`);
  }
  if (!stat.isDirectory()) return [target];
  const own = path.join(target, SCENARIO_FILE_NAME);
  if (fs.existsSync(own)) return [own];
  const files = fs
    .readdirSync(target, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(target, entry.name, SCENARIO_FILE_NAME)))
    .map((entry) => path.join(target, entry.name, SCENARIO_FILE_NAME))
    .sort();
  if (files.length === 0) throw new OccdbError('USAGE', `no scenario in ${target}: neither it nor a folder in it holds ${SCENARIO_FILE_NAME}`);
  return files;
}

/** Reads, validates and parses one scenario; throws ManifestError naming every field at fault. */
export function loadScenario(manifestFile: string): Scenario {
  const fail = (problems: string[]): never => {
    const shown = problems.slice(0, PROBLEMS_SHOWN_MAX);
    if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more problems`);
    throw new ManifestError(manifestFile, shown);
  };
  let text: string;
  try {
    if (fs.statSync(manifestFile).size > MANIFEST_BYTES_MAX) fail([`larger than ${MANIFEST_BYTES_MAX} bytes`]);
    text = fs.readFileSync(manifestFile, 'utf8');
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    return fail([`cannot read it: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail([`not JSON: ${(error as Error).message}`]);
  }
  const parsed = ScenarioManifestSchema.safeParse(json);
  if (!parsed.success) return fail(parsed.error.issues.flatMap((issue) => describeIssue(issue, [])));
  const manifest = parsed.data;
  const dir = path.dirname(manifestFile);

  const problems: string[] = [];
  const files = new Map<string, CommandFile>();
  const readCommandFile = (file: string, field: string): void => {
    if (files.has(file)) return;
    const problem = checkCommandFile(path.join(dir, file), file, files);
    if (problem !== null) problems.push(`${field}: ${problem}`);
  };
  if (manifest.setup !== undefined) readCommandFile(manifest.setup, 'setup');
  manifest.steps.forEach((step, stepIndex) => {
    if (!('clients' in step)) return;
    step.clients.forEach((client, clientIndex) => readCommandFile(client.file, `steps.${stepIndex}.clients.${clientIndex}.file`));
  });
  problems.push(...crossReferenceProblems(manifest));
  if (problems.length > 0) fail(problems);

  const keys = new Set<string>();
  for (const commandFile of files.values()) for (const block of commandFile.blocks) for (const command of block.commands) for (const key of keysOf(command)) keys.add(key);
  for (const key of expectationKeys(manifest.expect)) keys.add(key);
  return { manifest, manifestFile, dir, files, keys: [...keys].sort() };
}

/** Reads and parses one command file into `files`; returns the problem, or null. */
function checkCommandFile(file: string, name: string, files: Map<string, CommandFile>): string | null {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return `${name} is not a file`;
    if (stat.size > COMMAND_FILE_BYTES_MAX) return `${name} is larger than ${COMMAND_FILE_BYTES_MAX} bytes`;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return `no command file ${name} in the scenario folder`;
  }
  let blocks: Block[];
  try {
    blocks = parseCommandFile(text, name);
  } catch (error) {
    if (!(error instanceof OccdbError)) throw error;
    return `${name} does not parse: ${error.message.split('\n').join('; ')}`;
  }
  for (const block of blocks) {
    for (const command of block.commands) {
      // A QUIT would stop a middleware that the following scenarios (and other clients) use.
      if (command.op === 'QUIT') return `${name}:${command.line}: QUIT is not allowed in a scenario: it stops a middleware the rest of the run needs`;
      const long = keysOf(command).find((key) => key.length > SCENARIO_KEY_LENGTH_MAX);
      if (long !== undefined) return `${name}:${command.line}: the entry name ${long} is longer than the ${SCENARIO_KEY_LENGTH_MAX} characters a scenario may use`;
    }
  }
  files.set(name, { file: name, text, blocks });
  return null;
}

/** Client names unique and known, restarts after kills: what the schema alone cannot say. */
function crossReferenceProblems(manifest: ScenarioManifest): string[] {
  const problems: string[] = [];
  const clientNames = new Set<string>();
  const killed = new Set<number>();
  manifest.steps.forEach((step, stepIndex) => {
    if ('clients' in step) {
      step.clients.forEach((client, clientIndex) => {
        if (clientNames.has(client.name)) problems.push(`steps.${stepIndex}.clients.${clientIndex}.name: the client name '${client.name}' is used twice`);
        clientNames.add(client.name);
      });
    } else if (step.action === 'kill-database') {
      killed.add(step.database);
    } else {
      if (!killed.has(step.database)) problems.push(`steps.${stepIndex}.database: DATABASE${step.database} is restarted but no earlier step kills it`);
      killed.delete(step.database);
    }
  });
  const checkNames = (names: string[], field: string): void => {
    for (const name of names) if (!clientNames.has(name)) problems.push(`${field}.${name}: no client is named '${name}' (the clients are ${[...clientNames].join(', ')})`);
  };
  const { expect } = manifest;
  checkNames(Object.keys(expect.outputs ?? {}), 'expect.outputs');
  checkNames(Object.keys(expect.exitCodes ?? {}), 'expect.exitCodes');
  (expect.oneOf ?? []).forEach((outcome, index) => {
    checkNames(Object.keys(outcome.outputs ?? {}), `expect.oneOf.${index}.outputs`);
    checkNames(Object.keys(outcome.exitCodes ?? {}), `expect.oneOf.${index}.exitCodes`);
  });
  if (killed.size > 0 && manifest.expect.replicasAgree === true) {
    problems.push(`expect.replicasAgree: DATABASE${[...killed][0]} is killed and never restarted, so the replicas cannot be compared`);
  }
  return problems;
}

/** The entry names a command reads or writes. */
export function keysOf(command: Command): string[] {
  const keys: string[] = [];
  const add = (operand: string | number): void => {
    if (typeof operand === 'string') keys.push(operand);
  };
  switch (command.op) {
    case 'ASSIGN': add(command.target); add(command.source); break;
    case 'ADD': add(command.target); add(command.left); add(command.right); break;
    case 'PRINT': add(command.source); break;
    case 'DELETE': add(command.target); break;
    default: break;
  }
  return keys;
}

function expectationKeys(expect: Expect): string[] {
  const states = [...(Array.isArray(expect.final) ? expect.final : expect.final ? [expect.final] : []), ...(expect.oneOf ?? []).flatMap((outcome) => (outcome.final ? [outcome.final] : []))];
  return [...states.flatMap((state) => Object.keys(state)), ...(expect.invariants ?? []).flatMap((invariant) => invariant.sum)];
}

/**
 * One line per problem, `field.path: message`. For a union (a step is one of three shapes),
 * the shape that matched furthest is the one the author meant: its problems are reported.
 */
function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[]): string[] {
  const fullPath = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (issues: z.core.$ZodIssue[]): number => Math.max(...issues.map((nested) => nested.path.length + (nested.code === 'unrecognized_keys' ? 0 : 1)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0]!;
    const first = best[0];
    if (first?.code === 'invalid_value') {
      // A misspelt discriminator (an action's name): every shape's allowed value is a candidate.
      const samePath = (nested: z.core.$ZodIssue): boolean => nested.path.join('.') === first.path.join('.');
      const values = issue.errors.flat().flatMap((nested) => (nested.code === 'invalid_value' && samePath(nested) ? nested.values : []));
      return [`${formatPath([...fullPath, ...first.path])}: expected one of ${values.map((value) => JSON.stringify(value)).join(', ')}`];
    }
    return best.flatMap((nested) => describeIssue(nested, fullPath));
  }
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return [`${formatPath(fullPath)}: '${String(issue.path.at(-1))}' is not allowed here: ${issue.issues[0]!.message}`];
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...fullPath, key])}: unknown field`);
  }
  return [`${formatPath(fullPath)}: ${issue.message}`];
}

function formatPath(parts: PropertyKey[]): string {
  return parts.length === 0 ? '(the manifest)' : parts.map(String).join('.');
}
