/**
 * The `lambda-streams` command. Each subcommand lives in its own module and registers itself here;
 * add a line to COMMANDS for a new one. Command modules import only commander and light helpers at the
 * top and load their heavy dependencies (DSL, runtime, kafkajs) inside the action with `await import()`,
 * so every command starts fast and one command's dependencies cannot break another command.
 */
import { Command, CommanderError } from 'commander';

import { registerDescribeCommand } from './describe-command.ts';
import { registerKafkaCommand } from './kafka-command.ts';
import { registerWorkerCommand } from './worker-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerBatchCommand } from './batch-command.ts';
import { registerQueryCommand } from './query-command.ts';
import { registerResetCommand } from './reset-command.ts';

export type RegisterCommand = (program: Command) => void;

const COMMANDS: readonly RegisterCommand[] = [
  registerKafkaCommand,
  registerDescribeCommand,
  registerWorkerCommand,
  registerBatchCommand,
  registerQueryCommand,
  registerResetCommand,
  registerDemoCommand,
];

export function buildProgram(): Command {
  const program = new Command('lambda-streams')
    .description('Kafka Streams-style stream processing for Node.js with a built-in Lambda Architecture')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI with process.argv-style arguments; sets process.exitCode instead of exiting. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help or the usage error.
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`lambda-streams: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
