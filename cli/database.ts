import type { Command } from 'commander';
export function registerDatabaseCommand(program: Command): void {
  void program;
}
