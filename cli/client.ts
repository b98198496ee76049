import type { Command } from 'commander';
export function registerClientCommand(program: Command): void {
  void program;
}
